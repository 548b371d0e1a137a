"""Daily housekeeping: ``worker.prune_runs`` keeps :data:`KEEP_RUNS_DAYS` days of run
history, ``traffic.prune`` :data:`zohokit.traffic.KEEP_DAYS` days of the Zoho call history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..jobs import JobContext, Jobs, ensure_scheduled
from ..traffic import KEEP_DAYS, prune_call_hours

if TYPE_CHECKING:
    from .._zoho import Zoho

__all__ = ["KEEP_RUNS_DAYS", "PRUNE_CALLS", "PRUNE_RUNS", "register"]

PRUNE_RUNS = "worker.prune_runs"
PRUNE_CALLS = "traffic.prune"
KEEP_RUNS_DAYS = 14


async def prune_runs(ctx: JobContext[Zoho]) -> datetime:
    """Delete finished runs older than the kept days; run again a day later."""
    await ctx.zoho.jobs.store.prune_runs(before=ctx.now - timedelta(days=KEEP_RUNS_DAYS))
    return ctx.now + timedelta(days=1)


async def prune_calls(ctx: JobContext[Zoho]) -> datetime:
    """Delete the call history's hours older than the kept days; run again a day later."""
    await prune_call_hours(ctx.zoho.engine, before=ctx.now - timedelta(days=KEEP_DAYS))
    return ctx.now + timedelta(days=1)


def register(jobs: Jobs) -> None:
    """Register ``worker.prune_runs`` and ``traffic.prune`` on ``jobs``."""
    jobs.register(
        PRUNE_RUNS,
        prune_runs,
        description=f"deletes job runs older than {KEEP_RUNS_DAYS} days, daily",
        on_start=ensure_scheduled((PRUNE_RUNS, timedelta(hours=1))),
    )
    jobs.register(
        PRUNE_CALLS,
        prune_calls,
        description=f"deletes Zoho call history older than {KEEP_DAYS} days, daily",
        on_start=ensure_scheduled((PRUNE_CALLS, timedelta(hours=1))),
    )
