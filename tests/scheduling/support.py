"""What the booking tests share: the test tenant, its schedule, a hand-moved clock, and readers
of what the booking flow wrote to Zoho."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.fixtures.clock import ManualClock
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.scheduling import BookingService, Customer
from zohokit.tokens import Cipher

TENANT = "default"
#: The token key every booking test seals customers with: one fixed key, so a second
#: instance (another store, another process) opens what the first one sealed.
CIPHER_KEY = "em9ob2tpdC1ib29raW5nLXRlc3RzLWtleS0zMmJ5dGU="
CIPHER = Cipher.from_spec(CIPHER_KEY)
#: Monday 3 March 2031, 08:00 UTC: the test clock's "now".
NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)

SCHEDULE = {
    "time_zone": "UTC",
    "duration_minutes": 30,
    "weekly_hours": {
        day: ["09:00-12:00", "13:00-17:00"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
}


def at(hour: int, minute: int = 0, day: int = 4) -> datetime:
    """A UTC instant in March 2031 (the 4th is a Tuesday)."""
    return datetime(2031, 3, day, hour, minute, tzinfo=UTC)


#: The booking tests' clock: the shared test clock (their fixture starts it at ``NOW``).
Clock = ManualClock


ANN = Customer("ann@example.com", "Ann", "Lee", "+1 555 0100")
BO = Customer("bo@example.com", "Bo", "Diaz")


async def events(calendar: ZohoCalendarService) -> list[dict[str, Any]]:
    """Every event of the test week, with descriptions."""
    return await calendar.list_events(at(0, day=3), at(0, day=10), with_description=True)


async def contacts(crm: ZohoCRMService) -> list[dict[str, Any]]:
    fields = ["Email", "Last_Name", "Description"]
    return [r async for r in crm.list_records("Contacts", fields=fields)]


async def starts(service: BookingService) -> list[int]:
    """Slot start hours*100+minutes on Tuesday 4 March."""
    slots = await service.availability(TENANT, date(2031, 3, 4), date(2031, 3, 4))
    return [s.start_utc.hour * 100 + s.start_utc.minute for s in slots]
