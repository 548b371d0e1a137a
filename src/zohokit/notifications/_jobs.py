"""The notification job kinds, as the worker runs them: each a handler
``async def handler(ctx) -> datetime | None`` (when to run again; ``None``: done).

- ``notifications.renew`` (key ``all``): renews every channel due within a day; runs again
  when the next one is due.
- ``notifications.inbox`` (key: a tenant, or ``all``): processes pending notifications;
  ``zohokit serve`` also processes them at once, this job is the durable path, every
  :data:`INBOX_EVERY`; the ``all`` job also forgets notifications processed a week ago.
- ``notifications.reconcile`` (key ``tenant:module``, ``payload`` ``{"tenant", "module"}``):
  the reconcile pull, every :data:`~zohokit.notifications.RECONCILE_INTERVAL`.

A handler that raises records a failed run and is retried with backoff by the engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from ._service import RECONCILE_INTERVAL, Notifications

__all__ = ["INBOX_EVERY", "JOB_KINDS", "inbox_job", "reconcile_job", "renew_job"]

#: How often the inbox job looks for notifications the server did not process itself.
INBOX_EVERY = timedelta(seconds=30)


class _Job(Protocol):
    kind: str
    key: str
    tenant: str | None
    payload: dict[str, Any]


class _Root(Protocol):
    @property
    def notifications(self) -> Notifications: ...


class JobContext(Protocol):
    """What a handler is given (the worker's ``JobContext`` has these fields)."""

    @property
    def zoho(self) -> _Root: ...
    @property
    def job(self) -> _Job: ...

    @property
    def now(self) -> datetime: ...


async def renew_job(ctx: JobContext) -> datetime | None:
    """Renew the channels that are due; run again when the next one is."""
    return await ctx.zoho.notifications.renew_due(now=ctx.now)


async def inbox_job(ctx: JobContext) -> datetime | None:
    """Process the pending notifications of the job's tenant (or all)."""
    tenant = ctx.job.tenant or (None if ctx.job.key == "all" else ctx.job.key)
    await ctx.zoho.notifications.process(tenant)
    if tenant is None:
        await ctx.zoho.notifications.prune()
    return ctx.now + INBOX_EVERY


async def reconcile_job(ctx: JobContext) -> datetime | None:
    """Pull what changed in one tenant's module since the last reconcile."""
    payload = ctx.job.payload
    tenant = str(payload.get("tenant") or ctx.job.tenant or "")
    module = str(payload.get("module") or "")
    if not tenant or not module:
        tenant, _, module = ctx.job.key.partition(":")
    await ctx.zoho.notifications.reconcile(tenant, module)
    return ctx.now + RECONCILE_INTERVAL


#: Every job kind of this package and its handler.
JOB_KINDS = {
    "notifications.renew": renew_job,
    "notifications.inbox": inbox_job,
    "notifications.reconcile": reconcile_job,
}
