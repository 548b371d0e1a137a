"""How many CRM requests per second the emulator serves on this machine.

The emulator must never be what limits a benchmark of ours: the target is at least 2,000
simple GETs per second. The peer is a bare Starlette app under the same uvicorn settings, the
ceiling any emulator built on this stack could reach; the ratio shows what the emulator's own
work (authentication, limits, faults, JSON) costs.

Run: ``.venv/bin/python bench/emulator.py [--seconds 3]``
"""

from __future__ import annotations

import argparse
import sys
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


def main() -> None:
    """Run the measurements and print a table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator = start_process(
        [
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
        ],
        f"{base}/_emulator/stats",
    )
    bare_port = free_port()
    bare = start_process(
        [sys.executable, "-c", BARE_APP, str(bare_port)], f"http://127.0.0.1:{bare_port}/hello"
    )
    try:
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
        ids = [
            r["details"]["id"]
            for r in httpx.post(f"{base}/crm/v8/Leads", json={"data": rows}, headers=auth).json()[
                "data"
            ]
        ]

        cases = [
            ("bare Starlette GET (peer ceiling)", f"http://127.0.0.1:{bare_port}/hello", {}),
            ("emulator GET /crm/v8/Leads/{id}", f"{base}/crm/v8/Leads/{ids[0]}", auth),
            (
                "emulator GET /crm/v8/Leads?fields=..&per_page=10",
                f"{base}/crm/v8/Leads?fields=Last_Name,Email&per_page=10",
                auth,
            ),
            ("emulator GET /crm/v8/org", f"{base}/crm/v8/org", auth),
        ]
        results = []
        for name, url, headers in cases:
            rate, counts = measure(url, headers, args.seconds, args.connections)
            bad = {k: v for k, v in counts.items() if k != 200}
            if bad:
                raise SystemExit(f"{name}: unexpected answers {bad}")
            results.append((name, rate))
        ceiling = results[0][1]
        print(f"{'case':52} {'req/s':>8} {'vs target':>10} {'vs bare':>8}")
        for name, rate in results:
            print(f"{name:52} {rate:8.0f} {rate / TARGET_RPS:9.2f}x {rate / ceiling:7.2f}x")
        stats = httpx.get(f"{base}/_emulator/stats").json()
        print(f"emulator counted {stats['crm_requests']} CRM requests; target {TARGET_RPS} req/s")
    finally:
        for proc in (emulator, bare):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
