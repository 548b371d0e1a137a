"""One worker process of a fleet, for the multi-process worker tests (run as a script).

Configured through the environment like a real deployment (``ZOHOKIT_*``, ``ZOHO_*``); its
clock is the machine's time plus the offset the test writes to ``--offset-file`` (the
emulator's simulated clock, shared by every process). Prints ``ready NAME`` once running and
runs until SIGTERM.

``--hang-token-requests`` makes every token request hang before it is sent: a worker that
holds leases and will be killed with SIGKILL without having reached Zoho.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from zohokit import Settings, Zoho
from zohokit.worker import Worker


class OffsetClock:
    """The machine's time plus the offset in a file (re-read when the file changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = -1
        self._offset = 0.0

    def __call__(self) -> datetime:
        stamp = os.stat(self.path).st_mtime_ns
        if stamp != self._stamp:
            self._offset = float(self.path.read_text() or 0)
            self._stamp = stamp
        return datetime.fromtimestamp(time.time() + self._offset, UTC)


class HangTokenRequests(httpx.AsyncBaseTransport):
    """Token requests never leave this process; everything else goes out."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            await asyncio.Event().wait()
        return await self._inner.handle_async_request(request)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offset-file", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--kind", action="append")
    parser.add_argument("--hang-token-requests", action="store_true")
    args = parser.parse_args()
    transport = HangTokenRequests() if args.hang_token_requests else None
    clock = OffsetClock(args.offset_file)
    async with Zoho.from_settings(Settings(), transport=transport, clock=clock) as zoho:
        worker = Worker(zoho, kinds=args.kind, poll_interval=0.05, name=args.name, grace=1)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, worker.stop)
        print(f"ready {args.name}", flush=True)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
