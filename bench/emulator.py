"""How many CRM requests per second the emulator serves on this machine.

The emulator must never be what limits a benchmark of ours: the target is at least 2,000
simple GETs per second. The peer is a bare Starlette app under the same uvicorn settings, the
ceiling any emulator built on this stack could reach; the ratio shows what the emulator's own
work (authentication, limits, faults, JSON) costs.

Each case runs against the in-memory emulator and against one started with ``--data`` (state
in SQLite, written before each answer leaves); a PUT case shows what that write costs.

Run: ``.venv/bin/python bench/emulator.py [--seconds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _load import free_port, measure, start_process

TARGET_RPS = 2000

BARE_APP = """
import sys, asyncio, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def hello(request):
    return Response(b'{"data":[{"id":"1"}]}', media_type="application/json")
app = Starlette(routes=[Route("/hello", hello)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, backlog=2048)
"""


async def _writes(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    """PUTs per second that change one record each (what ``--data`` writes to disk)."""
    done = 0
    stop = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        nonlocal done
        while time.monotonic() < stop:
            body = {"data": [{"Last_Name": f"Changed {n} {done}"}]}
            answer = await client.put(url, json=body, headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"PUT answered {answer.status_code}: {answer.text}")
            done += 1

    started = time.monotonic()
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(worker(client, n) for n in range(connections)))
    return done / (time.monotonic() - started)


def start_emulator(port: int, data: Path | None) -> subprocess.Popen[bytes]:
    """``zohokit emulator`` on ``port`` with the bench's client, in memory or on ``data``."""
    command = [
        sys.executable,
        "-m",
        "zohokit",
        "emulator",
        "--port",
        str(port),
        "--client-id",
        "bench",
        "--client-secret",
        "bench",
        "--refresh-token",
        "1000.b.b",
        "--concurrency-limit",
        "1000",
        "--daily-credits",
        "100000000",
    ]
    if data is not None:
        command += ["--data", str(data)]
    return start_process(command, f"http://127.0.0.1:{port}/_emulator/stats")


def run_cases(
    base: str, args: argparse.Namespace, label: str
) -> tuple[list[tuple[str, float]], float]:
    """The GET cases and the PUT figure against the emulator at ``base``."""
    token = httpx.post(
        f"{base}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "bench",
            "client_secret": "bench",
            "refresh_token": "1000.b.b",
        },
    ).json()["access_token"]
    auth = {"Authorization": f"Zoho-oauthtoken {token}"}
    rows = [{"Last_Name": f"Bench {i}", "Email": f"b{i}@example.com"} for i in range(100)]
    answer = httpx.post(f"{base}/crm/v8/Leads", json={"data": rows}, headers=auth)
    ids = [r["details"]["id"] for r in answer.json()["data"]]
    cases = [
        (f"emulator{label} GET /crm/v8/Leads/{{id}}", f"{base}/crm/v8/Leads/{ids[0]}"),
        (
            f"emulator{label} GET /crm/v8/Leads?fields=..&per_page=10",
            f"{base}/crm/v8/Leads?fields=Last_Name,Email&per_page=10",
        ),
        (f"emulator{label} GET /crm/v8/org", f"{base}/crm/v8/org"),
    ]
    results = []
    for name, url in cases:
        rate, counts = measure(url, auth, args.seconds, args.connections)
        bad = {k: v for k, v in counts.items() if k != 200}
        if bad:
            raise SystemExit(f"{name}: unexpected answers {bad}")
        results.append((name, rate))
    put_url = f"{base}/crm/v8/Leads/{ids[1]}"
    writes = asyncio.run(_writes(put_url, auth, args.seconds, args.connections))
    return results, writes


def main() -> None:
    """Run the measurements and print a table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    bare_port = free_port()
    bare = start_process(
        [sys.executable, "-c", BARE_APP, str(bare_port)], f"http://127.0.0.1:{bare_port}/hello"
    )
    bare_url = f"http://127.0.0.1:{bare_port}/hello"
    try:
        # The machine may be shared: the peer is measured again right before each emulator,
        # and each emulator's ratios are to that figure.
        rows: list[tuple[str, float, float]] = []
        crm_requests = 0
        with tempfile.TemporaryDirectory() as tmp:
            for label, data in (("", None), (" --data", Path(tmp) / "emulator.db")):
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                emulator = start_emulator(port, data)
                try:
                    ceiling, _ = measure(bare_url, {}, args.seconds, args.connections)
                    rows.append(("bare Starlette GET (peer ceiling)", ceiling, ceiling))
                    gets, put_rate = run_cases(base, args, label)
                    rows += [(name, rate, ceiling) for name, rate in gets]
                    put = f"emulator{label} PUT /crm/v8/Leads/{{id}} (one record)"
                    rows.append((put, put_rate, ceiling))
                    crm_requests += httpx.get(f"{base}/_emulator/stats").json()["crm_requests"]
                finally:
                    emulator.terminate()
                    emulator.wait(timeout=10)
        print(f"{'case':60} {'req/s':>8} {'vs target':>10} {'vs bare':>8}")
        for name, rate, peer in rows:
            print(f"{name:60} {rate:8.0f} {rate / TARGET_RPS:9.2f}x {rate / peer:7.2f}x")
        print(f"emulators counted {crm_requests} CRM requests; target {TARGET_RPS} req/s")
    finally:
        bare.terminate()
        bare.wait(timeout=10)


if __name__ == "__main__":
    main()
