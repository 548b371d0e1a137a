"""The booking flow's values: who booked (:class:`Customer`), where they go in the CRM
(:class:`CrmMapping`), and what the booker and the operator see (:class:`Hold`,
:class:`Booking`), each built from its stored row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zohokit.availability import load_zone
from zohokit.db import json_ready
from zohokit.scheduling._tables import BookingRow, HoldRow

__all__ = ["Booking", "CrmMapping", "Customer", "Hold"]


@dataclass(frozen=True)
class Customer:
    """Who booked. ``notes`` are the booker's own words: they go into the calendar event and
    the CRM summary. ``fields`` are extra CRM fields written as given (``{"Lead_Source": ...}``).
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    notes: str | None = None

    def __post_init__(self) -> None:
        if "@" not in self.email:
            raise ValueError(f"a customer needs an email address, got {self.email!r}")

    @property
    def name(self) -> str:
        """The full name, or the email's local part when no name was given."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email.split("@", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field by name."""
        return json_ready(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Customer:
        """Read :meth:`to_dict`'s shape (``fields`` optional)."""
        return cls(
            email=str(data["email"]),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            phone=data.get("phone"),
            fields=dict(data.get("fields") or {}),
            notes=data.get("notes"),
        )


def _default_crm_fields() -> dict[str, str]:
    return {
        "Email": "email",
        "First_Name": "first_name",
        "Last_Name": "last_name",
        "Phone": "phone",
        "Description": "booking_summary",
    }


@dataclass(frozen=True)
class CrmMapping:
    """Where a booking's customer goes in Zoho CRM.

    ``module`` and ``match_field`` (the upsert's duplicate check) default to Contacts by
    Email. ``fields`` maps a CRM field to a source: ``email``, ``first_name``, ``last_name``
    (the email's local part when unknown, since Contacts require it), ``phone``, ``name``,
    ``booking_id``, ``booking_start`` / ``booking_end`` (ISO UTC), ``booking_status``
    (``confirmed`` or ``cancelled``), ``notes`` (the booker's) and ``booking_summary`` (one
    readable line, then the booker's notes on the next line when there are any). Empty sources
    are left out, and the customer's own ``fields`` are added as given. ``meetings``: each
    booking also gets a CRM meeting (Events) linked to that record.
    """

    module: str = "Contacts"
    match_field: str = "Email"
    fields: Mapping[str, str] = field(default_factory=_default_crm_fields)
    meetings: bool = True

    def record(self, customer: Customer, booking: BookingRow) -> dict[str, Any]:
        """The CRM record for ``customer`` as of ``booking``'s current state."""
        status = "confirmed" if booking.state == "active" else "cancelled"
        when = f"{booking.start_utc:%Y-%m-%d %H:%M} UTC"
        if booking.booker_zone != "UTC":
            local = booking.start_utc.astimezone(load_zone(booking.booker_zone))
            when += f" ({local:%Y-%m-%d %H:%M} {booking.booker_zone})"
        summary = f"{booking.title}: {when}, {status} (booking {booking.id})"
        if customer.notes:
            summary += f"\nNotes: {customer.notes}"
        sources: dict[str, Any] = {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name or customer.name,
            "phone": customer.phone,
            "name": customer.name,
            "booking_id": booking.id,
            "booking_start": booking.start_utc.isoformat(),
            "booking_end": booking.end_utc.isoformat(),
            "booking_status": status,
            "notes": customer.notes,
            "booking_summary": summary,
        }
        record: dict[str, Any] = {}
        for crm_field, source in self.fields.items():
            if source not in sources:
                raise ValueError(f"unknown CRM mapping source {source!r} for {crm_field}")
            if sources[source] not in (None, ""):
                record[crm_field] = sources[source]
        record.update(customer.fields)
        return record


@dataclass(frozen=True)
class Hold:
    """A slot held for a booker until ``expires_at`` (UTC); confirm it with its ``id``."""

    id: str
    tenant: str
    start: datetime
    end: datetime
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field by name, times in ISO 8601."""
        return json_ready(self)

    @classmethod
    def _of(cls, row: HoldRow) -> Hold:
        return cls(row.id, row.tenant, row.start_utc, row.end_utc, row.expires_at)


@dataclass(frozen=True)
class Booking:
    """A booking as the booker and the operator see it.

    ``status`` is ``complete`` (Zoho has the event and the CRM record), ``pending`` (booked
    here, Zoho not up to date: ``pending_reason`` says why), ``cancel_pending`` (cancelled
    here, Zoho not updated yet) or ``cancelled``. ``start``/``end`` are UTC; ``local_start``
    and ``local_end`` are the same instants in ``booker_zone``.
    """

    id: str
    tenant: str
    status: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    booker_zone: str
    title: str
    customer: Customer
    calendar_id: str
    zoho_event_uid: str | None
    crm_module: str | None
    crm_record_id: str | None
    pending_reason: str | None
    attempts: int
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    #: The team hosts given the booking (ids; the first one's calendar holds the event),
    #: empty for a one-calendar schedule.
    hosts: tuple[str, ...] = ()
    crm_meeting_id: str | None = None

    @classmethod
    def of(cls, row: BookingRow) -> Booking:
        """The view of a stored row."""
        synced = row.event_synced and row.crm_synced
        if row.state == "active":
            status = "complete" if synced else "pending"
        else:
            status = "cancelled" if synced else "cancel_pending"
        zone = load_zone(row.booker_zone)
        return cls(
            id=row.id,
            tenant=row.tenant,
            status=status,
            start=row.start_utc,
            end=row.end_utc,
            local_start=row.start_utc.astimezone(zone),
            local_end=row.end_utc.astimezone(zone),
            booker_zone=row.booker_zone,
            title=row.title,
            customer=Customer.from_dict(row.customer),
            calendar_id=row.calendar_id,
            zoho_event_uid=row.zoho_event_uid,
            crm_module=row.crm_module,
            crm_record_id=row.crm_record_id,
            pending_reason=None if synced else row.pending_reason,
            attempts=row.attempts,
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
            updated_at=row.updated_at,
            cancelled_at=row.cancelled_at,
            hosts=tuple(h["id"] for h in row.hosts or ()),
            crm_meeting_id=row.crm_meeting_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field by name, times in ISO 8601, the customer as its dict."""
        return json_ready(self)
