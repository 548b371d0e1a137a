"""A booking's meeting in Zoho CRM: an Events (Meetings) record linked to the customer.

Zoho links an activity to a person in two ways: a **contact** is ``Who_Id`` (a lookup to
Contacts), anything else (a lead, an account, a deal) is ``What_Id`` with the module named in
``$se_module``. The customer is also a participant (``{"type": "contact"|"lead",
"participant": id}``), and so is each host (``{"type": "email", "participant": address}``),
as Zoho models meeting participants. The meeting is created with the booking, moved when it
is rescheduled and deleted when it is cancelled; its id is ``bookings.crm_meeting_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zohokit.scheduling._models import Customer
from zohokit.scheduling._tables import BookingRow

if TYPE_CHECKING:
    from zohokit.crm import ZohoCRMService

__all__ = ["MEETINGS_MODULE", "meeting_record", "sync_meeting"]

MEETINGS_MODULE = "Events"
_PARTICIPANT_TYPES = {"Contacts": "contact", "Leads": "lead"}
#: What Zoho answers for a record id that is not there (any more).
_GONE = frozenset({"INVALID_DATA", "RECORD_NOT_FOUND", "ID_NOT_FOUND"})


def meeting_record(row: BookingRow, module: str, record_id: str) -> dict[str, Any]:
    """The Events record of a booking whose customer is ``record_id`` in ``module``."""
    customer = Customer.from_dict(row.customer)
    participants: list[dict[str, str]] = []
    kind = _PARTICIPANT_TYPES.get(module)
    if kind is not None:
        participants.append({"type": kind, "participant": record_id})
    else:
        participants.append({"type": "email", "participant": customer.email})
    participants.extend({"type": "email", "participant": h["email"]} for h in row.hosts or [])
    record: dict[str, Any] = {
        "Event_Title": row.title,
        "Start_DateTime": row.start_utc.isoformat(timespec="seconds"),
        "End_DateTime": row.end_utc.isoformat(timespec="seconds"),
        "Description": _description(row, customer),
        "Participants": participants,
    }
    if module == "Contacts":
        record["Who_Id"] = {"id": record_id}
    else:
        record["What_Id"] = {"id": record_id}
        record["$se_module"] = module
    return record


def _description(row: BookingRow, customer: Customer) -> str:
    return f"{_marker(row)} with {customer.name} <{customer.email}>"


def _marker(row: BookingRow) -> str:
    return f"Booking {row.id}"


async def _find(crm: ZohoCRMService, row: BookingRow) -> str | None:
    """The meeting an earlier attempt created (its answer may have been lost), by the
    description it starts with."""
    criteria = f"(Description:starts_with:{_marker(row)})"
    async for found in crm.search_records(MEETINGS_MODULE, criteria, fields=["Description"]):
        if str(found.get("Description") or "").startswith(_marker(row) + " "):
            return str(found["id"])
    return None


async def sync_meeting(
    crm: ZohoCRMService, row: BookingRow, module: str, record_id: str | None
) -> str | None:
    """Make the booking's meeting match it; returns the meeting id (``None`` once deleted).

    A booking whose earlier attempt failed (``attempts``) is looked up before a meeting is
    created, so an insert whose answer was lost is not made twice. Raises the record's error
    (``RecordError``) when Zoho refuses the write.
    """
    meeting = row.crm_meeting_id
    if meeting is None and row.attempts:
        meeting = await _find(crm, row)
    if row.state == "cancelled":
        if meeting is not None:
            (result,) = await crm.delete_records(MEETINGS_MODULE, [meeting])
            if not result.ok and result.code not in _GONE:
                result.raise_for_error()
        return None
    if record_id is None:
        raise ValueError("the customer's CRM record id is unknown: no meeting to link")
    record = meeting_record(row, module, record_id)
    if meeting is not None:
        (result,) = await crm.update_records(MEETINGS_MODULE, [{"id": meeting, **record}])
        if result.ok:
            return meeting
        if result.code not in _GONE:
            result.raise_for_error()
        # Deleted in the CRM behind our back: the booking still needs its meeting.
    (result,) = await crm.insert_records(MEETINGS_MODULE, [record])
    result.raise_for_error()
    return result.id
