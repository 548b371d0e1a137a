"""The inbox: each notification Zoho posts is checked, stored once, and later processed.

:func:`parse` checks a body's shape (a clear :class:`InvalidNotification` naming the key
otherwise); the receiver then checks the channel and its token and :func:`store`\\ s it under a
stable :func:`dedupe_key` (``INSERT ... ON CONFLICT DO NOTHING``: a duplicate is stored once,
and answered as one). :func:`claim` leases pending rows to one processor at a time (a
conditional UPDATE, so two workers never take the same row) and :func:`done` marks them
processed, in the transaction that records their changes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import dialect_insert
from ..errors import ZohoError
from ._tables import notification_inbox

__all__ = [
    "InboxItem",
    "InvalidNotification",
    "Notification",
    "claim",
    "dedupe_key",
    "done",
    "failed",
    "parse",
    "prune",
    "store",
]

#: What a notification's ``operation`` says, as a change's ``op``.
OPERATIONS = {"insert": "created", "update": "updated", "delete": "deleted"}
#: The most ids one notification may carry (Zoho writes at most 100 records per call).
MAX_IDS = 1000


class InvalidNotification(ZohoError, ValueError):
    """A body posted to the notification endpoint that is not a Zoho notification: the
    message names the key that is missing or wrong."""


@dataclass(frozen=True)
class Notification:
    """A notification's parts that zohokit uses (the token stays out of it once checked)."""

    channel_id: str
    token: str | None
    module: str
    operation: str
    ids: tuple[str, ...]
    affected_fields: dict[str, list[str]]
    server_time: int


@dataclass(frozen=True)
class InboxItem:
    """A stored notification waiting to be processed."""

    id: int
    channel_id: str
    tenant: str
    module: str
    operation: str
    ids: tuple[str, ...]
    affected_fields: dict[str, list[str]]
    server_time: int


def _problem(message: str) -> InvalidNotification:
    return InvalidNotification(f"not a Zoho CRM notification: {message}")


def parse(body: Any) -> Notification:
    """Check a decoded JSON body and pick out its parts."""
    if not isinstance(body, dict):
        raise _problem("the body must be a JSON object")
    channel = body.get("channel_id")
    if (
        isinstance(channel, bool)
        or not isinstance(channel, str | int)
        or not str(channel).isdigit()
    ):
        raise _problem("channel_id must be the channel's number")
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise _problem("token must be a string")
    module = body.get("module")
    if not isinstance(module, str) or not module or len(module) > 100:
        raise _problem("module must be a module's API name")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _problem("operation must be insert, update or delete")
    ids = body.get("ids")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > MAX_IDS
        or not all(isinstance(i, str | int) and str(i).isdigit() for i in ids)
    ):
        raise _problem(f"ids must be a list of 1 to {MAX_IDS} record ids")
    server_time = body.get("server_time")
    if isinstance(server_time, bool) or not isinstance(server_time, int) or server_time < 0:
        raise _problem("server_time must be milliseconds since the epoch")
    affected: dict[str, list[str]] = {}
    raw_affected = body.get("affected_fields") or []
    if not isinstance(raw_affected, list):
        raise _problem("affected_fields must be a list")
    for entry in raw_affected:
        if isinstance(entry, dict):
            for record_id, names in entry.items():
                if isinstance(names, list):
                    affected[str(record_id)] = [str(n) for n in names]
    return Notification(
        str(channel),
        token,
        module,
        operation,
        tuple(str(i) for i in ids),
        affected,
        server_time,
    )


def dedupe_key(note: Notification) -> str:
    """The same for every copy of one notification: its channel, module, operation, ids and
    Zoho's ``server_time``, hashed."""
    parts = [note.channel_id, note.module, note.operation, sorted(note.ids), note.server_time]
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


async def store(conn: AsyncConnection, note: Notification, tenant: str, now: datetime) -> bool:
    """Put ``note`` in the inbox unless a copy is there; whether it was new."""
    stmt = (
        dialect_insert(conn, notification_inbox)
        .values(
            dedupe_key=dedupe_key(note),
            channel_id=note.channel_id,
            tenant=tenant,
            module=note.module,
            operation=note.operation,
            ids=json.dumps(list(note.ids)),
            affected_fields=json.dumps(note.affected_fields, sort_keys=True),
            server_time=note.server_time,
            received_at=now,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(notification_inbox.c.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def claim(
    engine: AsyncEngine,
    *,
    tenant: str | None,
    now: datetime,
    lease: timedelta,
    limit: int = 200,
) -> list[InboxItem]:
    """Lease up to ``limit`` pending notifications (of ``tenant``, or any) to this caller."""
    t = notification_inbox.c
    owner = secrets.token_hex(8)
    free = and_(t.processed_at.is_(None), or_(t.lease_until.is_(None), t.lease_until < now))
    pick = select(t.id).where(free).order_by(t.id).limit(limit)
    if tenant is not None:
        pick = pick.where(t.tenant == tenant)
    async with engine.begin() as conn:
        ids = [row.id for row in await conn.execute(pick)]
        if not ids:
            return []
        # Conditional: a row a peer leased in between is left to it.
        await conn.execute(
            update(notification_inbox)
            .where(t.id.in_(ids), free)
            .values(lease_owner=owner, lease_until=now + lease, attempts=t.attempts + 1)
        )
        rows = await conn.execute(
            select(notification_inbox)
            .where(t.lease_owner == owner, t.processed_at.is_(None))
            .order_by(t.id)
        )
        return [
            InboxItem(
                row.id,
                row.channel_id,
                row.tenant,
                row.module,
                row.operation,
                tuple(json.loads(row.ids)),
                json.loads(row.affected_fields),
                row.server_time,
            )
            for row in rows
        ]


async def done(conn: AsyncConnection, items: list[InboxItem], now: datetime) -> None:
    """Mark ``items`` processed (in the caller's transaction)."""
    if items:
        t = notification_inbox.c
        await conn.execute(
            update(notification_inbox)
            .where(t.id.in_([i.id for i in items]))
            .values(processed_at=now, lease_owner=None, lease_until=None, last_error=None)
        )


async def prune(engine: AsyncEngine, before: datetime) -> int:
    """Delete the notifications processed before ``before``; how many went."""
    t = notification_inbox.c
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(notification_inbox).where(t.processed_at.is_not(None), t.processed_at < before)
        )
        return int(result.rowcount or 0)


async def failed(engine: AsyncEngine, items: list[InboxItem], error: str) -> None:
    """Give ``items`` back (the lease is dropped) with the error, to be tried again."""
    if items:
        t = notification_inbox.c
        async with engine.begin() as conn:
            await conn.execute(
                update(notification_inbox)
                .where(t.id.in_([i.id for i in items]))
                .values(lease_owner=None, lease_until=None, last_error=error[:1000])
            )
