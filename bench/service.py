"""The token broker over HTTP: requests per second and latency of
``GET /api/tenants/{tenant}/tokens/{provider}`` on this machine.

Starts ``zohokit serve --sandbox`` (uvicorn, one process, SQLite, the demo tenant connected)
in a subprocess and drives it from this process with ``--concurrency`` keep-alive
connections for ``--seconds``. Client and server share the machine's cores, so the number is
a floor for a dedicated host: the Python client costs about as much CPU per request as the
server, and httpx's pool slows down past about 8 connections, so more connections measure
the client rather than the broker. The token is warm after the first call (the broker then
answers from the token service's in-process cache); the emulator's counters show how many
refreshes the whole run cost.

Run: ``.venv/bin/python bench/service.py [--seconds 5] [--concurrency 8]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def start(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    """Start the sandbox; return the process, its URL and its API key."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zohokit",
            "serve",
            "--sandbox",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = key = None
    while url is None or key is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"zohokit serve exited: {proc.communicate()[1]}")
        if found := re.search(r"sandbox on (http://\S+)", line):
            url = found.group(1)
        if found := re.search(r"API key\s+(\S+)", line):
            key = found.group(1)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
    return proc, url, key


async def drive(url: str, key: str, seconds: float, concurrency: int) -> list[float]:
    """Hammer the broker; return each request's latency in seconds."""
    latencies: list[float] = []
    path = "/api/tenants/demo/tokens/zoho_crm"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits) as http:
        first = await http.get(path)
        first.raise_for_status()
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                answer = await http.get(path)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"broker answered {answer.status_code}: {answer.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, key = start(Path(tmp) / "sandbox")
        try:
            started = time.perf_counter()
            latencies = asyncio.run(drive(url, key, args.seconds, args.concurrency))
            elapsed = time.perf_counter() - started
            stats = httpx.get(f"{url}/_emulator/stats").json()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"token broker, {args.concurrency} connections, {elapsed:.1f} s, one uvicorn process")
    print(f"  requests      {len(latencies)}")
    print(f"  requests/s    {len(latencies) / elapsed:,.0f}")
    print(f"  latency p50   {p50:.2f} ms")
    print(f"  latency p99   {p99:.2f} ms")
    print(f"  refreshes at Zoho for the whole run: {stats['token_refresh_requests']}")


if __name__ == "__main__":
    main()
