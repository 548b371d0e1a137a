"""The booking events carry the booking's hosts and its manage links (signed, expiring at the
start), so a webhook receiver can put them in its e-mails."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.scheduling.support import ANN, NOW, SCHEDULE, TENANT, at
from tests.scheduling.test_team_bookings import team_of
from zohokit.availability import Schedule
from zohokit.emulator import Emulator
from zohokit.events import read_events
from zohokit.scheduling import BookingService
from zohokit.scheduling._links import LinkExpired


async def test_booking_events_carry_hosts_and_manage_links(
    async_service: BookingService, emulator: Emulator
) -> None:
    team = team_of(emulator, ["ann", "bo"], mode="one")
    await async_service.set_schedule(TENANT, Schedule.from_dict(SCHEDULE), team=team)
    booking = await async_service.confirm(TENANT, start=at(10), customer=ANN)
    await async_service.reschedule(TENANT, booking.id, at(11))
    await async_service.cancel(TENANT, booking.id)
    created, moved, cancelled = (e.data for e in await read_events(async_service.store.engine))
    assert created["hosts"] == moved["hosts"] == cancelled["hosts"] == ["ann"]
    assert "manage_links" not in cancelled
    for data, start in ((created, at(10)), (moved, at(11))):
        links = data["manage_links"]
        assert set(links) == {"cancel", "reschedule"}
        for action, link in links.items():
            assert link.startswith("/manage/")  # no public URL set: paths
            claims = async_service.links.verify(link.removeprefix("/manage/"), now=NOW)
            assert (claims.booking_id, claims.action, claims.expires_at) == (
                booking.id,
                action,
                start,
            )
    with pytest.raises(LinkExpired):
        async_service.links.verify(
            created["manage_links"]["cancel"].removeprefix("/manage/"),
            now=at(10) + timedelta(seconds=1),
        )
