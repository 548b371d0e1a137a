"""One process of a fleet, for the multi-process token tests (run as a script).

Configured only through the environment, like a real deployment (``ZOHO_*``, ``ZOHOKIT_*``).
It builds the service, prints ``ready``, waits for a line on stdin, then runs ``--callers``
concurrent ``get_access_token`` calls per tenant and prints ``at SECONDS`` (the system-wide
monotonic clock when every call had its token) and one JSON line with the tokens.

``--hang-after-send`` makes the token request reach Zoho and then never return, so the test
can SIGKILL the process while it holds the refresh lease.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import httpx

from zohokit import Settings, Zoho


class HangAfterSend(httpx.AsyncBaseTransport):
    """Sends token requests for real, then hangs: a process that dies mid-refresh."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path == "/oauth/v2/token":
            await response.aread()
            print("refreshing", flush=True)
            await asyncio.Event().wait()
        return response


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", default="default")
    parser.add_argument("--provider", default="zoho_crm")
    parser.add_argument("--callers", type=int, default=1)
    parser.add_argument("--hang-after-send", action="store_true")
    args = parser.parse_args()
    transport = HangAfterSend() if args.hang_after_send else None
    async with Zoho.from_settings(Settings(), transport=transport) as zoho:
        service = zoho.tokens
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        tenants = args.tenants.split(",")
        calls = [
            service.get_access_token(tenant, args.provider)
            for _ in range(args.callers)
            for tenant in tenants
        ]
        tokens = await asyncio.gather(*calls)
        print(f"at {time.monotonic()}", flush=True)
        by_tenant: dict[str, list[str]] = {}
        for i, token in enumerate(tokens):
            by_tenant.setdefault(tenants[i % len(tenants)], []).append(token)
        print(json.dumps({t: sorted(set(v)) for t, v in by_tenant.items()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
