"""Worker tests: a real root on a SQLite file or a private PostgreSQL database, with a clock
the test moves (``ManualClock``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.tokens import generate_key

START = datetime(2031, 3, 3, 8, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """The test's time, starting at :data:`START`."""
    return ManualClock(START)


@pytest.fixture
async def root(db_url: str, clock: ManualClock) -> AsyncIterator[Zoho]:
    """A migrated root on an empty database (SQLite, and PostgreSQL when available)."""
    async with Zoho(database_url=db_url, encryption_keys=generate_key(), clock=clock) as zoho:
        yield zoho
