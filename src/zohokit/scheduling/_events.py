"""The booking events (``booking.created``, ``booking.rescheduled``, ``booking.cancelled``),
written to the outbox by the store in the transaction that makes the change.

Their data is thin on purpose: ids, times and the zone, never the customer (sealed at rest;
an event row is plain text). Read the booking through the API for the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..events import Session, emit
from ._tables import BookingRow

__all__ = ["booking_event"]


async def booking_event(
    conn: Session, type_: str, row: BookingRow, now: datetime, **extra: Any
) -> str:
    """Emit ``type_`` for ``row`` in ``conn``'s transaction; ``extra`` adds keys."""
    data: dict[str, Any] = {
        "booking_id": row.id,
        "start": row.start_utc.isoformat(),
        "end": row.end_utc.isoformat(),
        "booker_zone": row.booker_zone,
        "calendar_id": row.calendar_id,
        "zoho_event_uid": row.zoho_event_uid,
        "crm_module": row.crm_module,
        "crm_record_id": row.crm_record_id,
        **extra,
    }
    return await emit(conn, type_, row.tenant, data, now=now)
