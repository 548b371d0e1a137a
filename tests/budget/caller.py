"""One process of the fleet pause test: ``python -m tests.budget.caller`` reads Zoho CRM for
the ``default`` tenant one call after another, configured only by the environment, until a
line arrives on its stdin. It says ``ready`` after its first answer, and at the end prints
the ``time.time()`` of every answer as one JSON list."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from zohokit import Zoho
from zohokit.settings import Settings


async def main() -> None:
    """Read until told to stop."""
    async with Zoho.from_settings(Settings()) as zoho:
        answered: list[float] = []

        async def read() -> None:
            await zoho.http.request(
                "default", "zoho_crm", "GET", "/crm/v8/Leads", params={"fields": "Email"}
            )
            answered.append(time.time())

        await read()
        print("ready", flush=True)
        stop = asyncio.create_task(asyncio.to_thread(sys.stdin.readline))
        while not stop.done():
            await read()
        print(json.dumps(answered), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
