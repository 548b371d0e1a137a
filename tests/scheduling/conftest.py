"""A real BookingService: real migrations on SQLite or PostgreSQL, Zoho from the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.http.support import (
    CREDENTIALS,
    Awaiting,
    api,
    blocking_zoho,
    calendar,
    crm,
    token_service,
    zoho,
    zoho_http,
)
from tests.scheduling.support import CIPHER, CIPHER_KEY, NOW, SCHEDULE, TENANT, Clock
from zohokit import Zoho, blocking
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.db import create_engine, upgrade_async
from zohokit.emulator import Emulator, create_app
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
def service(request: pytest.FixtureRequest, api: str, db_url: str) -> BookingService:
    """The booking service of the ``default`` tenant, with the UTC office-hours schedule
    (with ``both_apis``: also the blocking root's, seen through :class:`Awaiting`)."""
    chosen: BookingService = request.getfixturevalue(f"{api}_service")
    return chosen


@pytest.fixture
async def async_service(
    engine: AsyncEngine, calendar: ZohoCalendarService, crm: ZohoCRMService, clock: Clock
) -> BookingService:
    """The booking service on its own: over the test's engine and Zoho services."""
    booking = BookingService(
        engine, cipher=CIPHER, calendar_for=lambda _t: calendar, crm_for=lambda _t: crm, clock=clock
    )
    await booking.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    return booking


@pytest.fixture
async def blocking_service(
    db_url: str, emulator: Emulator, clock: Clock
) -> AsyncIterator[BookingService]:
    """The bookings of a :mod:`zohokit.blocking` root on the test's database and clock."""
    root = blocking.Zoho(
        Zoho(
            database_url=db_url,
            encryption_keys=CIPHER_KEY,
            credentials=CREDENTIALS,
            accounts_url=emulator.base_url,
            calendar_id=emulator.calendar.primary_uid,
            transport=httpx.ASGITransport(app=create_app(emulator)),
            clock=clock,
        )
    )
    await asyncio.to_thread(root.migrate)
    face: BookingService = Awaiting(root.bookings)  # type: ignore[assignment]
    await face.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    yield face
    await asyncio.to_thread(root.close)
