"""The job kinds zohokit itself runs, installed on every root's ``zoho.jobs``.

Each part that keeps tenants alive adds one line here (its ``register(jobs)`` function), so
``zohokit worker`` and ``zohokit serve --worker`` run every kind without further wiring.
Imports are inside :func:`install`: the parts import the worker package, not the reverse at
import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..jobs import Jobs

__all__ = ["install"]


def install(jobs: Jobs) -> None:
    """Register zohokit's own job kinds on ``jobs`` (once: a second call does nothing)."""
    from ._bookings import register as bookings
    from ._housekeeping import PRUNE_RUNS
    from ._housekeeping import register as housekeeping
    from ._refresh import register as refresh

    if PRUNE_RUNS in jobs.kinds:
        return

    housekeeping(jobs)
    refresh(jobs)
    bookings(jobs)
    from ..notifications import register as notifications

    notifications(jobs)
    from ..webhooks import register as webhooks

    webhooks(jobs)
    from ..sync._schedule_job import register as scheduled_syncs

    scheduled_syncs(jobs)
