"""Each booking is a CRM meeting (Events) linked to the customer as Zoho models it: a contact
through Who_Id, a lead through What_Id and $se_module, hosts as participants; reschedule moves
it and cancel deletes it, against the emulator."""

from __future__ import annotations

from typing import Any

from tests.scheduling.support import ANN, SCHEDULE, TENANT, at
from tests.scheduling.test_team_bookings import team_of
from zohokit.availability import Schedule
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.scheduling import BookingService, CrmMapping


def meetings(emulator: Emulator) -> list[dict[str, Any]]:
    return emulator.crm.records("Events")


async def test_a_booking_is_a_meeting_with_the_contact_moved_and_deleted_with_it(
    async_service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    team = team_of(emulator, ["ann"], mode="one")
    await async_service.set_schedule(TENANT, Schedule.from_dict(SCHEDULE), team=team)
    booking = await async_service.confirm(TENANT, start=at(10), customer=ANN)
    assert booking.status == "complete", booking.pending_reason
    (meeting,) = meetings(emulator)
    assert meeting["id"] == booking.crm_meeting_id
    assert meeting["Who_Id"]["id"] == booking.crm_record_id
    assert meeting["Start_DateTime"] == "2031-03-04T10:00:00+00:00"
    kinds = [(p["type"], p["participant"]) for p in meeting["Participants"]]
    assert kinds == [("contact", booking.crm_record_id), ("email", "ann@acme.test")]
    assert meeting["Participants"][0]["Email"] == ANN.email

    moved = await async_service.reschedule(TENANT, booking.id, at(14))
    assert moved.status == "complete"
    (meeting,) = meetings(emulator)
    assert meeting["Start_DateTime"] == "2031-03-04T14:00:00+00:00"
    assert meeting["End_DateTime"] == "2031-03-04T14:30:00+00:00"
    (event,) = await calendar.list_events(at(0), at(23), calendar_id=team.host("ann").calendar_id)
    assert event["dateandtime"]["start"].startswith("20310304T14")

    await async_service.cancel(TENANT, booking.id)
    assert meetings(emulator) == []


async def test_a_lead_is_linked_through_what_id(
    engine: Any, calendar: ZohoCalendarService, crm: ZohoCRMService, emulator: Emulator, clock: Any
) -> None:
    from tests.scheduling.support import CIPHER

    service = BookingService(
        engine,
        cipher=CIPHER,
        calendar_for=lambda _t: calendar,
        crm_for=lambda _t: crm,
        clock=clock,
        crm_mapping=CrmMapping(module="Leads"),
    )
    await service.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    booking = await service.confirm(TENANT, start=at(9), customer=ANN)
    assert booking.status == "complete", booking.pending_reason
    (meeting,) = meetings(emulator)
    assert meeting["$se_module"] == "Leads"
    assert meeting["What_Id"]["id"] == booking.crm_record_id
    assert meeting.get("Who_Id") is None
    assert meeting["Participants"][0]["type"] == "lead"


async def test_a_meeting_whose_answer_was_lost_is_not_made_twice(
    async_service: BookingService, emulator: Emulator
) -> None:
    # Zoho stores the meeting, then the answer is lost; the retry finds it by its marker.
    emulator.faults.configure(
        {
            "rules": [
                {"route": "/crm/v8/Events", "methods": ["POST"], "error_rate": 1, "when": "after"}
            ]
        }
    )
    booking = await async_service.confirm(TENANT, start=at(11), customer=ANN)
    assert booking.status == "pending"
    assert len(meetings(emulator)) == 1
    emulator.faults.configure({"rules": []})
    [done] = await async_service.retry_pending()
    assert done.status == "complete"
    (meeting,) = meetings(emulator)
    assert meeting["id"] == done.crm_meeting_id
