"""Record changes from Zoho, taken in once: into the ledger's ``sync_remote``, the user's
handlers and the outbox (``crm.record.changed``).

Both paths (notified ids fetched from Zoho, and the reconcile pull) hand their changes to
:func:`apply`. A change is *new* when it moves the record's ``sync_remote`` row forward (a
later ``Modified_Time``, or a deletion of a live record). New changes go to the handlers
first, then one transaction writes the rows with a conditional upsert and, for each row it
really moved, the event: a duplicate notification, or the same change seen by both paths or
by two workers at once, gives one event. Handlers run before the commit, so a crash between
the two runs them again (at least once); the event is written exactly once.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import dialect_insert, excluded
from ..events import record_changed
from ..sync import Ledger, row_hash
from ._tables import sync_remote

__all__ = ["ChangeHandler", "RecordChange", "apply"]

Operation = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class RecordChange:
    """One change of a CRM record, as a handler receives it.

    ``op`` is ``created``, ``updated`` or ``deleted``; ``time`` the record's
    ``Modified_Time`` (a deletion: when Zoho said it happened); ``record`` the fetched record
    (``None`` for a deletion); ``changed_fields`` what Zoho said changed (empty when it did
    not say); ``source`` is ``notification`` or ``reconcile``.
    """

    tenant: str
    module: str
    op: Operation
    id: str
    time: datetime
    record: dict[str, Any] | None = field(default=None, compare=False)
    changed_fields: tuple[str, ...] = ()
    source: str = "notification"


#: ``handler(change)``: a function or a coroutine function.
ChangeHandler = Callable[[RecordChange], Awaitable[None] | None]


@dataclass(frozen=True)
class _Seen:
    modified_time: datetime | None
    deleted: bool
    content_hash: str | None


def _hash(change: RecordChange) -> str | None:
    return row_hash(change.record) if change.record is not None else None


def _moves(seen: _Seen | None, change: RecordChange) -> bool:
    """Whether ``change`` is newer than what ``sync_remote`` holds (the upsert's condition):
    a later ``Modified_Time``, or the same second with other content."""
    if seen is None:
        return True
    if change.op == "deleted":
        return not seen.deleted
    if seen.modified_time is None or seen.modified_time < change.time:
        return True
    return seen.modified_time == change.time and seen.content_hash != _hash(change)


async def _seen(
    engine: AsyncEngine, tenant: str, module: str, ids: Sequence[str]
) -> dict[str, _Seen]:
    t = sync_remote.c
    query = select(t.record_id, t.modified_time, t.deleted, t.content_hash).where(
        t.tenant == tenant, t.module == module, t.record_id.in_(bindparam("ids", expanding=True))
    )
    async with engine.connect() as conn:
        rows = await conn.execute(query, {"ids": list(ids)})
        return {
            row.record_id: _Seen(row.modified_time, bool(row.deleted), row.content_hash)
            for row in rows
        }


async def _echoes(
    ledger: Ledger, tenant: str, module: str, changes: list[RecordChange]
) -> set[str]:
    """The ids among ``changes`` that are zohokit's own push coming back (the ledger knows
    the ``Modified_Time`` Zoho gave our write, or our mirror push deleted the record)."""
    ours = await ledger.by_zoho_id(tenant, module, [c.id for c in changes])
    echoes: set[str] = set()
    for change in changes:
        entry = ours.get(change.id)
        if entry is None:
            continue
        if change.op == "deleted":
            if entry.status == "deleted":
                echoes.add(change.id)
        elif entry.zoho_modified_time is not None and entry.zoho_modified_time >= change.time:
            echoes.add(change.id)
    return echoes


async def apply(
    engine: AsyncEngine,
    ledger: Ledger,
    changes: Sequence[RecordChange],
    handlers: Sequence[ChangeHandler],
    *,
    now: datetime,
    also: Callable[[AsyncConnection], Awaitable[None]] | None = None,
) -> list[RecordChange]:
    """Take in the changes of one tenant's module; returns the ones delivered (new ones that
    are not our own echo). ``also`` runs in the same transaction (the inbox marks its rows
    processed there)."""
    if not changes:
        if also is not None:
            async with engine.begin() as conn:
                await also(conn)
        return []
    tenant, module = changes[0].tenant, changes[0].module
    # The newest change per record: a batch may hold an insert and an edit of one record.
    latest: dict[str, RecordChange] = {}
    for change in changes:
        held = latest.get(change.id)
        if held is None or change.op == "deleted" or change.time >= held.time:
            latest[change.id] = change
    seen = await _seen(engine, tenant, module, list(latest))
    fresh = [c for c in latest.values() if _moves(seen.get(c.id), c)]
    echoes = await _echoes(ledger, tenant, module, fresh) if fresh else set()
    delivered = [c for c in fresh if c.id not in echoes]
    for change in delivered:
        for handler in handlers:
            result = handler(change)
            if inspect.isawaitable(result):
                await result
    moved: list[RecordChange] = []
    async with engine.begin() as conn:
        for change in fresh:
            if await _upsert(conn, change, now):
                moved.append(change)
        for change in moved:
            if change.id in echoes:
                continue
            await record_changed(
                conn,
                tenant=tenant,
                module=module,
                record_id=change.id,
                operation=change.op,
                changed_fields=change.changed_fields,
                modified_time=change.time,
                source=change.source,
                now=now,
            )
        if also is not None:
            await also(conn)
    return [c for c in delivered if c in moved]


async def _upsert(conn: AsyncConnection, change: RecordChange, now: datetime) -> bool:
    """Move the record's row to ``change`` if it is newer; whether it did (the one winner
    among concurrent writers of the same version)."""
    t = sync_remote.c
    stmt = dialect_insert(conn, sync_remote).values(
        tenant=change.tenant,
        module=change.module,
        record_id=change.id,
        modified_time=change.time,
        deleted=change.op == "deleted",
        content_hash=_hash(change),
        via=change.source,
        updated_at=now,
    )
    new = stmt.excluded
    newer = or_(
        and_(new.deleted, not_(t.deleted)),
        and_(
            not_(new.deleted),
            or_(
                t.modified_time.is_(None),
                t.modified_time < new.modified_time,
                and_(
                    t.modified_time == new.modified_time,
                    t.content_hash.is_distinct_from(new.content_hash),
                ),
            ),
        ),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant", "module", "record_id"],
        set_=excluded(stmt, "modified_time", "deleted", "content_hash", "via", "updated_at"),
        where=newer,
    ).returning(t.record_id)
    return (await conn.execute(stmt)).first() is not None
