"""Durable jobs in the database: the tables, :func:`schedule`, and the registry of kinds
(``zoho.jobs``).

This part sits below the root: anything may schedule work here, in its own transaction. The
loop that runs the jobs is :class:`zohokit.worker.Worker` (an edge, like the server), and
``zohokit.worker`` re-exports these names with :class:`JobContext` typed on
:class:`zohokit.Zoho`. ``docs/worker.md`` describes both.
"""

from __future__ import annotations

from ._models import (
    Handler,
    Job,
    JobContext,
    JobKind,
    JobRun,
    KindStatus,
    StartHook,
    ensure_scheduled,
)
from ._registry import Jobs
from ._store import CHANNEL, JobOptions, JobStore, schedule
from ._views import RunFilter

__all__ = [
    "CHANNEL",
    "Handler",
    "Job",
    "JobContext",
    "JobKind",
    "JobOptions",
    "JobRun",
    "JobStore",
    "Jobs",
    "KindStatus",
    "RunFilter",
    "StartHook",
    "ensure_scheduled",
    "schedule",
]
