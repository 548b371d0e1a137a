"""The job engine behind ``zohokit worker``: durable jobs in the database, leased to one
worker at a time, with a row per run.

Register a kind on a root and schedule jobs of it; run :class:`Worker` (``zohokit worker``,
or ``zohokit serve --worker``) wherever the work should happen::

    from zohokit.worker import JobContext, Worker

    async def ping(ctx: JobContext) -> datetime | None:
        await ctx.zoho.crm(ctx.job.tenant).get_records("Leads", per_page=1)
        return ctx.now + timedelta(minutes=10)       # again in ten minutes

    zoho.jobs.register("app.ping", ping)
    await zoho.jobs.schedule("app.ping", "acme", tenant="acme")
    await Worker(zoho).run()                          # until worker.stop()

``docs/worker.md`` tells how to run it on one host and on several, and lists every kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from ..jobs import CHANNEL, Handler, Job, JobKind, JobRun, Jobs, KindStatus, StartHook, schedule
from ..jobs import JobContext as _JobContext
from ._loop import Worker

if TYPE_CHECKING:
    from .._zoho import Zoho

#: What a handler is given: ``zoho`` (the root), ``job`` (kind, key, tenant, payload,
#: attempts) and ``now`` (the root's clock when the job was claimed).
JobContext: TypeAlias = _JobContext["Zoho"]

__all__ = [
    "CHANNEL",
    "Handler",
    "Job",
    "JobContext",
    "JobKind",
    "JobRun",
    "Jobs",
    "KindStatus",
    "StartHook",
    "Worker",
    "schedule",
]
