"""The job engine's read side: each kind's counts and the history of runs.

:class:`JobViews` is the half of :class:`~zohokit.jobs._store.JobStore` that only reads (the
CLI's ``zohokit worker status``, the admin page); every statement is bounded like the store's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db import bounded, where_given
from ._models import JobRun, KindStatus
from ._tables import job_runs, jobs

__all__ = ["JobViews", "RunFilter"]

_RUN_COLUMNS = (
    job_runs.c.kind,
    job_runs.c.key,
    job_runs.c.tenant,
    job_runs.c.worker,
    job_runs.c.attempt,
    job_runs.c.started_at,
    job_runs.c.finished_at,
    job_runs.c.outcome,
    job_runs.c.error,
)


class RunFilter(TypedDict, total=False):
    """Which runs a listing shows (:meth:`JobViews.runs`, ``zoho.jobs.runs``): those of one
    ``kind``, ``key`` or ``tenant`` (``None``: any), at most ``limit`` of them (50)."""

    kind: str | None
    key: str | None
    tenant: str | None
    limit: int


def _run(row: Row[Any] | Any) -> JobRun:
    return JobRun(**row._mapping)


class JobViews:
    """Reads of the job tables, on the store's engine and statement timeout."""

    engine: AsyncEngine
    timeout: float

    async def status(self, *, now: datetime, kinds: Sequence[str] = ()) -> list[KindStatus]:
        """Per kind (every kind with a job or a run, plus ``kinds``): due, scheduled, running,
        failed, and the last run."""
        running = and_(jobs.c.lease_owner.is_not(None), jobs.c.lease_expires_at > now)
        counts = select(
            jobs.c.kind,
            func.sum(case((and_(jobs.c.due_at <= now, ~running), 1), else_=0)),
            func.sum(case((and_(jobs.c.due_at > now, ~running), 1), else_=0)),
            func.sum(case((running, 1), else_=0)),
            func.sum(case((jobs.c.failed_at.is_not(None), 1), else_=0)),
        ).group_by(jobs.c.kind)
        latest = (
            select(job_runs.c.kind, func.max(job_runs.c.id).label("id"))
            .group_by(job_runs.c.kind)
            .subquery()
        )
        last_runs = select(*_RUN_COLUMNS).join(latest, latest.c.id == job_runs.c.id)

        async def work() -> list[KindStatus]:
            async with self.engine.connect() as conn:
                by_kind = {
                    r[0]: [int(v or 0) for v in r[1:]] for r in (await conn.execute(counts)).all()
                }
                last = {r.kind: _run(r) for r in (await conn.execute(last_runs)).all()}
            names = sorted(set(by_kind) | set(last) | set(kinds))
            out = []
            for name in names:
                due, scheduled, run, failed = by_kind.get(name, [0, 0, 0, 0])
                out.append(KindStatus(name, due, scheduled, run, failed, last.get(name)))
            return out

        return await bounded(work(), seconds=self.timeout, url=self.engine.url)

    async def due_times(self, kind: str) -> dict[str, datetime | None]:
        """When each job of ``kind`` is due, by key (``None``: failed for good)."""
        query = select(jobs.c.key, jobs.c.due_at).where(jobs.c.kind == kind)

        async def work() -> dict[str, datetime | None]:
            async with self.engine.connect() as conn:
                return {r.key: r.due_at for r in (await conn.execute(query)).all()}

        return await bounded(work(), seconds=self.timeout, url=self.engine.url)

    async def runs(self, **which: Unpack[RunFilter]) -> list[JobRun]:
        """The latest runs, newest first: those :class:`RunFilter` ``which`` names (at most
        50 unless it says)."""
        r = job_runs.c
        query = where_given(
            select(*_RUN_COLUMNS).order_by(r.id.desc()).limit(which.get("limit", 50)),
            (r.kind, which.get("kind")),
            (r.key, which.get("key")),
            (r.tenant, which.get("tenant")),
        )

        async def work() -> list[JobRun]:
            async with self.engine.connect() as conn:
                return [_run(r) for r in (await conn.execute(query)).all()]

        return await bounded(work(), seconds=self.timeout, url=self.engine.url)
