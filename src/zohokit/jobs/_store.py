"""The statements of the job engine: schedule, claim, renew, finish, fail, and the views.

**Claiming** is one statement on both databases: an ``UPDATE ... WHERE id IN (SELECT ...
LIMIT n)`` that sets the lease and returns the rows it took. On PostgreSQL the inner select
is ``FOR UPDATE SKIP LOCKED``, so workers claiming at the same moment each take different
rows without waiting on one another; on SQLite (which writes one transaction at a time) the
same statement is atomic as it is, and SQLAlchemy leaves the locking clause out. A job is
claimable when it is due and nobody holds an unexpired lease on it: a worker that died loses
its jobs when their leases run out, like the token service's refresh lease.

Every time is the caller's (the root's clock), never the database's ``now()``, so tests can
move time and every process of a fleet agrees with the clock it was given. Every statement is
bounded (:func:`zohokit.db.bounded`): it answers in time or raises
:class:`~zohokit.errors.StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar

from sqlalchemy import and_, case, delete, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ..db import Timeouts, bounded, from_row
from ._models import Job
from ._tables import job_runs, jobs
from ._views import JobViews

T = TypeVar("T")

__all__ = ["CHANNEL", "JobOptions", "JobStore", "schedule"]

#: The PostgreSQL ``LISTEN``/``NOTIFY`` channel that wakes workers when a job is scheduled.
CHANNEL = "zohokit_jobs"
#: How much of an error's text a run row and a job keep.
ERROR_CHARS = 2000

_JOB_COLUMNS = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.key,
    jobs.c.tenant,
    jobs.c.payload,
    jobs.c.attempts,
    jobs.c.due_at,
    jobs.c.generation,
)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime (give it a tzinfo, e.g. UTC)")
    return value


def _check_names(kind: str, key: str) -> None:
    if not kind or len(kind) > 64:
        raise ValueError(f"a job kind is 1 to 64 characters, not {kind!r}")
    if not key or len(key) > 255:
        raise ValueError(f"a job key is 1 to 255 characters, not {key!r}")


class JobOptions(TypedDict, total=False):
    """What a job carries besides its kind, key and time, as :func:`schedule` takes it (the
    schedules that pass it on take it whole)."""

    tenant: str | None
    payload: Mapping[str, Any] | None
    if_absent: bool


async def schedule(
    session: AsyncSession | AsyncConnection,
    kind: str,
    key: str,
    due_at: datetime,
    *,
    tenant: str | None = None,
    payload: Mapping[str, Any] | None = None,
    if_absent: bool = False,
) -> None:
    """Schedule job ``key`` of ``kind`` to run at ``due_at``, inside the caller's transaction.

    Commits (or rolls back) with whatever else the session writes, so an outbox row and the
    job that delivers it exist together or not at all. A job of the same kind and key is
    moved to the new time with the new payload (a failed one is revived); one that is running
    now keeps running and then runs again at ``due_at``. ``payload`` must be
    JSON-serializable; ``if_absent`` leaves an existing job as it is (recurring jobs a
    worker makes sure of on start).
    On PostgreSQL the commit also wakes the workers (``NOTIFY``).
    """
    _check_names(kind, key)
    due = _aware(due_at, "due_at")
    body = dict(payload or {})
    now = datetime.now(UTC)
    conn = await session.connection() if isinstance(session, AsyncSession) else session
    dialect = conn.dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(jobs)
    values = upsert.values(
        kind=kind,
        key=key,
        tenant=tenant,
        due_at=due,
        payload=body,
        attempts=0,
        generation=1,
        created_at=now,
        updated_at=now,
    )
    keys = [jobs.c.kind, jobs.c.key]
    stmt = (
        values.on_conflict_do_nothing(index_elements=keys)
        if if_absent
        else values.on_conflict_do_update(
            index_elements=keys,
            set_={
                "tenant": tenant,
                "due_at": due,
                "payload": body,
                "generation": jobs.c.generation + 1,
                # A job that had failed for good starts counting its attempts again.
                "attempts": case((jobs.c.failed_at.is_not(None), 0), else_=jobs.c.attempts),
                "failed_at": None,
                "updated_at": now,
            },
        )
    )
    await conn.execute(stmt)
    if dialect == "postgresql":
        # Delivered at commit, and only then: a rolled-back schedule wakes nobody.
        await conn.execute(
            text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": kind}
        )


def _job(row: Row[Any] | Any) -> Job:
    return from_row(Job, row, payload=dict(row.payload or {}))


def error_text(exc: BaseException) -> str:
    """What a run row says about a failure: the class and the message (zohokit's messages
    carry no secrets), cut to :data:`ERROR_CHARS`."""
    text_ = f"{type(exc).__name__}: {exc}".strip()
    return text_[:ERROR_CHARS]


class JobStore(JobViews):
    """The job tables on one async engine (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, *, timeout: float = Timeouts().statement) -> None:
        self.engine = engine
        self.timeout = timeout

    async def _bounded(self, work: Coroutine[Any, Any, T]) -> T:
        return await bounded(work, seconds=self.timeout, url=self.engine.url)

    @property
    def is_postgresql(self) -> bool:
        """Whether the engine is PostgreSQL (``SKIP LOCKED`` and ``LISTEN`` are there)."""
        return self.engine.dialect.name == "postgresql"

    async def transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work(conn)`` in a bounded transaction of its own, e.g. :func:`schedule` outside
        any caller's transaction."""

        async def run() -> T:
            async with self.engine.begin() as conn:
                return await work(conn)

        return await self._bounded(run())

    async def claim(
        self, *, owner: str, leases: Mapping[str, float], limit: int, now: datetime
    ) -> list[tuple[Job, int]]:
        """Take up to ``limit`` due jobs of the kinds in ``leases`` (kind -> lease seconds)
        for ``owner``; each with the id of the run row started for it.

        A run row still ``running`` for a job taken here belonged to a worker that died or
        lost its lease: it is marked ``lost``.
        """
        if limit <= 0 or not leases:
            return []
        until = case(
            {kind: now + timedelta(seconds=lease) for kind, lease in leases.items()},
            value=jobs.c.kind,
        )
        due = (
            select(jobs.c.id)
            .where(
                jobs.c.kind.in_(list(leases)),
                jobs.c.due_at <= now,
                or_(jobs.c.lease_owner.is_(None), jobs.c.lease_expires_at <= now),
            )
            .order_by(jobs.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        take = (
            update(jobs)
            .where(jobs.c.id.in_(due.scalar_subquery()))
            .values(
                lease_owner=owner,
                lease_expires_at=until,
                attempts=jobs.c.attempts + 1,
                updated_at=now,
            )
            .returning(*_JOB_COLUMNS)
        )

        async def work() -> list[tuple[Job, int]]:
            async with self.engine.begin() as conn:
                taken = [_job(r) for r in (await conn.execute(take)).all()]
                if not taken:
                    return []
                await conn.execute(
                    update(job_runs)
                    .where(
                        job_runs.c.outcome == "running",
                        or_(
                            *(
                                and_(job_runs.c.kind == j.kind, job_runs.c.key == j.key)
                                for j in taken
                            )
                        ),
                    )
                    .values(outcome="lost", finished_at=now)
                )
                claimed: list[tuple[Job, int]] = []
                for job in taken:
                    run_id = (
                        await conn.execute(
                            insert(job_runs)
                            .values(
                                kind=job.kind,
                                key=job.key,
                                tenant=job.tenant,
                                worker=owner,
                                attempt=job.attempts,
                                started_at=now,
                                outcome="running",
                            )
                            .returning(job_runs.c.id)
                        )
                    ).scalar_one()
                    claimed.append((job, int(run_id)))
            # Oldest due first, as they were selected (RETURNING keeps no order).
            claimed.sort(key=lambda c: (c[0].due_at, c[0].id))
            return claimed

        return await self._bounded(work())

    async def renew(self, job: Job, *, owner: str, until: datetime, now: datetime) -> bool:
        """Extend ``owner``'s lease on ``job``; ``False`` if the lease was lost (it ran out
        and another worker took the job)."""
        stmt = (
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.lease_owner == owner)
            .values(lease_expires_at=until, updated_at=now)
        )
        return await self._write(stmt) == 1

    async def finish(
        self, job: Job, run_id: int, *, owner: str, next_due: datetime | None, now: datetime
    ) -> bool:
        """Record a successful run: move the job to ``next_due``, or remove it (``None``).

        If the job was scheduled again while it ran, that schedule stands. ``False`` if
        ``owner`` no longer held the lease (the run's work is done; nothing else changes).
        """
        mine = and_(jobs.c.id == job.id, jobs.c.lease_owner == owner)
        unchanged = and_(mine, jobs.c.generation == job.generation)
        done: Any
        if next_due is None:
            done = delete(jobs).where(unchanged)
        else:
            done = (
                update(jobs)
                .where(unchanged)
                .values(
                    due_at=_aware(next_due, "a handler's next run time"),
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=0,
                    last_error=None,
                    updated_at=now,
                )
            )
        released = (
            update(jobs)
            .where(mine)
            .values(
                lease_owner=None, lease_expires_at=None, attempts=0, last_error=None, updated_at=now
            )
        )

        async def work() -> bool:
            async with self.engine.begin() as conn:
                held = (await conn.execute(done)).rowcount == 1
                if not held:
                    held = (await conn.execute(released)).rowcount == 1
                await self._end_run(conn, run_id, "ok", None, now)
            return held

        return await self._bounded(work())

    async def fail(
        self,
        job: Job,
        run_id: int,
        *,
        owner: str,
        error: str,
        retry_at: datetime | None,
        now: datetime,
    ) -> None:
        """Record a failed run: retry at ``retry_at``, or (``None``) mark the job failed for
        good (it stays, with its last error, until it is scheduled again)."""
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error,
            "updated_at": now,
        }
        if retry_at is None:
            values.update(due_at=None, failed_at=now)
        else:
            values["due_at"] = retry_at
        mine = and_(jobs.c.id == job.id, jobs.c.lease_owner == owner)
        # Scheduled again while it ran: the new schedule stands; only the lease goes.
        retried = update(jobs).where(mine, jobs.c.generation == job.generation).values(**values)
        released = (
            update(jobs)
            .where(mine)
            .values(lease_owner=None, lease_expires_at=None, last_error=error, updated_at=now)
        )

        async def work() -> None:
            async with self.engine.begin() as conn:
                if (await conn.execute(retried)).rowcount != 1:
                    await conn.execute(released)
                await self._end_run(conn, run_id, "failed", error, now)

        await self._bounded(work())

    async def release(
        self, job: Job, run_id: int, *, owner: str, outcome: str, now: datetime
    ) -> None:
        """Give a job back unfinished (shutdown, or its lease was lost): it stays due, and the
        attempt this run counted is taken back."""
        stmt = (
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                attempts=case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0),
                updated_at=now,
            )
        )

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(stmt)
                await self._end_run(conn, run_id, outcome, None, now)

        await self._bounded(work())

    @staticmethod
    async def _end_run(
        conn: AsyncConnection, run_id: int, outcome: str, error: str | None, now: datetime
    ) -> None:
        await conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(outcome=outcome, error=error, finished_at=now)
        )

    async def _write(self, stmt: Any) -> int:
        async def work(conn: AsyncConnection) -> int:
            return int((await conn.execute(stmt)).rowcount)

        return await self.transaction(work)

    # --- views ------------------------------------------------------------------------------

    async def get(self, kind: str, key: str) -> Job | None:
        """The job ``key`` of ``kind``, or ``None``."""

        async def work() -> Job | None:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(*_JOB_COLUMNS).where(jobs.c.kind == kind, jobs.c.key == key)
                    )
                ).first()
            return _job(row) if row is not None else None

        return await self._bounded(work())

    async def keys(self, kind: str) -> set[str]:
        """The keys of every job of ``kind`` (scheduled, running or failed)."""

        async def work() -> set[str]:
            async with self.engine.connect() as conn:
                rows = await conn.execute(select(jobs.c.key).where(jobs.c.kind == kind))
                return {r[0] for r in rows}

        return await self._bounded(work())

    async def cancel(self, kind: str, key: str) -> bool:
        """Remove job ``key`` of ``kind`` (a run in progress finishes); ``True`` if it was there."""
        return await self._write(delete(jobs).where(jobs.c.kind == kind, jobs.c.key == key)) > 0

    async def prune_runs(self, *, before: datetime) -> int:
        """Delete finished runs that started before ``before``; how many went."""
        stmt = delete(job_runs).where(
            job_runs.c.started_at < before, job_runs.c.outcome != "running"
        )
        return await self._write(stmt)
