"""``bookings.retry_pending``: bookings Zoho does not reflect yet are finished by the worker.

One job for the whole fleet (key ``all``): every minute it runs the booking flow's own retry
(:meth:`~zohokit.scheduling.BookingService.retry_pending`: per-booking leases, the event and
the CRM record written idempotently, so nothing is created twice). While a booking stays
pending (Zoho still failing) the run fails and the engine retries with backoff, from
:data:`RETRY_BASE` seconds up to :data:`RETRY_CAP`; once every booking is complete it is back
to its one-minute look.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..errors import ZohoError
from ..jobs import JobContext, Jobs, ensure_scheduled

if TYPE_CHECKING:
    from .._zoho import Zoho

__all__ = ["RETRY_PENDING", "register"]

RETRY_PENDING = "bookings.retry_pending"
EVERY = timedelta(minutes=1)
RETRY_BASE = 5.0
RETRY_CAP = 300.0


class BookingsStillPending(ZohoError):
    """Some bookings could not be finished yet (Zoho is still failing); retried."""


async def retry_pending(ctx: JobContext[Zoho]) -> datetime:
    """Finish every pending booking; fail (and back off) while some stay pending."""
    tried = await ctx.zoho.bookings.retry_pending()
    left = [b for b in tried if b.status != "complete"]
    if left:
        reasons = sorted({b.pending_reason or b.status for b in left})
        raise BookingsStillPending(
            f"{len(left)} booking(s) still pending: {'; '.join(reasons)[:300]}"
        )
    return ctx.now + EVERY


def register(jobs: Jobs) -> None:
    """Register ``bookings.retry_pending`` on ``jobs``."""
    jobs.register(
        RETRY_PENDING,
        retry_pending,
        lease=120.0,
        retry_base=RETRY_BASE,
        retry_cap=RETRY_CAP,
        description="finishes pending bookings (event + CRM record), with backoff while Zoho fails",
        on_start=ensure_scheduled((RETRY_PENDING, timedelta(0))),
    )
