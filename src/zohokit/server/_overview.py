"""The fleet overview, the console's landing page: what an operator reads first.

Every figure is read from the database, so the page says the same whichever instance serves
it and whoever did the work (``zohokit serve``, a worker, a CLI run elsewhere):

- tenants by health: how many tenants have a connection in each word of
  :func:`~zohokit.server._tenant_list.health_case` (the list's own status, so a number links
  to a filtered list with exactly that many rows), and how many have none;
- Zoho calls, 429 answers and failed calls hour by hour over the last 24 hours, from the call
  history every process writes (:mod:`zohokit.traffic`), and the tenants Zoho throttled most;
- credits used today against the orgs' daily budgets (:mod:`zohokit.budget`), and the orgs
  that used the largest share of theirs;
- the worker's jobs: due and not yet taken (the backlog), failed for good, and runs that
  failed in the last 24 hours;
- webhook deliveries that gave up, and those still retrying, with their last error.

A tenant-scoped session sees its own tenant's figures only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..budget import Budget, BudgetState
from ..budget._tables import budget_credits, budget_orgs
from ..events import outbox_events
from ..jobs import JobRun
from ..jobs._tables import job_runs, jobs
from ..tokens._store import oauth_tokens
from ..traffic import CallHour, TenantCalls, busiest_tenants, calls_by_hour
from ..webhooks._tables import webhook_deliveries, webhook_endpoints
from ._tables import tenants
from ._tenant_list import HEALTHS, health_case

__all__ = ["WINDOW_HOURS", "FailedDelivery", "JobsPanel", "Overview", "fleet_overview"]

#: The overview's window for traffic and failures.
WINDOW_HOURS: Final = 24
#: How many rows each "most" or "latest" list shows.
TOP: Final = 5


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A webhook delivery that gave up (``failed``) or is retrying (``pending`` after a
    failed attempt)."""

    id: str
    status: str
    tenant: str
    event_type: str
    url: str
    attempts: int
    last_error: str | None
    last_status_code: int | None
    last_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class JobsPanel:
    """The worker's jobs: ``backlog`` due and not taken, ``failed`` for good, the runs that
    failed (or were lost) in the window, and the latest of those."""

    backlog: int = 0
    running: int = 0
    failed: int = 0
    failed_runs: int = 0
    oldest_due: datetime | None = None
    latest_failures: list[JobRun] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the overview shows (see the module docstring)."""

    now: datetime
    tenants: int
    health: dict[str, int]
    hours: list[CallHour]
    throttled_most: list[TenantCalls]
    budgets: list[BudgetState]
    budget_orgs: int
    credits_used: int
    credits_daily: int
    jobs: JobsPanel
    deliveries_failed: int
    deliveries_retrying: int
    latest_deliveries: list[FailedDelivery]

    @property
    def total(self) -> CallHour:
        """The window's calls, 429 answers, failed calls (429s included) and credits, summed
        (its ``hour`` is the window's first)."""
        fields = ("calls", "throttled", "errors", "credits")
        sums = (sum(getattr(h, name) for h in self.hours) for name in fields)
        return CallHour(self.hours[0].hour, *sums)


async def _health(conn: AsyncConnection, now: datetime, only: str | None) -> dict[str, int]:
    """Tenants per health word (a tenant with two connections may count in two words), and
    ``not_connected``: tenants with no connection."""
    t, tc = oauth_tokens.c, tenants.c
    word = health_case(now)
    per_word = (
        select(word, func.count(t.tenant.distinct()))
        .select_from(oauth_tokens.join(tenants, tc.tenant == t.tenant))
        .group_by(word)
    )
    connected = select(func.count(t.tenant.distinct())).select_from(
        oauth_tokens.join(tenants, tc.tenant == t.tenant)
    )
    total = select(func.count()).select_from(tenants)
    if only is not None:
        per_word, connected = per_word.where(t.tenant == only), connected.where(t.tenant == only)
        total = total.where(tc.tenant == only)
    counts = {str(w): int(n) for w, n in (await conn.execute(per_word)).all()}
    everyone = int((await conn.execute(total)).scalar_one())
    counts["not_connected"] = everyone - int((await conn.execute(connected)).scalar_one())
    counts["tenants"] = everyone
    return {w: counts.get(w, 0) for w in (*HEALTHS, "tenants")}


async def _jobs(conn: AsyncConnection, now: datetime, only: str | None) -> JobsPanel:
    j, r = jobs.c, job_runs.c
    taken = and_(j.lease_owner.is_not(None), j.lease_expires_at > now)
    scope = [j.tenant == only] if only is not None else []
    backlog, oldest = (
        await conn.execute(
            select(func.count(), func.min(j.due_at)).where(j.due_at <= now, ~taken, *scope)
        )
    ).one()
    running = (await conn.execute(select(func.count()).where(taken, *scope))).scalar_one()
    failed = (
        await conn.execute(select(func.count()).where(j.failed_at.is_not(None), *scope))
    ).scalar_one()
    bad = [
        r.outcome.in_(("failed", "lost")),
        r.started_at >= now - timedelta(hours=WINDOW_HOURS),
        *([r.tenant == only] if only is not None else []),
    ]
    failed_runs = (await conn.execute(select(func.count()).where(*bad))).scalar_one()
    latest = (
        await conn.execute(
            select(
                r.kind,
                r.key,
                r.tenant,
                r.worker,
                r.attempt,
                r.started_at,
                r.finished_at,
                r.outcome,
                r.error,
            )
            .where(*bad)
            .order_by(r.id.desc())
            .limit(TOP)
        )
    ).all()
    return JobsPanel(
        backlog=int(backlog),
        running=int(running),
        failed=int(failed),
        failed_runs=int(failed_runs),
        oldest_due=oldest,
        latest_failures=[JobRun(**row._mapping) for row in latest],
    )


async def _deliveries(
    conn: AsyncConnection, only: str | None
) -> tuple[int, int, list[FailedDelivery]]:
    d, e, w = webhook_deliveries.c, outbox_events.c, webhook_endpoints.c
    joined = webhook_deliveries.join(outbox_events, e.id == d.event_id)
    scope = [e.tenant == only] if only is not None else []
    failed = d.status == "failed"
    retrying = and_(d.status == "pending", d.attempts > 0)
    counts = {}
    for name, where in (("failed", failed), ("retrying", retrying)):
        stmt = select(func.count()).select_from(joined).where(where, *scope)
        counts[name] = int((await conn.execute(stmt)).scalar_one())
    latest = (
        await conn.execute(
            select(
                d.id,
                d.status,
                e.tenant,
                e.type,
                w.url,
                d.attempts,
                d.last_error,
                d.last_status_code,
                d.last_attempt_at,
            )
            .select_from(joined.join(webhook_endpoints, w.id == d.endpoint_id))
            .where(failed | retrying, *scope)
            .order_by(d.last_attempt_at.desc())
            .limit(TOP)
        )
    ).all()
    return counts["failed"], counts["retrying"], [FailedDelivery(*row) for row in latest]


async def _credits(
    conn: AsyncConnection, day: str, only: str | None
) -> tuple[int, int, int, list[str]]:
    """Orgs budgeted, credits used on ``day`` and their daily budgets (summed), and the
    tenants that used the largest share of theirs, in SQL: the fleet may hold thousands."""
    o, c = budget_orgs.c, budget_credits.c
    spent = (
        select(c.tenant, func.sum(c.spent).label("spent"))
        .where(c.day == day)
        .group_by(c.tenant)
        .subquery()
    )
    paid = func.coalesce(spent.c.spent, 0)
    told = case((o.zoho_day == day, func.coalesce(o.zoho_used, 0)), else_=0)
    used = case((told > paid, told), else_=paid)
    base = select().select_from(budget_orgs.outerjoin(spent, spent.c.tenant == o.tenant))
    if only is not None:
        base = base.where(o.tenant == only)
    orgs, total_used, daily = (
        await conn.execute(
            base.add_columns(func.count(), func.sum(used), func.sum(o.daily_credits))
        )
    ).one()
    share = used * 1.0 / case((o.daily_credits > 0, o.daily_credits), else_=1)
    top = await conn.execute(
        base.add_columns(o.tenant).where(used > 0).order_by(share.desc(), o.tenant).limit(TOP)
    )
    return int(orgs), int(total_used or 0), int(daily or 0), [str(r[0]) for r in top]


async def fleet_overview(
    conn: AsyncConnection,
    *,
    now: datetime,
    budget: Budget | None,
    only: str | None = None,
) -> Overview:
    """The overview at ``now`` on ``conn`` (for tenant ``only`` when set); ``budget`` is the
    fleet budget (``None``: it is off)."""
    health = await _health(conn, now, only)
    hours = await calls_by_hour(conn, now=now, tenant=only, hours=WINDOW_HOURS)
    throttled_most = (
        []
        if only is not None
        else await busiest_tenants(conn, now=now, hours=WINDOW_HOURS, by="throttled", limit=TOP)
    )
    panel = await _jobs(conn, now, only)
    failed, retrying, latest = await _deliveries(conn, only)
    orgs = used = daily = 0
    states: list[BudgetState] = []
    if budget is not None:
        orgs, used, daily, top = await _credits(conn, budget.day(), only)
        for tenant in top:
            states += await budget.status(tenant)
    return Overview(
        now=now,
        tenants=health.pop("tenants"),
        health=health,
        hours=hours,
        throttled_most=throttled_most,
        budgets=states,
        budget_orgs=orgs,
        credits_used=used,
        credits_daily=daily,
        jobs=panel,
        deliveries_failed=failed,
        deliveries_retrying=retrying,
        latest_deliveries=latest,
    )
