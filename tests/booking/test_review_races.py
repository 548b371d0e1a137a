"""Review findings: booking writes racing each other across instances."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.booking.conftest import TENANT, at
from zohokit.scheduling import BookingNotFound, BookingService, Customer
from zohokit.scheduling._store import BookingStore


async def test_a_cancel_landing_during_a_reschedule_is_not_undone(
    service: BookingService, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instance A reschedules while instance B cancels the same booking. The cancel must win
    (or the reschedule fail): a row ``cancelled`` with ``active_start`` set again would block
    the new slot for ever while nobody holds it."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: the cancel cannot land inside the reschedule")
    booking = await service.confirm(TENANT, start=at(10), customer=Customer("a@example.com"))
    other = BookingStore(engine)  # the other instance
    original = BookingStore._own_busy
    cancelled = False

    async def own_busy_then_cancel(self: BookingStore, *args: Any, **kwargs: Any) -> Any:
        nonlocal cancelled
        if kwargs.get("exclude_booking") == booking.id and not cancelled:
            cancelled = True
            now = service.clock()
            assert await other.cancel_booking(
                TENANT, booking.id, now=now, lease_owner="b" * 32, lease_until=now
            )
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(BookingStore, "_own_busy", own_busy_then_cancel)
    with pytest.raises(BookingNotFound):
        await service.reschedule(TENANT, booking.id, at(14))
    monkeypatch.undo()
    assert cancelled
    row = await service.store.get(TENANT, booking.id)
    assert row is not None
    assert row.state == "cancelled"
    assert row.active_start is None
    assert row.start_utc == at(10)
    # The slot the reschedule asked for is free for someone else.
    taken = await service.confirm(TENANT, start=at(14), customer=Customer("c@example.com"))
    assert taken.status == "complete"
