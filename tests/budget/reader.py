"""One process of a fleet, as the fleet tests start it: ``python -m tests.budget.reader N``
makes N concurrent Zoho CRM reads for the ``default`` tenant, configured only by the
environment. It says ``ready`` once it holds a token, starts on a line on its stdin (so a
fleet starts together), and says ``done N START END`` (``time.time()``) at the end."""

from __future__ import annotations

import asyncio
import sys
import time

from zohokit import Zoho
from zohokit.settings import Settings


async def main(count: int) -> None:
    """Warm up with one read, then ``count`` at once."""
    async with Zoho.from_settings(Settings()) as zoho:

        async def read() -> None:
            await zoho.http.request(
                "default", "zoho_crm", "GET", "/crm/v8/Leads", params={"fields": "Email"}
            )

        await read()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.time()
        await asyncio.gather(*(read() for _ in range(count)))
        print(f"done {count} {started:.3f} {time.time():.3f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
