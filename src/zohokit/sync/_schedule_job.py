"""``sync.scheduled``: the worker's job that runs one scheduled sync, under its tenant's guard.

One job per schedule (key ``tenant:name``). A run:

1. reads the schedule (removed since: the job ends);
2. takes the tenant's guard (:meth:`TenantGuard.acquire`). If another run of the same
   tenant holds it (another schedule that fell due at the same time, on this worker or
   another), nothing runs: the job looks again :data:`BUSY_RETRY` later. The guard is a
   lease, renewed every third of :data:`LEASE` while the run goes, so a worker that dies
   holding it loses it within :data:`LEASE` seconds; a run whose renewal finds the guard
   taken by someone else is stopped at once (:class:`TenantGuardLost`);
3. runs the push or pull (:meth:`SyncSchedules.execute`): its report is saved and its
   ``sync.run.completed`` / ``sync.run.failed`` event written, with the schedule's name;
4. gives the guard back (and makes the tenant's schedules that found it busy due now), and
   is due again at the next point of the schedule's grid. A run
   the budget stopped (``budget_exhausted``) waits for the first point after the day's
   credits reset; what it synced stays synced. Any other failure is retried with the
   engine's backoff (:data:`RETRY_BASE` doubling up to :data:`RETRY_CAP` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..errors import BudgetExhausted, StorageUnavailable, ZohoError
from ..jobs import JobContext, Jobs
from ..jobs._lease import LeaseLost, run_leased
from ._schedule import next_run
from ._schedules import SCHEDULED_SYNC, SyncSchedules
from ._tenant_guard import TenantGuard

__all__ = ["BUSY_RETRY", "LEASE", "SCHEDULED_SYNC", "TenantGuardLost", "register", "run_job"]

T = TypeVar("T")
logger = logging.getLogger("zohokit.sync.schedule")

#: The lease (seconds) of the job and of the tenant's guard: the bound on a dead worker.
LEASE = 120.0
#: How long a schedule whose tenant is busy waits before it looks again.
BUSY_RETRY = timedelta(seconds=15)
RETRY_BASE = 30.0
RETRY_CAP = 3600.0
#: The longest one scheduled run may take (a big first push through Bulk Write).
TIMEOUT = 6 * 3600.0


class TenantGuardLost(ZohoError):
    """A scheduled run lost its tenant's guard (its lease ran out and another run took it):
    it was stopped so that two runs never overlap; the job is retried."""


def _log(event: str, level: int, key: str, **fields: object) -> None:
    detail = " ".join(f"{k}={v}" for k, v in fields.items())
    logger.log(
        level, "%s key=%s %s", event, key, detail, extra={"event": event, "key": key, **fields}
    )


async def _guarded(
    guard: TenantGuard,
    tenant: str,
    holder: str,
    work: Coroutine[Any, Any, T],
    *,
    every: float = LEASE / 3,
) -> T:
    """Run ``work`` while renewing ``holder``'s guard on ``tenant`` every ``every`` seconds;
    stop it with :class:`TenantGuardLost` if the guard is lost."""
    try:
        return await run_leased(
            work, renew=lambda: guard.renew(tenant, holder, lease=LEASE), every=every
        )
    except LeaseLost:
        raise TenantGuardLost(
            f"the sync guard of tenant {tenant!r} ran out and was taken by another run",
            tenant=tenant,
        ) from None


async def run_job(ctx: JobContext[Any]) -> datetime | None:
    """Run the job's schedule once under its tenant's guard; when to run again."""
    schedules: SyncSchedules = ctx.zoho.sync_schedules
    tenant = str(ctx.job.payload.get("tenant") or ctx.job.tenant or "")
    name = str(ctx.job.payload.get("name") or ctx.job.key.rpartition(":")[2])
    found = await schedules.get(tenant, name)
    if found is None:
        return None  # removed: the job ends
    guard = schedules.guard
    holder = guard.new_holder()
    busy = await guard.acquire(tenant, name, holder, lease=LEASE)
    if busy is not None:
        _log("sync.schedule.busy", logging.INFO, ctx.job.key, tenant=tenant, running=busy)
        return ctx.now + BUSY_RETRY
    _log("sync.schedule.started", logging.INFO, ctx.job.key, tenant=tenant)
    try:
        report = await _guarded(guard, tenant, holder, schedules.execute(found))
    except BudgetExhausted as exc:
        resets = _parse(exc.resets_at) or schedules.clock()
        _log("sync.schedule.budget_exhausted", logging.WARNING, ctx.job.key, resets_at=resets)
        return next_run(found.anchor_at, found.interval, max(schedules.clock(), resets))
    finally:
        with contextlib.suppress(StorageUnavailable):
            await asyncio.shield(guard.release(tenant, holder))
            # The tenant's schedules that found it busy need not wait out BUSY_RETRY.
            await schedules.wake_waiting(tenant, within=BUSY_RETRY, besides=name)
    _log("sync.schedule.finished", logging.INFO, ctx.job.key, status=report.status)
    return next_run(found.anchor_at, found.interval, schedules.clock())


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


async def _ensure(zoho: Any) -> None:
    await zoho.sync_schedules.ensure_jobs()


def register(jobs: Jobs) -> None:
    """Register ``sync.scheduled`` on ``jobs``."""
    jobs.register(
        SCHEDULED_SYNC,
        run_job,
        lease=LEASE,
        timeout=TIMEOUT,
        retry_base=RETRY_BASE,
        retry_cap=RETRY_CAP,
        description="runs one scheduled push or pull, never two of one tenant at once",
        on_start=_ensure,
    )
