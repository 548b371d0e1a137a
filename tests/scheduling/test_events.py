"""The booking flow's events: each change writes one event in its own transaction, with no
customer data in it (``booking.created`` / ``rescheduled`` / ``cancelled``)."""

from __future__ import annotations

import pytest

from tests.scheduling.support import ANN, BO, TENANT, at
from zohokit.events import read_events
from zohokit.scheduling import BookingService, SlotTaken


async def test_each_booking_change_is_one_event_without_the_customer(
    async_service: BookingService,
) -> None:
    engine = async_service.store.engine
    booking = await async_service.confirm(TENANT, start=at(10), customer=ANN)
    with pytest.raises(SlotTaken):  # refused: no event
        await async_service.confirm(TENANT, start=at(10), customer=BO)
    await async_service.reschedule(TENANT, booking.id, at(11))
    await async_service.cancel(TENANT, booking.id)
    await async_service.cancel(TENANT, booking.id)  # cancelling twice: no second event

    found = await read_events(engine, tenant=TENANT)
    assert [e.type for e in found] == [
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    created, moved, cancelled = (e.data for e in found)
    assert {e.data["booking_id"] for e in found} == {booking.id}
    assert created["start"] == at(10).isoformat()
    assert (moved["previous_start"], moved["start"]) == (at(10).isoformat(), at(11).isoformat())
    assert cancelled["zoho_event_uid"] == moved["zoho_event_uid"] is not None
    for event in found:
        text = repr(event.data)
        assert "ann@example.com" not in text
        assert "Ann" not in text
