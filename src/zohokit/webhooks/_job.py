"""``webhooks.deliver``: the job kind that sends webhooks, run by the worker.

One recurring job (key ``all``): each run fans new outbox events out to the endpoints and
sends every delivery due, then asks to run again when the next retry is due, and at the
latest :data:`IDLE` later (new events wait at most that long). The engine runs it on one
worker at a time; the deliveries' own leases would keep two runs apart anyway. Every worker
makes sure the job exists as it starts. ``webhooks.prune`` (key ``all``, daily) forgets
finished deliveries, their log and their events after 30 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..jobs import JobContext, Jobs, ensure_scheduled
from ._service import Webhooks

__all__ = ["DELIVER", "IDLE", "PRUNE", "deliver_job", "prune_job", "register"]

DELIVER = "webhooks.deliver"
PRUNE = "webhooks.prune"
#: The longest an event waits for its first attempt when the worker is running.
IDLE = timedelta(seconds=2)


async def deliver_job(ctx: JobContext[Any]) -> datetime:
    """One delivery round on ``ctx.zoho.webhooks``; when to run the next."""
    webhooks: Webhooks = ctx.zoho.webhooks
    done = await webhooks.run_due()
    return await webhooks.next_round_at(done, idle=IDLE)


async def prune_job(ctx: JobContext[Any]) -> datetime:
    """Forget finished deliveries older than 30 days; run again a day later."""
    webhooks: Webhooks = ctx.zoho.webhooks
    await webhooks.prune()
    return ctx.now + timedelta(days=1)


def register(jobs: Jobs) -> None:
    """Register ``webhooks.deliver`` on ``jobs``."""
    jobs.register(
        DELIVER,
        deliver_job,
        # A round may send many deliveries, each bounded by its own timeout: the lease
        # renewal keeps a long round alive instead of a run timeout.
        timeout=None,
        description="sends outbox events to webhook endpoints, retrying for 24 hours",
        on_start=ensure_scheduled((DELIVER, timedelta(0)), (PRUNE, timedelta(hours=1))),
    )
    jobs.register(
        PRUNE, prune_job, description="forgets finished webhook deliveries after 30 days, daily"
    )
