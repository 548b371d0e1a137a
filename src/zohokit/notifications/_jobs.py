"""The notification job kinds, run by the worker (``zohokit worker``, ``zohokit serve
--worker``); :func:`register` puts them on a root's ``zoho.jobs`` (the worker installs them
with zohokit's other kinds).

- ``notifications.renew`` (key ``all``): renews every channel due within a day; runs again
  when the next one is due. Every worker makes sure it exists as it starts.
- ``notifications.inbox`` (key ``all``, every :data:`INBOX_EVERY`): processes whatever
  notifications are pending and forgets those processed a week ago. Storing a notification
  also schedules the job of its tenant (key: the tenant, run once, in the transaction that
  stores it), so a notification the service could not process itself waits for no sweep.
- ``notifications.reconcile`` (key ``tenant:module``): the reconcile pull, every
  :data:`~zohokit.notifications.RECONCILE_INTERVAL`, scheduled when the channel is enabled
  and finished once it is disabled.

A handler that raises records a failed run and is retried with backoff by the engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..jobs import JobContext, Jobs, ensure_scheduled
from ._channels import RECONCILE_INTERVAL

__all__ = [
    "INBOX",
    "INBOX_EVERY",
    "JOB_KINDS",
    "RECONCILE",
    "RENEW",
    "inbox_job",
    "reconcile_job",
    "register",
    "renew_job",
]

RENEW = "notifications.renew"
INBOX = "notifications.inbox"
RECONCILE = "notifications.reconcile"
#: How often the sweeping inbox job looks for notifications nobody processed.
INBOX_EVERY = timedelta(seconds=30)


async def renew_job(ctx: JobContext[Any]) -> datetime | None:
    """Renew the channels that are due; run again when the next one is (or in a day)."""
    due = await ctx.zoho.notifications.renew_due(now=ctx.now)
    next_run: datetime = due if due is not None else ctx.now + timedelta(days=1)
    return next_run


async def inbox_job(ctx: JobContext[Any]) -> datetime | None:
    """Process the pending notifications of the job's tenant (key ``all``: of everyone, and
    prune; it runs again)."""
    notifications = ctx.zoho.notifications
    if ctx.job.key == "all":
        await notifications.process()
        await notifications.prune()
        return ctx.now + INBOX_EVERY
    await notifications.process(ctx.job.tenant or ctx.job.key)
    return None


async def reconcile_job(ctx: JobContext[Any]) -> datetime | None:
    """Pull what changed in one tenant's module since the last reconcile; finished once the
    module has no active channel."""
    payload = ctx.job.payload
    tenant, _, module = ctx.job.key.partition(":")
    tenant = str(payload.get("tenant") or tenant)
    module = str(payload.get("module") or module)
    notifications = ctx.zoho.notifications
    if not any(
        c.module == module and c.status == "active" for c in await notifications.channels(tenant)
    ):
        return None
    await notifications.reconcile(tenant, module)
    next_run: datetime = ctx.now + RECONCILE_INTERVAL
    return next_run


#: Every job kind of this package and its handler.
JOB_KINDS = {RENEW: renew_job, INBOX: inbox_job, RECONCILE: reconcile_job}


def register(jobs: Jobs) -> None:
    """Register the notification kinds on ``jobs``."""
    jobs.register(
        RENEW,
        renew_job,
        description="renews Zoho CRM notification channels a day before they expire",
        on_start=ensure_scheduled((RENEW, timedelta(0)), (INBOX, INBOX_EVERY)),
    )
    jobs.register(
        INBOX,
        inbox_job,
        description="turns received notifications into fetched records, handlers, events",
    )
    jobs.register(
        RECONCILE,
        reconcile_job,
        timeout=1800.0,
        description="the reconcile pull of a watched module, so no change is lost",
    )
