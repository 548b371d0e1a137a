"""A fleet of tenants in mixed states, written by bulk inserts (5,000 tenants in well under a
second), and what the console must show for it, worked out here from how it was built.

Tenant ``i`` is ``t{i:05d}``, named ``Company i`` (``Acme Widgets i`` every 500th). Its CRM
connection is in state ``STATES[i % 6]``; every third connected tenant also has a healthy
Calendar connection. The first :data:`TRAFFIC_TENANTS` tenants called Zoho over the last day
(some were throttled, some failed); the worker has a backlog, running and failed jobs and
failed runs; webhook deliveries gave up or are retrying; a few orgs spent credits today.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from zohokit.budget._tables import budget_credits, budget_orgs
from zohokit.events import outbox_events
from zohokit.jobs._tables import job_runs, jobs
from zohokit.server._tables import tenants
from zohokit.tokens._store import oauth_tokens
from zohokit.traffic import call_hours, hour_of
from zohokit.webhooks._tables import webhook_deliveries, webhook_endpoints

__all__ = ["STATES", "Fleet", "name_of", "seed_fleet", "token_row"]

#: Tenant i's CRM connection, by i % 6.
STATES = ("healthy", "expiring", "cooldown", "needs_reauth", "revoked", "not_connected")
TRAFFIC_TENANTS = 300


@dataclass
class Fleet:
    """What was written, and so what the console must show."""

    now: datetime
    size: int
    #: Tenants with a connection in each state (``not_connected``: with none).
    health: dict[str, int] = field(default_factory=dict)
    #: Fleet-wide calls, 429s, failed calls per hour, oldest first (24 hours to ``now``).
    calls: list[int] = field(default_factory=list)
    throttled: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    credits: int = 0
    throttled_most: list[str] = field(default_factory=list)
    jobs_backlog: int = 0
    jobs_running: int = 0
    jobs_failed: int = 0
    job_runs_failed: int = 0
    deliveries_failed: int = 0
    deliveries_retrying: int = 0
    budget_orgs: int = 0
    credits_used: int = 0
    credits_daily: int = 0


def name_of(i: int) -> str:
    """Tenant i's display name."""
    return f"Acme Widgets {i}" if i % 500 == 0 else f"Company {i}"


def token_row(i: int, now: datetime) -> dict[str, object] | None:
    """Tenant i's CRM connection row in state ``STATES[i % 6]`` (``None``: not connected)."""
    word = STATES[i % 6]
    if word == "not_connected":
        return None
    return {
        "tenant": f"t{i:05d}",
        "provider": "zoho_crm",
        "source": "connect",
        "status": {"needs_reauth": "needs_reauth", "revoked": "revoked"}.get(word, "active"),
        "expires_at": now + (timedelta(minutes=2) if word == "expiring" else timedelta(hours=1)),
        "cooldown_until": now + timedelta(minutes=9) if word == "cooldown" else None,
        "created_at": now,
        "updated_at": now,
    }


async def seed_fleet(engine: AsyncEngine, now: datetime, size: int = 5000) -> Fleet:
    """Write the fleet to a migrated database at ``engine``; returns what must show."""
    fleet = Fleet(now=now, size=size)
    epoch = now.timestamp()
    rows = [
        {"tenant": f"t{i:05d}", "name": name_of(i), "data_center": "us", "created_at": epoch - i}
        for i in range(size)
    ]
    crm = [t for i in range(size) if (t := token_row(i, now)) is not None]
    calendar = [
        {**t, "provider": "zoho_calendar", "status": "active", "cooldown_until": None}
        for t in crm[::3]
    ]
    for t in calendar:
        t["expires_at"] = now + timedelta(hours=1)
    states: dict[str, set[str]] = {word: set() for word in STATES}
    for i in range(size):
        states[STATES[i % 6]].add(f"t{i:05d}")
    states["healthy"] |= {str(t["tenant"]) for t in calendar}
    fleet.health = {word: len(names) for word, names in states.items()}

    this_hour = hour_of(now)
    traffic, per_tenant = [], Counter[str]()
    calls, throttled, errors = [0] * 24, [0] * 24, [0] * 24
    for i in range(min(TRAFFIC_TENANTS, size)):
        for back in range(30):
            if (i + back) % 4:
                continue
            n, t429 = 10 + i % 7, (i % 5 == 0) * (1 + i % 3)
            bad = t429 + (i % 11 == 0)
            traffic.append(
                {
                    "tenant": f"t{i:05d}",
                    "provider": "crm",
                    "hour": this_hour - timedelta(hours=back),
                    "calls": n,
                    "throttled": t429,
                    "errors": bad,
                    "credits": n,
                }
            )
            if back < 24:  # the older hours are outside the overview's window
                calls[23 - back] += n
                throttled[23 - back] += t429
                errors[23 - back] += bad
                fleet.credits += n
                per_tenant[f"t{i:05d}"] += t429
    fleet.calls, fleet.throttled, fleet.errors = calls, throttled, errors
    ranked = sorted((-n, t) for t, n in per_tenant.items() if n)
    fleet.throttled_most = [t for _, t in ranked[:5]]

    job_rows = []
    for n, (due, lease, failed) in enumerate(
        [(now - timedelta(minutes=m), None, None) for m in range(1, 8)]  # 7 due, waiting
        + [(now - timedelta(minutes=1), now + timedelta(minutes=1), None)] * 3  # running
        + [(None, None, now - timedelta(hours=2))] * 2  # failed for good
        + [(now + timedelta(hours=1), None, None)] * 5  # later
    ):
        job_rows.append(
            {
                "kind": "sync.scheduled",
                "key": f"k{n}",
                "tenant": f"t{n:05d}",
                "due_at": due,
                "payload": {},
                "attempts": 0,
                "generation": 1,
                "lease_owner": "worker-1" if lease else None,
                "lease_expires_at": lease,
                "last_error": "boom" if failed else None,
                "failed_at": failed,
                "created_at": now,
                "updated_at": now,
            }
        )
    fleet.jobs_backlog, fleet.jobs_running, fleet.jobs_failed = 7, 3, 2
    runs = []
    for n, (outcome, ago) in enumerate(
        [("failed", 1)] * 4 + [("lost", 3)] + [("failed", 50)] * 2 + [("ok", 1)] * 10
    ):
        runs.append(
            {
                "kind": "tokens.refresh",
                "key": f"t{n:05d}/zoho_crm",
                "tenant": f"t{n:05d}",
                "worker": "worker-1",
                "attempt": 1,
                "started_at": now - timedelta(hours=ago, minutes=n),
                "finished_at": now - timedelta(hours=ago, minutes=n) + timedelta(seconds=1),
                "outcome": outcome,
                "error": f"RefreshFailed: run {n}" if outcome != "ok" else None,
            }
        )
    fleet.job_runs_failed = 5

    endpoint = {
        "id": "we_1",
        "url": "https://hooks.example.com/zohokit",
        "description": "",
        "tenant": None,
        "event_types": "[]",
        "secret_enc": "sealed",
        "enabled": True,
        "created_at": now,
        "updated_at": now,
    }
    events, deliveries = [], []
    for n, (status, attempts) in enumerate(
        [("failed", 12)] * 3 + [("pending", 2)] * 2 + [("pending", 0)] * 4 + [("succeeded", 1)] * 5
    ):
        events.append(
            {
                "id": f"msg_{n}",
                "type": "booking.created",
                "tenant": f"t{n:05d}",
                "created_at": now - timedelta(hours=1),
                "data": json.dumps({}),
                "dispatched_at": now - timedelta(hours=1),
            }
        )
        deliveries.append(
            {
                "id": f"wd_{n}",
                "endpoint_id": "we_1",
                "event_id": f"msg_{n}",
                "status": status,
                "attempts": attempts,
                "next_attempt_at": now + timedelta(minutes=5) if status == "pending" else None,
                "round_started_at": now - timedelta(hours=1),
                "last_attempt_at": now - timedelta(minutes=n) if attempts else None,
                "last_status_code": 503 if attempts and status != "succeeded" else None,
                "last_error": "receiver answered 503" if status != "succeeded" else None,
                "created_at": now - timedelta(hours=1),
                "updated_at": now,
            }
        )
    fleet.deliveries_failed, fleet.deliveries_retrying = 3, 2

    day = now.date().isoformat()
    orgs, spent = [], []
    for n in range(20):
        daily = 1000 * (n + 1)
        orgs.append(
            {
                "tenant": f"t{n:05d}",
                "edition": "standard",
                "concurrency": 10,
                "heavy_concurrency": 5,
                "daily_credits": daily,
                "batch_share": 0.5,
                "source": "default",
                "updated_at": epoch,
            }
        )
        spent.append({"tenant": f"t{n:05d}", "day": day, "lane": "interactive", "spent": 50 * n})
        fleet.credits_used += 50 * n
        fleet.credits_daily += daily
    fleet.budget_orgs = 20

    async with engine.begin() as conn:
        await conn.execute(insert(tenants), rows)
        await conn.execute(insert(oauth_tokens), crm + calendar)
        await conn.execute(insert(call_hours), traffic)
        await conn.execute(insert(jobs), job_rows)
        await conn.execute(insert(job_runs), runs)
        await conn.execute(insert(webhook_endpoints), [endpoint])
        await conn.execute(insert(outbox_events), events)
        await conn.execute(insert(webhook_deliveries), deliveries)
        await conn.execute(insert(budget_orgs), orgs)
        await conn.execute(insert(budget_credits), spent)
    return fleet
