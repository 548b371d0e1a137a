"""The fleet overview, in process: each panel shows the numbers the database holds (tenants
by status, Zoho traffic per hour, credits against budgets, the worker's backlog and failures,
webhook deliveries that failed), and a tenant's session sees its own tenant's only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.fleet import Fleet, seed_fleet
from tests.server.support import ACME_KEY, GLOBAL_KEY, Clock, login, settings_for
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app


@pytest.fixture
async def app(
    tmp_path: Path, db_url: str, emulator: Emulator, clock: Clock
) -> AsyncIterator[FastAPI]:
    """The service on SQLite or PostgreSQL (the overview's SQL runs on both)."""
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    service = create_app(settings_for(tmp_path, db_url), transport=transport, clock=clock)
    async with service.router.lifespan_context(service):
        yield service


@pytest.fixture
async def fleet(app: FastAPI, clock: Clock) -> Fleet:
    return await seed_fleet(app.state.zohokit.zoho.engine, clock(), size=600)


def number(page: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}"[^>]*>(?:<b>)?([\d,]+)<', page)
    assert found is not None, element_id
    return int(found.group(1).replace(",", ""))


def bars(page: str, chart_id: str) -> list[list[int]]:
    """Each bar's numbers (one per series), from the tooltips of the chart ``chart_id``."""
    figure = re.search(rf'<figure class="chart" id="{chart_id}">.*?</figure>', page, re.S)
    assert figure is not None, chart_id
    tips = re.findall(r"<g data-bar><title>\d\d:00: ([^<]*)</title>", figure[0])
    return [[int(n) for n in re.findall(r"(\d+) [a-z]", tip)] for tip in tips]


async def test_each_panel_shows_the_fleets_numbers(client: httpx.AsyncClient, fleet: Fleet) -> None:
    await login(client, GLOBAL_KEY)
    page = (await client.get("/admin")).text
    for word, count in fleet.health.items():
        assert re.search(rf'id="health-{word}" data-count="{count}"', page), word
    assert f"· {fleet.size} tenants" in page
    # Each hour: answered, throttled, other failures; the three add up to the calls.
    assert bars(page, "chart-calls") == [
        [c - e, t, e - t]
        for c, t, e in zip(fleet.calls, fleet.throttled, fleet.errors, strict=True)
    ]
    assert bars(page, "chart-throttled") == [[t] for t in fleet.throttled]
    assert number(page, "traffic-calls") == sum(fleet.calls)
    assert number(page, "traffic-throttled") == sum(fleet.throttled)
    assert number(page, "traffic-credits") == fleet.credits
    shown = re.findall(r'<tr data-tenant="(t\d+)"><td data-label="Tenant">', page)
    assert shown == fleet.throttled_most
    assert number(page, "credits-used") == fleet.credits_used
    assert f"credits used of {fleet.credits_daily:,}" in page
    assert number(page, "budget-orgs") == fleet.budget_orgs
    assert re.findall(r'<tr data-budget="(t\d+)">', page) == [
        f"t{n:05d}" for n in (19, 18, 17, 16, 15)
    ]
    assert number(page, "jobs-backlog") == fleet.jobs_backlog
    assert number(page, "jobs-running") == fleet.jobs_running
    assert number(page, "jobs-failed") == fleet.jobs_failed
    assert number(page, "jobs-failed-runs") == fleet.job_runs_failed
    assert "RefreshFailed: run 0" in page
    assert "RefreshFailed: run 5" not in page  # two days ago: outside the window
    assert number(page, "webhooks-failed") == fleet.deliveries_failed
    assert number(page, "webhooks-retrying") == fleet.deliveries_retrying
    assert page.count('<tr data-delivery="') == 5
    # A status tile opens the list of exactly those tenants.
    assert 'href="/admin/tenants?health=needs_reauth"' in page


async def test_a_tenant_session_sees_its_own_tenant_only(
    client: httpx.AsyncClient, app: FastAPI, fleet: Fleet
) -> None:
    state = app.state.zohokit
    await state.tenants.create("acme", "Acme", "us", state.epoch())
    await login(client, ACME_KEY)
    page = (await client.get("/admin")).text
    assert "· 1 tenant<" in page
    assert re.search(r'id="health-not_connected" data-count="1"', page)
    assert bars(page, "chart-calls") == [[0, 0, 0]] * 24
    assert number(page, "jobs-backlog") == 0
    assert number(page, "webhooks-failed") == 0
    assert 'data-tenant="t00000"' not in page
    assert number(page, "budget-orgs") == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_a_session_the_overview_and_the_list_ask_to_log_in(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/admin", "/admin/tenants"):
        page = await client.get(path)
        assert page.status_code == 200
        assert 'action="/admin/login"' in page.text
