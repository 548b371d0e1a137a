"""Refresh ahead: ``tokens.refresh_ahead`` keeps each connection's token fresh, and
``tokens.refresh_sweep`` makes sure every connection has that job.

Each (tenant, provider) with a refresh token has one ``tokens.refresh_ahead`` job, due at its
token's :meth:`~zohokit.tokens.RefreshPolicy.ahead_at` moment: before any caller's refresh
moment, spread per tenant over ``ahead`` seconds (10 minutes by default), so a fleet of
tenants connected at once refreshes one by one rather than in a burst. The refresh itself is
the token service's (:meth:`~zohokit.tokens.OAuthTokenService.refresh_ahead`): under the same
fleet-wide lease as callers' refreshes, respecting cooldowns, so one refresh token mints one
access token per expiry, well inside Zoho's 10 per 10 minutes and 15 live. A connection that
needs re-authorization or was revoked ends its job; the sweep (every 5 minutes, and at each
worker's start) adds jobs for new connections.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .._clock import epoch
from ..jobs import JobContext, Jobs, ensure_scheduled

if TYPE_CHECKING:
    from .._zoho import Zoho

__all__ = ["REFRESH_AHEAD", "REFRESH_SWEEP", "SWEEP_EVERY", "refresh_key", "register"]

REFRESH_AHEAD = "tokens.refresh_ahead"
REFRESH_SWEEP = "tokens.refresh_sweep"
#: How often the sweep looks for connections without a refresh job.
SWEEP_EVERY = timedelta(minutes=5)


def refresh_key(tenant: str, provider: str) -> str:
    """The job key of one connection's refresh."""
    return f"{provider}:{tenant}"


async def refresh_ahead(ctx: JobContext[Zoho]) -> datetime | None:
    """Refresh one connection's token if it is due; run again at the next moment."""
    payload = ctx.job.payload
    return await ctx.zoho.tokens.refresh_ahead(payload["tenant"], payload["provider"])


async def sweep(zoho: Zoho) -> int:
    """Schedule a refresh job for every healthy connection that has none; how many."""
    have = await zoho.jobs.store.keys(REFRESH_AHEAD)
    now = epoch(zoho.clock)()
    added = 0
    for status in await zoho.tokens.list_tokens():
        key = refresh_key(status.tenant, status.provider)
        if key in have or status.status != "active" or not status.has_refresh_token:
            continue
        due = zoho.clock()
        if status.expires_at is not None and status.has_access_token:
            moment = zoho.tokens.policy.ahead_at(
                status.expires_at.timestamp(), status.tenant, status.provider
            )
            due += timedelta(seconds=max(0.0, moment - now))
        await zoho.jobs.schedule(
            REFRESH_AHEAD,
            key,
            due,
            tenant=status.tenant,
            payload={"tenant": status.tenant, "provider": status.provider},
            if_absent=True,
        )
        added += 1
    return added


async def _sweep_job(ctx: JobContext[Zoho]) -> datetime:
    await sweep(ctx.zoho)
    return ctx.now + SWEEP_EVERY


def register(jobs: Jobs) -> None:
    """Register ``tokens.refresh_ahead`` and ``tokens.refresh_sweep`` on ``jobs``."""
    jobs.register(
        REFRESH_AHEAD,
        refresh_ahead,
        lease=60.0,
        timeout=30.0,
        retry_base=30.0,
        retry_cap=600.0,
        description="refreshes one connection's token before any caller's refresh moment",
    )
    jobs.register(
        REFRESH_SWEEP,
        _sweep_job,
        lease=120.0,
        description="adds a refresh job for every connection without one, every 5 minutes",
        on_start=ensure_scheduled((REFRESH_SWEEP, timedelta(0))),
    )
