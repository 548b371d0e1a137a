"""The console's pages: server time of the tenant list, the tenant page and the overview with
5,000 tenants in mixed states, 50,000 sync runs and 50,000 bookings (issue 15: under 100 ms).

The fleet is written by bulk inserts (``tests/server/fleet.py``, as the Chromium tests build
it), then sync runs and bookings: a fifth of each on the busiest tenant (``t00000``, whose page
is measured), the rest spread over the others. Each page is asked ``--page-requests`` times
through the app in process (ASGI, no socket: the time is the server's own), logged in as an
operator with the global key. The peer is a bare FastAPI route that renders the list's first
page the plainest way (one ``SELECT`` of 50 tenants into a Jinja table), so the ratio is what
search, health and the console's panels cost beyond the least a list page can do.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jinja2
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import SecretStr
from sqlalchemy import insert, select
from tests.fixtures.clock import ManualClock
from tests.server.fleet import seed_fleet

from zohokit.scheduling._tables import BookingRow, bookings, row_values
from zohokit.server import ServerSettings, create_app
from zohokit.server._tables import tenants
from zohokit.sync import RunReport
from zohokit.sync._ledger import sync_runs
from zohokit.tokens import generate_key

__all__ = ["measure_pages"]

KEY = "bench-global-key-0123456789abcdef"
#: The busiest tenant holds this share of the runs and bookings.
BUSIEST = "t00000"


@dataclass(frozen=True)
class Timing:
    """One page's server times over its requests, in seconds."""

    name: str
    times: list[float]
    size: int

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def worst(self) -> float:
        return max(self.times)


def _tenant_of(n: int, tenants_count: int) -> str:
    return BUSIEST if n % 5 == 0 else f"t{1 + n % (tenants_count - 1):05d}"


async def _seed_runs(engine: Any, now: datetime, count: int, tenants_count: int) -> None:
    rows = []
    for n in range(count):
        started = (now - timedelta(minutes=n)).isoformat()
        report = RunReport(_tenant_of(n, tenants_count), "Leads", "push", started, created=n % 7)
        if n % 9 == 0:
            report.error("INVALID_DATA", f"row{n}@example.com", f"row {n}: Email: not valid")
        report.finish(now=now - timedelta(minutes=n) + timedelta(seconds=20))
        rows.append(
            {
                "run_id": report.run_id,
                "tenant": report.tenant,
                "module": report.module,
                "direction": report.direction,
                "status": report.status,
                "started_at": report.started_at,
                "report": json.dumps(report.to_dict(), sort_keys=True),
            }
        )
    async with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(sync_runs), rows[i : i + 5000])


async def _seed_bookings(
    engine: Any, vault: Any, now: datetime, count: int, tenants_count: int
) -> None:
    rows = []
    for n in range(count):
        tenant = _tenant_of(n, tenants_count)
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=30 * n)
        booking = BookingRow(
            id=f"bk_{n:08d}",
            tenant=tenant,
            calendar_id="primary",
            start_utc=start,
            end_utc=start + timedelta(minutes=30),
            active_start=start,
            buffer_before_s=0,
            buffer_after_s=0,
            state="active",
            event_synced=True,
            crm_synced=n % 13 != 0,
            pending_reason="CRM upsert failed: 503" if n % 13 == 0 else None,
            attempts=1,
            title=f"Call with customer {n}",
            booker_zone="UTC",
            customer={"name": f"Customer {n}", "email": f"c{n}@example.com"},
            idempotency_key=None,
            zoho_event_uid=f"uid{n}@zoho.com",
            zoho_event_etag=None,
            crm_module="Contacts",
            crm_record_id=None,
            lease_owner=None,
            lease_until=None,
            created_at=now - timedelta(minutes=n),
            updated_at=now - timedelta(minutes=n),
            cancelled_at=None,
        )
        rows.append(row_values(booking, vault))
    async with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(bookings), rows[i : i + 5000])


def _peer(url: str) -> FastAPI:
    """The plainest list page: 50 tenants by key into a Jinja table."""
    from zohokit import db

    engine = db.create_engine(url)
    page = jinja2.Environment(autoescape=True).from_string(
        "<!doctype html><table>{% for t in rows %}<tr><td>{{ t.name }}</td>"
        "<td>{{ t.tenant }}</td><td>{{ t.data_center }}</td></tr>{% endfor %}</table>"
    )
    app = FastAPI()

    @app.get("/peer")
    async def peer() -> HTMLResponse:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(tenants).order_by(tenants.c.tenant).limit(50))).all()
        return HTMLResponse(page.render(rows=rows))

    return app


async def _login(client: httpx.AsyncClient) -> None:
    form = (await client.get("/admin")).text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = await client.post("/admin/login", data={"api_key": KEY, "csrf_token": token})
    if answer.status_code != 303:
        raise SystemExit(f"login refused: {answer.status_code} {answer.text[:200]}")


async def _time(client: httpx.AsyncClient, name: str, path: str, count: int) -> Timing:
    answer = await client.get(path)  # warm: templates compiled, statements cached
    if answer.status_code != 200:
        raise SystemExit(f"{name}: {path} answered {answer.status_code}: {answer.text[:300]}")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {answer.status_code}")
    return Timing(name, times, len(answer.content))


async def measure_pages(
    folder: Path,
    *,
    database_url: str | None = None,
    tenants_count: int = 5000,
    runs: int = 50_000,
    booked: int = 50_000,
    count: int = 20,
) -> list[Timing]:
    """Seed, then time each page ``count`` times; returns the timings, the peer's first."""
    url = database_url or f"sqlite:///{folder / 'pages.db'}"
    settings = ServerSettings(  # type: ignore[call-arg]
        _env_file=None,
        zohokit_data_dir=folder,
        zohokit_database_url=url,
        zohokit_encryption_keys=SecretStr(generate_key()),
        zohokit_api_keys=SecretStr(KEY),
        zohokit_session_secret=SecretStr("bench-session-secret"),
    )
    clock = ManualClock(datetime.now(UTC))
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        state = app.state.zohokit
        seeded = time.perf_counter()
        await seed_fleet(state.zoho.engine, clock(), tenants_count)
        await _seed_runs(state.zoho.engine, clock(), runs, tenants_count)
        await _seed_bookings(
            state.zoho.engine, state.zoho.bookings.store.vault, clock(), booked, tenants_count
        )
        seeded = time.perf_counter() - seeded
        print(
            f"seeded {tenants_count:,} tenants, {runs:,} sync runs and {booked:,} bookings"
            f" in {seeded:.1f} s ({'PostgreSQL' if database_url else 'SQLite'})"
        )
        peer = httpx.AsyncClient(transport=httpx.ASGITransport(app=_peer(url)), base_url="http://b")
        service = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service.test"
        )
        async with peer, service:
            await _login(service)
            deep = "/admin/tenants"
            for _ in range(40):  # 40 pages in: a keyset cursor far down the list
                found = re.search(r'href="([^"]+)" id="page-next"', (await service.get(deep)).text)
                if found is None:
                    break
                deep = found.group(1).replace("&amp;", "&")
            pages = [
                ("bare list page (peer)", peer, "/peer"),
                ("tenant list, first page", service, "/admin/tenants"),
                ("tenant list, 40 pages in", service, deep),
                ("tenant list, search", service, "/admin/tenants?q=company+49"),
                ("tenant list, health filter", service, "/admin/tenants?health=cooldown"),
                ("tenant list, sorted by name", service, "/admin/tenants?sort=name"),
                (f"tenant page, {BUSIEST} (busiest)", service, f"/admin/tenants/{BUSIEST}"),
                ("tenant page, t04999", service, "/admin/tenants/t04999"),
                ("fleet overview", service, "/admin"),
            ]
            return [await _time(client, name, path, count) for name, client, path in pages]
