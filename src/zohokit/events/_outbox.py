"""The transactional outbox: an event is a row written in the transaction of the change it
reports, so it exists exactly when that change commits (and never for a rolled-back one).

``outbox_events`` holds one row per event: a stable id (``msg_`` and 32 hex digits, time
first, so ids sort by creation), the type (``booking.created``, ...), the tenant, the time,
the data as JSON, and ``dispatched_at``, set once webhook delivery has fanned the event out
to the endpoints that want it (:mod:`zohokit.webhooks`). Nothing else reads or changes an
event: it is an immutable fact.

Event data is *thin*: ids, states and times, never a customer's personal data (the booking
flow seals those at rest; an event row is plain JSON). A receiver that needs more reads it
through the API with the ids the event names.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Index, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from .._clock import system_clock
from ..db import tenant_column, utc_column, where_given
from ..errors import ZohoError

__all__ = [
    "EVENT_TYPES",
    "Event",
    "InvalidEvent",
    "Operation",
    "Session",
    "emit",
    "event_of",
    "metadata",
    "new_event_id",
    "outbox_events",
    "read_events",
    "record_changed",
]

metadata = MetaData()

#: What :func:`emit` writes into: a connection or an ORM session, its transaction open (or
#: begun by the write); the caller commits, and the event commits with its change.
Session = AsyncConnection | AsyncSession

#: The event types zohokit emits, and when (``docs/webhooks.md`` shows each payload).
EVENT_TYPES: dict[str, str] = {
    "booking.created": "a booking was stored (Zoho is written right after; see its status)",
    "booking.rescheduled": "an active booking moved to another slot",
    "booking.cancelled": "a booking was cancelled; its slot is free again",
    "sync.run.completed": "a push or pull ran to its end (some rows may have failed)",
    "sync.run.failed": "a push or pull stopped on an error",
    "connection.needs_reauth": "Zoho refused a tenant's refresh token: connect it again",
    "connection.recovered": "a tenant's connection works again after failing",
    "crm.record.changed": "a CRM record was created, edited or deleted in Zoho",
}

#: ``word.word[.word...]``: lower case, as Standard Webhooks' examples (``invoice.paid``).
_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TYPE_LENGTH = 64
_TENANT_LENGTH = 255

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("type", String(_TYPE_LENGTH), nullable=False),
    tenant_column(_TENANT_LENGTH),
    utc_column("created_at", required=True),
    Column("data", Text, nullable=False),
    #: When webhook delivery fanned the event out (``None``: not yet).
    utc_column("dispatched_at"),
    Index("ix_outbox_events_dispatched_at", "dispatched_at"),
    Index("ix_outbox_events_tenant_created_at", "tenant", "created_at"),
)


class InvalidEvent(ZohoError, ValueError):
    """An event that cannot be written: a malformed type, or data that is not JSON."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event as stored and as delivered: ``id`` (``msg_...``, stable across retries),
    ``type``, ``tenant``, ``timestamp`` (aware UTC) and ``data``."""

    id: str
    type: str
    tenant: str
    timestamp: datetime
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The delivered body: Standard Webhooks' ``type``/``timestamp``/``data`` envelope,
        with the event's ``id`` and ``tenant``."""
        return {
            "id": self.id,
            "type": self.type,
            "tenant": self.tenant,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


#: Orders the events one process writes within one millisecond (or on a clock that stands
#: still, as a test's does).
_SEQUENCE = itertools.count(secrets.randbelow(1 << 20))


def new_event_id(now: datetime) -> str:
    """``msg_`` + 12 hex digits of milliseconds, 8 of this process's sequence and 12 random
    ones: unique, and sorted by time (in writing order within one process)."""
    millis = max(0, int(now.timestamp() * 1000))
    sequence = next(_SEQUENCE) & 0xFFFFFFFF
    return f"msg_{millis:012x}{sequence:08x}{secrets.token_hex(6)}"


def _checked(type_: str, tenant: str, data: Mapping[str, Any]) -> str:
    if len(type_) > _TYPE_LENGTH or not _TYPE.match(type_):
        raise InvalidEvent(
            f"event type {type_!r} is not of the form word.word (lower case, at most "
            f"{_TYPE_LENGTH} characters), e.g. booking.created",
            tenant=tenant or None,
        )
    if not tenant or len(tenant) > _TENANT_LENGTH:
        raise InvalidEvent(
            f"an event needs a tenant key of 1 to {_TENANT_LENGTH} characters", tenant=None
        )
    try:
        return json.dumps(dict(data), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(
            f"the data of a {type_} event must be JSON (str, number, bool, None, list, dict): "
            f"{exc}",
            tenant=tenant,
        ) from exc


async def emit(
    session: Session,
    type: str,
    tenant: str,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> str:
    """Write an event in ``session``'s transaction; it commits (or rolls back) with the
    caller's change. Returns the event's id (``msg_...``).

    ``type`` is ``word.word`` (the types zohokit emits: :data:`EVENT_TYPES`); ``data`` must
    be JSON and should be thin (ids and states, no personal data: it is stored in plain
    text). ``now`` is the event's time (default: the system clock); pass the caller's clock.
    Raises :class:`InvalidEvent` before writing anything when either is malformed.
    """
    body = _checked(type, tenant, data)
    moment = now if now is not None else system_clock()
    event_id = new_event_id(moment)
    await session.execute(
        insert(outbox_events).values(
            id=event_id, type=type, tenant=tenant, created_at=moment, data=body
        )
    )
    return event_id


Operation = Literal["created", "updated", "deleted"]


async def record_changed(
    session: Session,
    *,
    tenant: str,
    module: str,
    record_id: str,
    operation: Operation,
    changed_fields: Sequence[str] = (),
    modified_time: datetime | None = None,
    source: str = "notification",
    now: datetime | None = None,
) -> str:
    """Emit ``crm.record.changed`` for one CRM record, in ``session``'s transaction (the one
    that stores the fetched record in the ledger or the inbox). Returns the event id.

    ``operation`` is ``created``, ``updated`` or ``deleted``; ``changed_fields`` the API
    names Zoho reported (empty when unknown); ``modified_time`` the record's
    ``Modified_Time``; ``source`` how zohokit learnt of it (``notification`` or
    ``reconcile``). Field values are not carried: read the record with the id.
    """
    if operation not in ("created", "updated", "deleted"):
        raise InvalidEvent(
            f"operation must be created, updated or deleted, not {operation!r}", tenant=tenant
        )
    data: dict[str, Any] = {
        "module": module,
        "record_id": record_id,
        "operation": operation,
        "changed_fields": sorted(changed_fields),
        "modified_time": modified_time.isoformat() if modified_time else None,
        "source": source,
    }
    return await emit(session, "crm.record.changed", tenant, data, now=now)


def event_of(row: Any) -> Event:
    """An :class:`Event` from an ``outbox_events`` row."""
    return Event(row.id, row.type, row.tenant, row.created_at, json.loads(row.data))


async def read_events(
    engine: AsyncEngine,
    *,
    tenant: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Event]:
    """Events oldest first: of one tenant and one type when given, from ``since`` on."""
    t = outbox_events.c
    query = where_given(
        select(outbox_events).order_by(t.created_at, t.id).limit(limit),
        (t.tenant, tenant),
        (t.type, type),
    )
    if since is not None:
        query = query.where(t.created_at >= since)
    async with engine.connect() as conn:
        return [event_of(row) for row in await conn.execute(query)]
