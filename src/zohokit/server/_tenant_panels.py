"""What the console's tenant page shows, read from the database (so every instance shows the
same, whoever did the work: the CLI, the worker, another instance): each provider's
connection, the tenant's Zoho calls per hour (:mod:`zohokit.traffic`), credits per day (the
budget's ledger) and budget, sync runs with their failures,
bookings, notification channels and webhook deliveries.

Each panel is one or two indexed queries bounded by a ``limit``, so a page costs the same with
5,000 tenants and 50,000 runs as with one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import select

from ..budget import BudgetState
from ..budget._tables import budget_credits
from ..notifications import Channel
from ..scheduling import Booking
from ..settings import PROVIDERS
from ..sync import RunReport
from ..tokens import ConnectionState, TokenStatus
from ..traffic import CallHour, calls_by_hour
from ..webhooks import Delivery
from ..worker._refresh import REFRESH_AHEAD, refresh_key
from ._connect import _LABELS
from ._models import connection_state
from ._state import ServiceState
from ._tables import Tenant

__all__ = ["Connection", "DayCredits", "RunView", "TenantPanels", "load_panels"]

#: How many of the latest runs, bookings and deliveries the page lists.
RECENT: Final = 20
#: How many hours of Zoho calls the chart shows (this hour last).
CALL_HOURS: Final = 24
#: How many days of credits the chart shows (today last).
CREDIT_DAYS: Final = 14
#: A channel closer than this to its expiry is shown as expiring (the worker renews ahead).
CHANNEL_WARNING: Final = timedelta(hours=24)
#: How many of a run's errors the page shows (the CLI's ``sync status`` shows them all).
FIRST_ERRORS: Final = 3


@dataclass(frozen=True, slots=True)
class Connection:
    """One provider's connection: its word, its snapshot (``None``: not connected) and when
    the next refresh comes, and who makes it."""

    provider: str
    label: str
    state: ConnectionState
    status: TokenStatus | None
    next_refresh: datetime | None
    #: ``"the worker"`` (a ``tokens.refresh_ahead`` job is due then), ``"the next call"``.
    refreshed_by: str | None


@dataclass(frozen=True, slots=True)
class DayCredits:
    """Credits one day spent, by lane (UTC days, as the budget's ledger counts them)."""

    day: str
    interactive: int = 0
    batch: int = 0


@dataclass(frozen=True, slots=True)
class RunView:
    """A sync run as the page shows it: the word (a run whose rows failed never reads plain
    "completed") and its first errors in words."""

    report: RunReport
    word: str
    first_errors: list[str]


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A notification channel, and whether it has expired or expires within a day."""

    channel: Channel
    expired: bool
    expiring: bool


@dataclass(slots=True)
class TenantPanels:
    """Everything the tenant page shows."""

    tenant: Tenant
    connections: list[Connection]
    #: Zoho calls per hour, the last :data:`CALL_HOURS` hours (every process's).
    calls: list[CallHour]
    credits: list[DayCredits]
    budget: BudgetState | None
    runs: list[RunView]
    bookings: list[Booking]
    channels: list[ChannelView]
    deliveries: list[Delivery]
    #: The budget's day, as the credit chart labels it.
    today: str = field(default="")


def run_view(report: RunReport) -> RunView:
    """The page's form of a run: ``completed_with_errors`` whenever a row failed, was parked
    or refused, even in a report saved before the ledger said so itself."""
    word: str = report.status
    troubled = report.failed or report.parked or report.invalid or report.errors
    if word == "completed" and troubled:
        word = "completed_with_errors"
    errors = sorted(report.errors.items(), key=lambda item: -item[1].count)
    lines = [
        f"{code} x{group.count}"
        + (f" (e.g. {group.example_key})" if group.example_key else "")
        + (f": {group.example_message}" if group.example_message else "")
        for code, group in errors[:FIRST_ERRORS]
    ]
    for problem in report.problems[: max(0, FIRST_ERRORS - len(lines))]:
        where = ", ".join(f"{k} {v}" for k, v in problem.items())
        lines.append(f"refused: {where}")
    return RunView(report, word, lines)


async def _connections(state: ServiceState, tenant: str) -> list[Connection]:
    found = {s.provider: s for s in await state.zoho.tokens.list_tokens(tenant=tenant)}
    now = state.epoch()
    out = []
    for provider in PROVIDERS:
        status = found.get(provider)
        word = connection_state(status, now)
        when: datetime | None = None
        by: str | None = None
        if status is not None and word not in ("needs_reauth", "revoked"):
            job = await state.zoho.jobs.store.get(REFRESH_AHEAD, refresh_key(tenant, provider))
            if job is not None:
                when, by = job.due_at, "the worker"
            elif status.expires_at is not None and status.has_access_token:
                moment = state.zoho.tokens.policy.refresh_at(
                    status.expires_at.timestamp(), tenant, provider
                )
                when, by = datetime.fromtimestamp(moment, UTC), "the next call"
        out.append(Connection(provider, _LABELS[provider], word, status, when, by))
    return out


def credit_days(today: date, days: int = CREDIT_DAYS) -> list[str]:
    """The last ``days`` UTC days up to ``today``, oldest first, as the ledger writes them."""
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


async def _credits(state: ServiceState, tenant: str, days: list[str]) -> list[DayCredits]:
    c = budget_credits.c
    stmt = select(c.day, c.lane, c.spent).where(c.tenant == tenant, c.day >= days[0])
    async with state.zoho.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    spent: dict[str, dict[str, int]] = {day: {} for day in days}
    for day, lane, n in rows:
        if day in spent:
            spent[day][lane] = spent[day].get(lane, 0) + int(n)
    return [
        DayCredits(day, by_lane.get("interactive", 0), by_lane.get("batch", 0))
        for day, by_lane in spent.items()
    ]


def _channel_view(channel: Channel, now: datetime) -> ChannelView:
    ends = channel.expires_at
    expired = ends is not None and ends <= now
    soon = not expired and ends is not None and ends - now < CHANNEL_WARNING
    return ChannelView(channel, expired, soon)


async def load_panels(state: ServiceState, tenant: Tenant) -> TenantPanels:
    """Every panel of ``tenant``'s page, from the database."""
    key = tenant.tenant
    now = datetime.fromtimestamp(state.epoch(), UTC)
    days = credit_days(now.date())
    budget = state.zoho.budget
    budgets = [] if budget is None else await budget.status(key)
    zoho = state.zoho
    return TenantPanels(
        tenant=tenant,
        connections=await _connections(state, key),
        calls=await calls_by_hour(state.zoho.engine, now=now, tenant=key, hours=CALL_HOURS),
        credits=await _credits(state, key, days),
        budget=budgets[0] if budgets else None,
        runs=[run_view(r) for r in await state.zoho.ledger.runs(tenant=key, limit=RECENT)],
        bookings=await state.zoho.bookings.list_bookings(key, newest_first=True, limit=RECENT),
        channels=[_channel_view(c, now) for c in await zoho.notifications.channels(key)],
        deliveries=await zoho.webhooks.deliveries(tenant=key, limit=RECENT),
        today=days[-1],
    )
