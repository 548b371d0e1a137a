"""The sync ledger: what zohokit last pushed for every row, the pull cursors and run reports.

Three tables (created by migration ``0002_sync_ledger``):

- ``sync_ledger``: one row per (tenant, module, external id) with the Zoho id, the hash of
  the content last sent, ``status`` (``synced``, ``pending``, ``failed``, ``parked``, or
  ``deleted`` once a mirror push removed the record), the attempts of that content, the last
  error, and the ``Modified_Time`` Zoho gave our write (how a pull knows its own echo);
- ``sync_cursors``: per (tenant, module, stream) the ``Modified_Time`` (or deletion time) a
  pull has read up to, and the (id, time) pairs already delivered inside the overlap window;
- ``sync_runs``: every run's :class:`~zohokit.sync.RunReport` as JSON.

Every write is one short transaction of upserts (``INSERT ... ON CONFLICT DO UPDATE``), which
SQLite and PostgreSQL both run atomically: a process killed between two writes leaves the
ledger as of the last finished batch, never half of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..db import create_engine, dialect_insert, excluded, tenant_module, upgrade_async, utc_column
from ._bulkwrite import BulkUpsert
from ._plan import LedgerState, Status
from ._report import RunReport, emit_run_event

__all__ = ["Cursor", "Ledger", "LedgerEntry", "Outcome", "metadata"]

#: Rows per ``IN (...)`` list: well under SQLite's bound-parameter limit.
_CHUNK = 500


metadata = MetaData()


sync_ledger = Table(
    "sync_ledger",
    metadata,
    *tenant_module(primary_key=True),
    Column("external_id", String(512), primary_key=True),
    Column("zoho_id", String(32)),
    Column("content_hash", String(64)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error_code", String(100)),
    Column("last_error_details", Text),
    utc_column("zoho_modified_time"),
    utc_column("last_pushed_at"),
    utc_column("updated_at", required=True),
    Index("ix_sync_ledger_zoho_id", "tenant", "module", "zoho_id"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    *tenant_module(primary_key=True),
    Column("stream", String(16), primary_key=True),
    utc_column("cursor"),
    Column("seen", Text, nullable=False),
    utc_column("updated_at", required=True),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    *tenant_module(),
    Column("direction", String(8), nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("report", Text, nullable=False),
    Index("ix_sync_runs_tenant_started", "tenant", "started_at"),
    # The console's latest runs of the whole fleet.
    Index("ix_sync_runs_started", "started_at"),
)


_KEY = ["tenant", "module", "external_id"]


def _pending_upsert(stmt: Any) -> Any:
    t = sync_ledger.c
    return stmt.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "status": "pending",
            "content_hash": stmt.excluded.content_hash,
            "attempts": case((t.content_hash == stmt.excluded.content_hash, t.attempts), else_=0),
            "updated_at": stmt.excluded.updated_at,
        },
    )


def _outcome_upsert(stmt: Any) -> Any:
    t = sync_ledger.c
    return stmt.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            **excluded(
                stmt,
                "status",
                "content_hash",
                "attempts",
                "last_error_code",
                "last_error_details",
                "last_pushed_at",
                "updated_at",
            ),
            # A failure does not make us forget which record the row had.
            "zoho_id": func.coalesce(stmt.excluded.zoho_id, t.zoho_id),
            "zoho_modified_time": func.coalesce(
                stmt.excluded.zoho_modified_time, t.zoho_modified_time
            ),
        },
    )


# The two writes of a push, a row per pushed row: compiled once, run at the driver's speed.
_PENDING = BulkUpsert(
    sync_ledger,
    [*_KEY, "content_hash", "status", "attempts", "updated_at"],
    _pending_upsert,
)
_OUTCOMES = BulkUpsert(
    sync_ledger,
    [
        *_KEY,
        "zoho_id",
        "content_hash",
        "status",
        "attempts",
        "last_error_code",
        "last_error_details",
        "zoho_modified_time",
        "last_pushed_at",
        "updated_at",
    ],
    _outcome_upsert,
)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row."""

    external_id: str
    zoho_id: str | None
    content_hash: str | None
    status: Status
    attempts: int
    last_error_code: str | None
    last_error_details: dict[str, Any] | None
    zoho_modified_time: datetime | None
    last_pushed_at: datetime | None

    @property
    def state(self) -> LedgerState:
        """What the push decisions need of this row."""
        return LedgerState(self.status, self.content_hash, self.attempts)


@dataclass(frozen=True)
class Outcome:
    """What one row's push ended in, to be written to the ledger."""

    external_id: str
    status: Status
    content_hash: str | None
    attempts: int = 0
    zoho_id: str | None = None
    zoho_modified_time: datetime | None = None
    error_code: str | None = None
    error_details: dict[str, Any] | None = None

    @classmethod
    def synced(
        cls,
        external_id: str,
        content_hash: str,
        zoho_id: str | None,
        zoho_modified_time: datetime | None,
    ) -> Outcome:
        """A row Zoho took: ``synced``, no attempts counted, no error."""
        # Filled in directly, as the frozen __init__ would: a push settles every row with
        # one, and a setattr call per field was most of the cost.
        outcome = object.__new__(cls)
        values = (external_id, "synced", content_hash, 0, zoho_id, zoho_modified_time, None, None)
        outcome.__dict__.update(zip(_OUTCOME_FIELDS, values, strict=True))
        return outcome


#: :class:`Outcome`'s fields in order (what :meth:`Outcome.synced` fills in).
_OUTCOME_FIELDS = tuple(f.name for f in fields(Outcome))


@dataclass(frozen=True)
class Cursor:
    """How far a pull has read one stream, and what it delivered inside the overlap window."""

    position: datetime | None
    seen: frozenset[tuple[str, int]]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _entry(row: Any) -> LedgerEntry:
    # The entry's fields are columns of the row by the same names; only the details are JSON.
    values = {f.name: getattr(row, f.name) for f in fields(LedgerEntry)}
    details = values["last_error_details"]
    values["last_error_details"] = json.loads(details) if details else None
    return LedgerEntry(**values)


class Ledger:
    """The sync tables of one database (SQLite or PostgreSQL), behind a few async calls.

    Build it on an engine, or with :meth:`open` from a URL (which applies the migrations).
    ``clock`` stamps every row and run report (tests pass their own).
    """

    def __init__(
        self, engine: AsyncEngine, *, owns_engine: bool = False, clock: Clock = system_clock
    ) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self.clock = clock

    @classmethod
    async def open(cls, url: str, *, clock: Clock = system_clock) -> Ledger:
        """A ledger on the database at ``url``, migrated to the latest revision."""
        engine = create_engine(url)
        await upgrade_async(engine)
        return cls(engine, owns_engine=True, clock=clock)

    async def close(self) -> None:
        """Release the engine if this ledger created it."""
        if self._owns_engine:
            await self.engine.dispose()

    # --- push ----------------------------------------------------------------------------

    async def entries(
        self, tenant: str, module: str, external_ids: Sequence[str]
    ) -> dict[str, LedgerEntry]:
        """The ledger rows of these external ids (missing ones are simply absent)."""
        return await self._lookup(tenant, module, "external_id", external_ids)

    async def states(
        self, tenant: str, module: str, external_ids: Sequence[str]
    ) -> dict[str, tuple[LedgerState, str | None]]:
        """What a push decides on for these external ids: each row's state and Zoho id.

        :meth:`entries` without the times and error details: a re-run of an unchanged file
        reads every row, and parsing three stored times and a JSON column per row cost
        more than the query.
        """
        t = sync_ledger.c
        found = await self._rows(
            tenant, module, t.external_id, external_ids,
            (t.external_id, t.status, t.content_hash, t.attempts, t.zoho_id),
        )  # fmt: skip
        return {row[0]: (LedgerState(row[1], row[2], row[3]), row[4]) for row in found}

    async def _lookup(
        self, tenant: str, module: str, key: str, values: Sequence[str]
    ) -> dict[str, LedgerEntry]:
        """Rows whose column ``key`` is one of ``values``, by that column's value."""
        rows = await self._rows(tenant, module, sync_ledger.c[key], values, (sync_ledger,))
        return {getattr(row, key): _entry(row) for row in rows}

    async def _rows(
        self,
        tenant: str,
        module: str,
        column: Column[Any],
        values: Sequence[str],
        selected: Sequence[Any],
    ) -> list[Any]:
        """The ``selected`` columns of the rows whose ``column`` is one of ``values``."""
        t = sync_ledger.c
        # One expanding parameter: building ``in_(values)`` coerces every value into a
        # literal clause first, which cost a push more than the query itself.
        query = select(*selected).where(
            t.tenant == tenant, t.module == module, column.in_(bindparam("values", expanding=True))
        )
        out: list[Any] = []
        async with self.engine.connect() as conn:
            for chunk in _chunks(list(values)):
                out.extend(await conn.execute(query, {"values": list(chunk)}))
        return out

    async def all_entries(self, tenant: str, module: str) -> list[LedgerEntry]:
        """Every ledger row of a tenant's module."""
        t = sync_ledger.c
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(sync_ledger)
                .where(t.tenant == tenant, t.module == module)
                .order_by(t.external_id)
            )
            return [_entry(row) for row in result]

    async def mark_pending(self, tenant: str, module: str, rows: Sequence[tuple[str, str]]) -> None:
        """Record that these (external id, hash) rows are about to be sent.

        A run that dies after this resends them; attempts survive only while the content is
        the same.
        """
        if not rows:
            return
        now = self.clock()
        async with self.engine.begin() as conn:
            await _PENDING.run(
                conn, [(tenant, module, key, content, "pending", 0, now) for key, content in rows]
            )

    async def record(self, tenant: str, module: str, outcomes: Sequence[Outcome]) -> None:
        """Write the outcome of pushed rows, in one transaction."""
        if not outcomes:
            return
        now = self.clock()
        async with self.engine.begin() as conn:
            await _OUTCOMES.run(
                conn,
                [
                    (
                        tenant,
                        module,
                        o.external_id,
                        o.zoho_id,
                        o.content_hash,
                        o.status,
                        o.attempts,
                        o.error_code,
                        None
                        if o.error_details is None
                        else json.dumps(o.error_details, sort_keys=True, default=str),
                        o.zoho_modified_time,
                        now,
                        now,
                    )
                    for o in outcomes
                ],
            )

    async def forget(self, tenant: str, module: str, external_ids: Sequence[str]) -> None:
        """Drop ledger rows (rows that left the source and never reached Zoho)."""
        t = sync_ledger.c
        async with self.engine.begin() as conn:
            for chunk in _chunks(list(external_ids)):
                await conn.execute(
                    delete(sync_ledger).where(
                        t.tenant == tenant, t.module == module, t.external_id.in_(chunk)
                    )
                )

    async def mark_deleted(self, tenant: str, module: str, external_ids: Sequence[str]) -> None:
        """Record that a mirror push deleted these rows' records."""
        t = sync_ledger.c
        now = self.clock()
        async with self.engine.begin() as conn:
            for chunk in _chunks(list(external_ids)):
                await conn.execute(
                    update(sync_ledger)
                    .where(t.tenant == tenant, t.module == module, t.external_id.in_(chunk))
                    .values(
                        status="deleted",
                        content_hash=None,
                        attempts=0,
                        last_error_code=None,
                        last_error_details=None,
                        updated_at=now,
                    )
                )

    # --- pull ----------------------------------------------------------------------------

    async def by_zoho_id(
        self, tenant: str, module: str, zoho_ids: Sequence[str]
    ) -> dict[str, LedgerEntry]:
        """Ledger rows by the Zoho id of their record (how a pull spots its own writes)."""
        return await self._lookup(tenant, module, "zoho_id", zoho_ids)

    async def cursor(self, tenant: str, module: str, stream: str) -> Cursor:
        """Where the pull of ``stream`` (``records`` or ``deleted``) stopped last time."""
        c = sync_cursors.c
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(sync_cursors).where(
                        c.tenant == tenant, c.module == module, c.stream == stream
                    )
                )
            ).first()
        if row is None:
            return Cursor(None, frozenset())
        seen = frozenset((str(i), int(ts)) for i, ts in json.loads(row.seen))
        return Cursor(row.cursor, seen)

    async def save_cursor(self, tenant: str, module: str, stream: str, cursor: Cursor) -> None:
        """Store where a pull got to (after its output was written)."""
        async with self.engine.begin() as conn:
            stmt = dialect_insert(conn, sync_cursors)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant", "module", "stream"],
                set_=excluded(stmt, "cursor", "seen", "updated_at"),
            )
            await conn.execute(
                stmt,
                {
                    "tenant": tenant,
                    "module": module,
                    "stream": stream,
                    "cursor": cursor.position,
                    "seen": json.dumps(sorted(cursor.seen)),
                    "updated_at": self.clock(),
                },
            )

    # --- reports -------------------------------------------------------------------------

    async def save_run(self, report: RunReport) -> None:
        """Insert or update a run's report; a finished run's event (``sync.run.completed`` or
        ``sync.run.failed``) is written to the outbox in the same transaction."""
        async with self.engine.begin() as conn:
            if report.finished_at is not None and report.status != "planned":
                # The event's time is the run's end, already read from the clock.
                ended = datetime.fromisoformat(report.finished_at)
                await emit_run_event(conn, report, now=ended)
            stmt = dialect_insert(conn, sync_runs)
            stmt = stmt.on_conflict_do_update(
                index_elements=["run_id"],
                set_=excluded(stmt, "status", "report"),
            )
            await conn.execute(
                stmt,
                {
                    "run_id": report.run_id,
                    "tenant": report.tenant,
                    "module": report.module,
                    "direction": report.direction,
                    "status": report.status,
                    "started_at": report.started_at,
                    "report": json.dumps(report.to_dict(), sort_keys=True),
                },
            )

    async def runs(self, tenant: str | None = None, limit: int = 20) -> list[RunReport]:
        """The latest run reports, newest first."""
        r = sync_runs.c
        query = select(sync_runs.c.report).order_by(r.started_at.desc()).limit(limit)
        if tenant is not None:
            query = query.where(r.tenant == tenant)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [RunReport.from_dict(json.loads(row.report)) for row in rows]

    async def status_counts(self, tenant: str | None = None) -> dict[tuple[str, str, str], int]:
        """How many ledger rows each (tenant, module, status) has."""
        t = sync_ledger.c
        query = select(t.tenant, t.module, t.status, func.count()).group_by(
            t.tenant, t.module, t.status
        )
        if tenant is not None:
            query = query.where(t.tenant == tenant)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(row[0], row[1], row[2]): int(row[3]) for row in rows}
