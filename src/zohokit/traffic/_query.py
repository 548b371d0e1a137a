"""Reading the call history: hour by hour for a chart, the tenants that called most, and
the prune that keeps :data:`KEEP_DAYS` days.

Every figure is a sum over ``zoho_call_hours``, which every process of the fleet writes, so a
page shows the same numbers whichever instance serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ._recorder import hour_of
from ._tables import call_hours

__all__ = [
    "KEEP_DAYS",
    "MAX_HOURS",
    "CallHour",
    "TenantCalls",
    "busiest_tenants",
    "calls_by_hour",
    "prune_call_hours",
]

#: How many days of hours the history keeps (the worker's ``traffic.prune`` deletes older).
KEEP_DAYS: Final = 14
#: The longest window a chart may ask for.
MAX_HOURS: Final = KEEP_DAYS * 24

Source = AsyncEngine | AsyncConnection


@dataclass(frozen=True, slots=True)
class CallHour:
    """What was sent to Zoho in one hour (``hour`` is its start, UTC): attempts (retries
    included), how many Zoho answered 429, how many failed in any way, their credits."""

    hour: datetime
    calls: int = 0
    throttled: int = 0
    errors: int = 0
    credits: int = 0


@dataclass(frozen=True, slots=True)
class TenantCalls:
    """One tenant's calls over a window (see :func:`busiest_tenants`)."""

    tenant: str
    calls: int
    throttled: int
    errors: int
    credits: int


def _window(hours: int, now: datetime) -> tuple[datetime, datetime]:
    if not 1 <= hours <= MAX_HOURS:
        raise ValueError(f"hours: from 1 to {MAX_HOURS}, got {hours}")
    last = hour_of(now)
    return last - timedelta(hours=hours - 1), last


def _scope(first: datetime, tenant: str | None, provider: str | None) -> list[ColumnElement[bool]]:
    c = call_hours.c
    where = [c.hour >= first]
    if tenant is not None:
        where.append(c.tenant == tenant)
    if provider is not None:
        where.append(c.provider == provider)
    return where


_SUMS = (
    func.sum(call_hours.c.calls),
    func.sum(call_hours.c.throttled),
    func.sum(call_hours.c.errors),
    func.sum(call_hours.c.credits),
)


async def _rows(source: Source, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    if isinstance(source, AsyncEngine):
        async with source.connect() as conn:
            return [tuple(r) for r in await conn.execute(stmt)]
    return [tuple(r) for r in await source.execute(stmt)]


def _ints(counts: list[Any]) -> tuple[int, int, int, int]:
    calls, throttled, errors, credits = (int(n or 0) for n in counts)
    return calls, throttled, errors, credits


async def calls_by_hour(
    source: Source,
    *,
    now: datetime,
    tenant: str | None = None,
    provider: str | None = None,
    hours: int = 24,
) -> list[CallHour]:
    """The last ``hours`` hours up to the one ``now`` is in, oldest first, one
    :class:`CallHour` each (hours with no call are zeros), for one tenant or the whole fleet
    and one provider (``crm``, ``calendar``, ``accounts``) or all.
    ``ValueError`` for a window outside 1 to :data:`MAX_HOURS` hours."""
    first, _ = _window(hours, now)
    c = call_hours.c
    stmt = select(c.hour, *_SUMS).where(*_scope(first, tenant, provider)).group_by(c.hour)
    found = {hour: _ints(counts) for hour, *counts in await _rows(source, stmt)}
    hours_ = [first + timedelta(hours=i) for i in range(hours)]
    return [CallHour(h, *found.get(h, (0, 0, 0, 0))) for h in hours_]


async def busiest_tenants(
    source: Source,
    *,
    now: datetime,
    hours: int = 24,
    by: Literal["calls", "throttled", "errors", "credits"] = "calls",
    limit: int = 5,
) -> list[TenantCalls]:
    """The ``limit`` tenants with the most ``by`` over the last ``hours`` hours, most
    first (tenants with none of it are left out)."""
    first, _ = _window(hours, now)
    c = call_hours.c
    order = {"calls": _SUMS[0], "throttled": _SUMS[1], "errors": _SUMS[2], "credits": _SUMS[3]}
    if by not in order:
        raise ValueError(f"by: one of {', '.join(order)}, got {by!r}")
    stmt = (
        select(c.tenant, *_SUMS)
        .where(*_scope(first, None, None))
        .group_by(c.tenant)
        .having(order[by] > 0)
        .order_by(order[by].desc(), c.tenant)
        .limit(limit)
    )
    return [TenantCalls(str(t), *_ints(counts)) for t, *counts in await _rows(source, stmt)]


async def prune_call_hours(engine: AsyncEngine, *, before: datetime) -> int:
    """Delete the hours that started before ``before``; how many rows went."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(call_hours).where(call_hours.c.hour < before))
    return int(result.rowcount or 0)
