"""``worker.prune_runs``: the run history keeps :data:`KEEP_RUNS_DAYS` days, pruned daily."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..jobs import JobContext, Jobs

if TYPE_CHECKING:
    from .._zoho import Zoho

__all__ = ["KEEP_RUNS_DAYS", "PRUNE_RUNS", "register"]

PRUNE_RUNS = "worker.prune_runs"
KEEP_RUNS_DAYS = 14


async def prune_runs(ctx: JobContext[Zoho]) -> datetime:
    """Delete finished runs older than the kept days; run again a day later."""
    await ctx.zoho.jobs.store.prune_runs(before=ctx.now - timedelta(days=KEEP_RUNS_DAYS))
    return ctx.now + timedelta(days=1)


async def _ensure(zoho: Zoho) -> None:
    await zoho.jobs.schedule(PRUNE_RUNS, "all", zoho.clock() + timedelta(hours=1), if_absent=True)


def register(jobs: Jobs) -> None:
    """Register ``worker.prune_runs`` on ``jobs``."""
    jobs.register(
        PRUNE_RUNS,
        prune_runs,
        description=f"deletes job runs older than {KEEP_RUNS_DAYS} days, daily",
        on_start=_ensure,
    )
