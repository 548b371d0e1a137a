"""The Zoho call history: every attempt the request path sends lands, per tenant, provider
and hour, in the database (calls, 429s, errors, credits), whatever process sent it, with no
database write per call; several writers flushing the same row at once all count, on SQLite
and PostgreSQL; the charts' query fills empty hours; old hours are pruned by the worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, insert, select

from tests.fixtures.emulator import REFRESH_TOKEN
from tests.http.support import CREDENTIALS, zoho_for
from zohokit import Zoho, db
from zohokit.emulator import Emulator, create_app
from zohokit.errors import NeedsReauthorization
from zohokit.traffic import (
    CallHour,
    CallRecorder,
    busiest_tenants,
    call_hours,
    calls_by_hour,
    hour_of,
    prune_call_hours,
)

NOW = datetime(2031, 3, 3, 10, 41, tzinfo=UTC)


async def test_calls_429s_and_errors_land_per_tenant_provider_and_hour(
    zoho: Zoho, emulator: Emulator
) -> None:
    crm = zoho.crm("default", CREDENTIALS)
    emulator.faults.configure({"rules": [{"route": "crm", "throttle_rate": 1.0, "count": 1}]})
    rows = [{"Last_Name": f"L{i}", "Email": f"l{i}@example.com"} for i in range(30)]
    await crm.upsert_records("Leads", rows, duplicate_check_fields=["Email"])  # 429, then 200
    emulator.faults.configure({"rules": [{"route": "crm", "error_rate": 1.0, "count": 1}]})
    await crm.modules()  # a 500, then a 200
    # Counted in memory only: nothing is in the database before a flush.
    assert sum(h.calls for h in await calls_by_hour(zoho.engine, now=zoho.clock())) == 0
    await zoho.call_history.flush()
    now = zoho.clock()
    crm_hours = await calls_by_hour(zoho.engine, tenant="default", provider="crm", now=now)
    assert len(crm_hours) == 24
    assert crm_hours[-1].hour == hour_of(now)
    # Four attempts: the upsert twice (3 credits each for 30 records), the modules twice.
    assert crm_hours[-1] == CallHour(hour_of(now), calls=4, throttled=1, errors=2, credits=8)
    assert all(h.calls == 0 for h in crm_hours[:-1])
    token = await calls_by_hour(zoho.engine, tenant="default", provider="accounts", now=now)
    assert (token[-1].calls, token[-1].errors, token[-1].credits) == (1, 0, 0)
    assert await calls_by_hour(zoho.engine, tenant="someone-else", now=now) == [
        CallHour(h.hour) for h in crm_hours
    ]


async def test_a_refused_refresh_is_an_accounts_error_and_the_close_flushes(
    tmp_path: Path, emulator: Emulator
) -> None:
    transport = httpx.ASGITransport(app=create_app(emulator))
    root = zoho_for(tmp_path / "z.db", transport=transport, accounts_url=emulator.base_url)
    async with root:
        emulator.accounts.revoke_refresh_token(REFRESH_TOKEN)
        with pytest.raises(NeedsReauthorization):
            await root.crm("default", CREDENTIALS).modules()
        engine_url = str(root.engine.url)
    # The root is closed: what it counted was written on the way out.
    engine = db.create_engine(engine_url)
    try:
        hours = await calls_by_hour(engine, provider="accounts", now=datetime.now(UTC))
        assert (hours[-1].calls, hours[-1].errors) == (1, 1)
    finally:
        await engine.dispose()


async def test_recording_costs_no_statement_until_the_flush(db_url: str) -> None:
    await db.upgrade_async(db_url)
    engine = db.create_engine(db_url)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    recorder = CallRecorder(engine, clock=lambda: NOW, flush_every=3600)
    try:
        for i in range(1000):
            recorder.record(f"t{i % 3}", "crm", throttled=i % 10 == 0, error=False, credits=1)
        assert statements == []
        assert await recorder.flush() == 3  # one row per tenant and hour
        assert len([s for s in statements if "zoho_call_hours" in s]) == 1
        hours = await calls_by_hour(engine, now=NOW, hours=2)
        assert hours[-1] == CallHour(hour_of(NOW), calls=1000, throttled=100, credits=1000)
        assert hours[0] == CallHour(hour_of(NOW) - timedelta(hours=1))
    finally:
        await engine.dispose()


async def test_writers_flushing_the_same_rows_at_once_all_count(db_url: str) -> None:
    """Several processes' recorders (each its own engine and connections) flush the same
    tenants' hour at the same moment, again and again: no count is lost or doubled."""
    await db.upgrade_async(db_url)
    engines = [db.create_engine(db_url) for _ in range(4)]
    recorders = [CallRecorder(e, clock=lambda: NOW, flush_every=3600) for e in engines]

    async def writer(recorder: CallRecorder) -> None:
        for _ in range(10):
            for tenant in ("b", "a", "c"):  # one order here, the sorted order in the flush
                for _ in range(5):
                    recorder.record(tenant, "crm", throttled=True, error=False, credits=2)
            await recorder.flush()

    try:
        await asyncio.gather(*(writer(r) for r in recorders))
        top = await busiest_tenants(engines[0], now=NOW, by="throttled")
        assert [(t.tenant, t.calls, t.throttled, t.credits) for t in top] == [
            (tenant, 200, 200, 400) for tenant in ("a", "b", "c")
        ]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_flush_that_fails_keeps_its_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = db.create_engine(url)
    recorder = CallRecorder(engine, clock=lambda: NOW, flush_every=3600)
    try:
        recorder.record("acme", "calendar", throttled=False, error=True, credits=1)
        assert await recorder.flush() == 0  # no table yet: nothing written, nothing lost
        await db.upgrade_async(url)
        recorder.record("acme", "calendar", throttled=False, error=False, credits=1)
        assert await recorder.flush() == 1
        hours = await calls_by_hour(engine, tenant="acme", now=NOW, hours=1)
        assert hours == [CallHour(hour_of(NOW), calls=2, errors=1, credits=2)]
    finally:
        await engine.dispose()


async def test_counts_flush_by_themselves_after_a_few_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'timer.db'}"
    await db.upgrade_async(url)
    engine = db.create_engine(url)
    recorder = CallRecorder(engine, clock=lambda: NOW, flush_every=0.05)
    try:
        recorder.record("acme", "crm", throttled=False, error=False, credits=1)
        for _ in range(200):
            await asyncio.sleep(0.02)
            if (await calls_by_hour(engine, now=NOW, hours=1))[0].calls:
                break
        assert (await calls_by_hour(engine, now=NOW, hours=1))[0].calls == 1
    finally:
        await recorder.aclose()
        await engine.dispose()


async def test_the_window_and_busiest_tenants_and_the_prune(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'window.db'}"
    await db.upgrade_async(url)
    engine = db.create_engine(url)
    this_hour = hour_of(NOW)
    rows = [
        {
            "tenant": t,
            "provider": "crm",
            "hour": this_hour - timedelta(hours=h),
            "calls": n,
            "throttled": n // 10,
            "errors": 0,
            "credits": n,
        }
        for t, h, n in (("a", 0, 10), ("a", 23, 5), ("a", 24, 1000), ("b", 3, 40), ("c", 400, 9))
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(call_hours), rows)
    try:
        hours = await calls_by_hour(engine, now=NOW)
        assert [h.calls for h in hours] == [5] + [0] * 19 + [40, 0, 0, 10]
        assert [(t.tenant, t.calls) for t in await busiest_tenants(engine, now=NOW)] == [
            ("b", 40),
            ("a", 15),
        ]
        assert await busiest_tenants(engine, now=NOW, by="errors") == []
        with pytest.raises(ValueError, match="hours: from 1 to 336"):
            await calls_by_hour(engine, now=NOW, hours=0)
        assert await prune_call_hours(engine, before=this_hour - timedelta(days=14)) == 1
        week = await calls_by_hour(engine, now=NOW, hours=14 * 24)
        assert sum(h.calls for h in week) == 1055
    finally:
        await engine.dispose()


async def test_the_workers_prune_job_keeps_fourteen_days(tmp_path: Path) -> None:
    from tests.fixtures.clock import ManualClock
    from zohokit.worker import Worker
    from zohokit.worker._housekeeping import PRUNE_CALLS

    clock = ManualClock(NOW)
    async with zoho_for(tmp_path / "prune.db", clock=clock) as root:
        rows = [
            {
                "tenant": "acme",
                "provider": "crm",
                "hour": hour_of(NOW) - timedelta(days=d),
                "calls": 1,
                "throttled": 0,
                "errors": 0,
                "credits": 1,
            }
            for d in (0, 13, 15, 40)
        ]
        async with root.engine.begin() as conn:
            await conn.execute(insert(call_hours), rows)
        worker = Worker(root, kinds=[PRUNE_CALLS])
        await root.jobs.schedule(PRUNE_CALLS, "all")
        assert await worker.run_due() == 1
        async with root.engine.connect() as conn:
            kept = (await conn.execute(select(call_hours.c.hour))).scalars().all()
        assert sorted(kept) == [hour_of(NOW) - timedelta(days=d) for d in (13, 0)]
        [status] = [s for s in await root.jobs.status() if s.kind == PRUNE_CALLS]
        assert (status.due, status.scheduled, status.last_run.outcome) == (0, 1, "ok")
