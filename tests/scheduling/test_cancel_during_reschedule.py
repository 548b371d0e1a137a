"""A cancel from another instance racing a reschedule (PostgreSQL: several writers at once)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling.support import CIPHER, TENANT, at
from zohokit.availability import Busy
from zohokit.db import create_engine
from zohokit.scheduling import BookingService, Customer
from zohokit.scheduling._store import BookingStore
from zohokit.scheduling._vault import CustomerVault


def cancel_from_another_instance(url: str, booking_id: str) -> None:
    """Another process of the fleet cancels on its own connection and commits, now."""

    async def cancel() -> None:
        engine = create_engine(url)
        try:
            now = at(8)
            row = await BookingStore(engine, CustomerVault(CIPHER)).cancel_booking(
                TENANT, booking_id, now=now, lease_owner="b" * 32, lease_until=now
            )
            assert row is not None
        finally:
            await engine.dispose()

    worker = threading.Thread(target=lambda: asyncio.run(cancel()))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()


# Only PostgreSQL lets a second writer commit while the move's transaction is open.
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_cancel_landing_during_a_reschedule_is_not_undone(
    service: BookingService, engine: AsyncEngine, db_url: str
) -> None:
    """Instance A moves a booking while instance B cancels it. The cancel must win: a row
    ``cancelled`` but holding its new slot again would block that slot for ever."""
    booking = await service.confirm(TENANT, start=at(10), customer=Customer("a@example.com"))

    def cancel_between_read_and_write(busy: list[Busy]) -> None:
        # The move's availability check runs after it read the row and before it writes.
        cancel_from_another_instance(db_url, booking.id)

    now = at(8)
    moved = await service.store.move_booking(
        TENANT,
        booking.id,
        at(14),
        at(14, 30),
        cancel_between_read_and_write,
        now=now,
        lease_owner="a" * 32,
        lease_until=now,
    )
    assert moved is None  # the booking was no longer active when the move wrote
    row = await service.store.get(TENANT, booking.id)
    assert row is not None
    assert row.state == "cancelled"
    assert row.active_start is None
    assert row.start_utc == at(10)
    # The slot the move asked for is free for someone else.
    taken = await service.confirm(TENANT, start=at(14), customer=Customer("c@example.com"))
    assert taken.status == "complete"
