"""Events and webhooks tests: a real root on an empty database (a SQLite file, and a private
PostgreSQL when the binaries are there), on a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.tokens import generate_key


@pytest.fixture
def clock() -> ManualClock:
    """A clock that stands still until the test moves it."""
    return ManualClock(datetime(2031, 3, 3, 9, 0, tzinfo=UTC))


@pytest.fixture
async def zoho(db_url: str, clock: ManualClock) -> AsyncIterator[Zoho]:
    """A migrated root on ``db_url`` and the test's clock."""
    async with Zoho(database_url=db_url, encryption_keys=generate_key(), clock=clock) as root:
        yield root
