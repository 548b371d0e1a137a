"""Run a piece of work while holding a lease: renew it as the work goes, stop the work if lost.

The worker holds a job's lease this way, and a scheduled sync its tenant's guard: the lease is
renewed every ``every`` seconds (a third of its length, so two renewals may fail before it
runs out); a renewal that finds it taken by someone else cancels the work at once and
:func:`run_leased` raises :class:`LeaseLost`, so two holders never go on side by side. A
database that is away is tried again at the next renewal: until the lease runs out nobody
else can take it, so the bound on an overlap still holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ..errors import StorageUnavailable

__all__ = ["LeaseLost", "run_leased"]

T = TypeVar("T")


class LeaseLost(Exception):
    """The lease :func:`run_leased` held was taken by another holder; the work was cancelled.

    Caught where the lease is held (the worker records the run as ``lost``; a scheduled sync
    raises :class:`~zohokit.sync.TenantGuardLost`), never seen by a user."""


async def run_leased(
    work: Coroutine[Any, Any, T], *, renew: Callable[[], Awaitable[bool]], every: float
) -> T:
    """Run ``work`` while calling ``renew`` every ``every`` seconds (``False``: the lease is
    lost); its result, or :class:`LeaseLost` once a renewal lost the lease.

    A cancellation from outside (a shutdown) stays a cancellation, lease lost or not.
    """
    task = asyncio.ensure_future(work)
    lost = asyncio.Event()

    async def keep() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                held = await renew()
            except StorageUnavailable:
                continue  # the database is away: the lease still bounds the overlap
            if not held:
                lost.set()
                task.cancel()
                return

    keeper = asyncio.ensure_future(keep())
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if lost.is_set() and current is not None and not current.cancelling():
            raise LeaseLost from None
        raise
    finally:
        keeper.cancel()
        if not task.done():
            task.cancel()
        # Both have ended when the call returns: a cancelled work's clean-up (a rollback, a
        # ledger write) and a renewal in flight finish before the caller releases the lease,
        # and a shutdown does not find them still pending on a loop being closed.
        await asyncio.gather(keeper, task, return_exceptions=True)
