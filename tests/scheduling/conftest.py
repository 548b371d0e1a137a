"""A real BookingService: real migrations on SQLite or PostgreSQL, Zoho from the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.http.support import api, blocking_zoho, calendar, crm, token_service, zoho, zoho_http
from tests.scheduling.support import CIPHER, NOW, SCHEDULE, TENANT, Clock
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.db import create_engine, upgrade_async
from zohokit.scheduling import BookingService, Schedule

__all__ = ["api", "blocking_zoho", "calendar", "crm", "token_service", "zoho", "zoho_http"]


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database (SQLite file or PostgreSQL)."""
    engine = create_engine(db_url)
    await upgrade_async(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def service(
    engine: AsyncEngine, calendar: ZohoCalendarService, crm: ZohoCRMService, clock: Clock
) -> BookingService:
    """The booking service of the ``default`` tenant, with the UTC office-hours schedule."""
    booking = BookingService(
        engine, cipher=CIPHER, calendar_for=lambda _t: calendar, crm_for=lambda _t: crm, clock=clock
    )
    await booking.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    return booking
