"""One process of the cross-process race: get ready (token in hand), print ``ready``, wait for
a line on stdin, confirm one slot, print ``ok <id> <status>`` or ``taken``. Arguments:
database URL, tokens database path, emulator URL, calendar uid, slot start (ISO), customer
email."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.http.support import CREDENTIALS, zoho_for
from tests.scheduling.support import CIPHER, NOW
from zohokit.db import create_engine
from zohokit.scheduling import BookingService, Customer, SlotTaken
from zohokit.tokens import RefreshPolicy


async def main(
    db_url: str, tokens_db: str, zoho: str, calendar_id: str, start: str, email: str
) -> str:
    # The default bounds: five processes starting at once on a busy machine can take longer
    # than the in-process tests' 1.5 s token call, and that is not the race under test.
    root = zoho_for(
        Path(tokens_db),
        accounts_url=zoho,
        api_url=zoho,
        calendar_url=zoho,
        refresh_policy=RefreshPolicy(),
    )
    calendar = root.calendar("default", CREDENTIALS, calendar_id=calendar_id)
    crm = root.crm("default", CREDENTIALS)
    engine = create_engine(db_url)
    service = BookingService(
        engine,
        cipher=CIPHER,
        calendar_for=lambda _t: calendar,
        crm_for=lambda _t: crm,
        clock=lambda: NOW,
    )
    await root.migrate()
    await calendar.get_access_token()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # everyone starts together
    try:
        booking = await service.confirm(
            "default", start=datetime.fromisoformat(start).astimezone(UTC), customer=Customer(email)
        )
        return f"ok {booking.id} {booking.status}"
    except SlotTaken:
        return "taken"
    finally:
        await root.aclose()
        await engine.dispose()


if __name__ == "__main__":
    a = sys.argv[1:]
    print(asyncio.run(main(a[0], a[1], a[2], a[3], a[4], a[5])))
