"""A real BookingService: real migrations on SQLite or PostgreSQL, Zoho from the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.http.support import calendar, crm, token_service, zoho_http
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.db import create_engine, upgrade_async
from zohokit.scheduling import BookingService, Schedule

__all__ = ["calendar", "crm", "token_service", "zoho_http"]

TENANT = "default"
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


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database (SQLite file or PostgreSQL)."""
    engine = create_engine(db_url)
    await upgrade_async(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(
    engine: AsyncEngine, calendar: ZohoCalendarService, crm: ZohoCRMService, clock: Clock
) -> BookingService:
    """The booking service of the ``default`` tenant, with the UTC office-hours schedule."""
    booking = BookingService(
        engine, calendar_for=lambda _t: calendar, crm_for=lambda _t: crm, clock=clock
    )
    await booking.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    return booking
