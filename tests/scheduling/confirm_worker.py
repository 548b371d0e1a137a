"""One process of the cross-process race: wait for the start signal, confirm one slot, print
``ok <id>`` or ``taken``. Arguments: database URL, tokens database path, emulator URL,
calendar uid, slot start (ISO), customer email, start time (epoch seconds)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.http.support import CREDENTIALS, zoho_for
from tests.scheduling.support import CIPHER, NOW
from zohokit.db import create_engine
from zohokit.scheduling import BookingService, Customer, SlotTaken


async def main(
    db_url: str, tokens_db: str, zoho: str, calendar_id: str, start: str, email: str, go: float
) -> str:
    root = zoho_for(Path(tokens_db), accounts_url=zoho, api_url=zoho, calendar_url=zoho)
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
    await asyncio.sleep(max(0.0, go - time.time()))  # everyone starts together
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
    print(asyncio.run(main(a[0], a[1], a[2], a[3], a[4], a[5], float(a[6]))))
