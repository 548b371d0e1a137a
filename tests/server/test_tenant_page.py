"""The console's tenant page, in process against the in-process emulator, on SQLite and
PostgreSQL: every panel shows what the database holds (connections with expiry, next
refresh, cooldown and last error; credits per day; sync runs with their first errors;
bookings; notification channels; webhook deliveries), and every action works, says so, and is
refused without a session, with a bad CSRF token, for another tenant's session, and (delete)
without the tenant's key typed again."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from tests.server.support import (
    ACME_KEY,
    GLOBAL_KEY,
    OTHER_KEY,
    SERVICE_URL,
    Clock,
    connect,
    key,
    login,
    settings_for,
    tenant_actions,
)
from tests.server.test_bookings import SCHEDULE
from zohokit.budget._tables import budget_credits
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.errors import ZohoError
from zohokit.server import create_app
from zohokit.sync import RunReport
from zohokit.traffic import call_hours, hour_of
from zohokit.worker._refresh import REFRESH_AHEAD, refresh_key, sweep

NOTIFY_URL = f"{SERVICE_URL}/zoho/notifications"
BO = {"name": "Bo Lee", "email": "bo@example.com"}
#: The panels and the refusals run on both databases; the other actions' SQL is the token
#: service's and the webhooks', tested on both in their own suites.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
async def app(
    tmp_path: Path, db_url: str, emulator: Emulator, clock: Clock
) -> AsyncIterator[FastAPI]:
    """The service on SQLite or PostgreSQL; webhooks may go to loopback (nothing listens)."""
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    settings = settings_for(tmp_path, db_url, zohokit_webhooks_allow_private=True)
    service = create_app(settings, transport=transport, clock=clock)
    async with service.router.lifespan_context(service):
        yield service


@pytest.fixture
async def seeded(
    app: FastAPI, client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> FastAPI:
    """``acme``: CRM connected, Calendar connected then throttled into a cooldown, two sync
    runs (one with failed rows), a booking, a notification channel, a failing webhook
    delivery and credits on three days; ``other``: a tenant with a delivery of its own."""
    state = app.state.zohokit
    zoho = state.zoho
    for tenant in ("acme", "other"):
        made = await client.post("/api/tenants", json={"tenant": tenant}, headers=key(GLOBAL_KEY))
        assert made.status_code == 201, made.text
    for provider in ("zoho_crm", "zoho_calendar"):
        assert (await connect(client, emu_client, "acme", provider)).status_code == 303
    body = {**SCHEDULE, "zoho": {"calendar_id": emulator.calendar.primary_uid}}
    answer = await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text
    start = (state.clock() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    booked = await client.post(
        "/api/tenants/acme/bookings",
        json={
            "customer": {"name": "Bo Lee", "email": "bo@example.com"},
            "start": start.isoformat(),
        },
        headers={**key(ACME_KEY), "Idempotency-Key": "b-1"},
    )
    assert booked.status_code == 201, booked.text
    emulator.faults.configure({"token_throttle": True})
    with contextlib.suppress(ZohoError):  # the throttle is the point: the row records it
        await zoho.tokens.force_refresh("acme", "zoho_calendar")
    emulator.faults.configure({"token_throttle": False})
    now = state.clock()
    ok = RunReport(
        "acme", "Contacts", "push", (now - timedelta(hours=2)).isoformat(), created=3, unchanged=7
    )
    ok.finish(now=now - timedelta(hours=2))
    bad = RunReport("acme", "Leads", "push", now.isoformat(), created=2, failed=2)
    bad.error("DUPLICATE_DATA", "lee@x.com", "duplicate data: Email")
    bad.error("DUPLICATE_DATA", "kim@x.com", "duplicate data: Email")
    bad.error("MANDATORY_NOT_FOUND", "row-9", "required field not found: Last_Name")
    bad.finish(now=now)
    for run in (ok, bad):
        await state.zoho.ledger.save_run(run)
    await zoho.notifications.enable("acme", "Leads", notify_url=NOTIFY_URL)
    for tenant in ("acme", "other"):
        await zoho.webhooks.add(
            "http://127.0.0.1:9/hook", event_types=["booking.confirmed"], tenant=tenant
        )
        await zoho.emit("booking.confirmed", tenant, {"booking_id": f"{tenant}-1"})
    await zoho.webhooks.run_due()
    today = now.date()
    await zoho.call_history.flush()  # what this process sent to Zoho, in the database now
    three_hours_ago = hour_of(now) - timedelta(hours=3)
    async with state.zoho.engine.begin() as conn:
        # Another process's throttled hour (the CLI's, say).
        await conn.execute(
            insert(call_hours).values(
                tenant="acme",
                provider="crm",
                hour=three_hours_ago,
                calls=9,
                throttled=2,
                errors=3,
                credits=9,
            )
        )
        await conn.execute(
            insert(budget_credits),
            [
                {"tenant": "acme", "day": (today - timedelta(days=d)).isoformat(), "lane": lane}
                | {"spent": spent}
                for d, lane, spent in ((1, "interactive", 40), (1, "batch", 300), (5, "batch", 77))
            ],
        )
    return app


async def _login_as(client: httpx.AsyncClient, api_key: str) -> str:
    """A new session with ``api_key`` (the client's earlier cookies dropped); its CSRF token."""
    client.cookies.clear()
    return await login(client, api_key)


async def _page(client: httpx.AsyncClient, tenant: str = "acme") -> str:
    answer = await client.get(f"/admin/tenants/{tenant}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.text


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found is not None, name
    return found.group(0)


def _delivery(page: str) -> str:
    found = re.search(r'data-delivery="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.usefixtures("seeded")
async def test_every_panel_shows_what_the_database_holds(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await _login_as(client, GLOBAL_KEY)
    listed = (await client.get("/admin/tenants?q=acme")).text
    assert 'href="/admin/tenants/acme"' in listed
    page = await _page(client)
    crm = _section(page, "connections").split('data-provider="zoho_calendar"')[0]
    assert 'data-state="healthy">healthy<' in crm
    assert re.search(r'data-fact="expires"><time datetime="[^"]+">\d{4}-\d\d-\d\d', crm)
    assert 'data-fact="next-refresh"><time' in crm
    assert "by the next call" in crm
    assert 'data-fact="scopes">ZohoCRM.' in crm
    assert 'data-fact="data-centre">' in crm
    assert 'data-fact="accounts-server">http://emulator.test<' in crm
    calendar = _section(page, "connections").split('data-provider="zoho_calendar"')[1]
    assert 'data-state="cooldown">cooldown<' in calendar
    assert re.search(r'data-fact="cooldown"><span class="warning"><time', calendar)
    assert re.search(r'data-fact="last-error"><span class="error">throttled[^<]*</span>', calendar)
    assert re.search(r"at <time[^>]*>[^<]+</time>, 1 failures in a row", calendar)

    traffic = _section(page, "traffic")
    calls = re.search(r'id="calls-chart".*?</figure>', traffic, re.S)
    assert calls is not None
    assert calls.group(0).count("<g data-bar>") == 24
    found = re.search(r"(\d+) answered, 2 throttled \(429\), (\d+) other failures in all", traffic)
    assert found is not None, calls.group(0)[:400]
    # This process's calls (tokens, calendar, CRM; the throttled refresh failed) and 6 more.
    assert int(found.group(1)) > 6
    assert int(found.group(2)) >= 2
    three_hours_ago = hour_of(clock()) - timedelta(hours=3)
    assert f"{three_hours_ago:%H}:00: 6 answered, 2 throttled (429), 1 other failures" in traffic
    assert 'id="credits-chart"' in traffic
    assert "<svg" in traffic
    credits = re.search(r'id="credits-chart".*?</figure>', traffic, re.S)
    assert credits is not None
    assert credits.group(0).count("<g data-bar>") == 14
    spent = re.search(r'class="muted">(\d+) interactive, 377 batch in all', credits.group(0))
    assert spent is not None
    assert int(spent.group(1)) > 40  # today's calls were charged to the ledger too

    runs = _section(page, "runs")
    assert 'data-run-status="completed">completed<' in runs
    assert "<td data-counts>3 / 0 / 7 / 0 / 0" in runs
    assert 'data-run-status="completed_with_errors">completed with errors<' in runs
    assert "DUPLICATE_DATA x2 (e.g. lee@x.com): duplicate data: Email" in runs
    assert "MANDATORY_NOT_FOUND x1" in runs
    assert "2 / 0 / 0 / 2 / 0" in runs

    assert "Bo Lee" in _section(page, "bookings")
    channels = _section(page, "channels")
    assert "Leads" in channels
    assert 'data-expiry="ok"' in channels
    deliveries = _section(page, "deliveries")
    assert deliveries.count("data-delivery=") == 1  # acme's only, not other's
    assert 'data-delivery-status="pending"' in deliveries
    assert "ConnectError" in deliveries
    assert 'id="delete-tenant"' in page


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_a_tenant_key_sees_its_own_page_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/tenants/acme")).headers["location"] == "/admin"
    await _login_as(client, OTHER_KEY)
    refused = await client.get("/admin/tenants/acme")
    assert refused.status_code == 403
    assert "not valid for this tenant" in refused.text
    page = await _page(client, "other")
    assert 'id="delete-tenant"' not in page  # deleting needs a key for every tenant
    assert (await client.get("/admin/tenants/nobody")).status_code == 403
    await _login_as(client, GLOBAL_KEY)
    assert (await client.get("/admin/tenants/nobody")).status_code == 404


async def _post(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    return await client.post(f"/admin/tenants/{path}", data=form)


@pytest.mark.usefixtures("seeded")
async def test_every_action_is_refused_without_a_session_a_token_or_the_tenant(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _login_as(client, GLOBAL_KEY)
    actions = tenant_actions("acme", _delivery(await _page(client)))

    async def refused(who: httpx.AsyncClient, csrf: str, status: int) -> list[httpx.Response]:
        answers = [await _post(who, path, csrf_token=csrf, **form) for path, form in actions]
        assert [a.status_code for a in answers] == [status] * len(actions)
        return answers

    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SERVICE_URL)
    async with anonymous:
        await refused(anonymous, "x", 401)
    await refused(client, "not-the-token", 403)
    for answer in await refused(client, await _login_as(client, OTHER_KEY), 403):
        assert "not valid for this tenant" in answer.json()["message"]
    # Another tenant's delivery, through this tenant's own page: no such delivery here.
    other = await _login_as(client, GLOBAL_KEY)
    other_delivery = _delivery(await _page(client, "other"))
    csrf = await _login_as(client, ACME_KEY)
    answer = await _post(client, f"acme/deliveries/{other_delivery}/redeliver", csrf_token=csrf)
    assert answer.status_code == 404
    # A tenant's own key may not delete (as on the API).
    answer = await _post(client, "acme/delete", csrf_token=csrf, confirm="acme")
    assert answer.status_code == 403
    assert other  # the global session was live
    status = await app.state.zohokit.zoho.tokens.status("acme", "zoho_crm")
    assert status is not None
    assert status.status == "active"
    assert await app.state.zohokit.tenants.get("acme") is not None


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_refresh_now_mints_a_new_token_and_says_so(
    app: FastAPI, client: httpx.AsyncClient, emulator: Emulator
) -> None:
    csrf = await _login_as(client, ACME_KEY)
    before = await app.state.zohokit.zoho.tokens.status("acme", "zoho_crm")
    answer = await _post(client, "acme/refresh", csrf_token=csrf, provider="zoho_crm")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/tenants/acme?done=refreshed&provider=zoho_crm"
    page = (await client.get(answer.headers["location"])).text
    assert 'id="flash" role="status">Refreshed Zoho CRM: a new access token is in use.' in page
    after = await app.state.zohokit.zoho.tokens.status("acme", "zoho_crm")
    assert before is not None
    assert after is not None
    assert after.version > before.version
    # Throttled at Zoho: refused with the reason, on the page.
    emulator.faults.configure({"token_throttle": True})
    answer = await _post(client, "acme/refresh", csrf_token=csrf, provider="zoho_crm")
    assert answer.status_code == 409
    assert 'id="error" role="alert">Zoho CRM was not refreshed:' in answer.text
    answer = await _post(client, "acme/refresh", csrf_token=csrf, provider="zoho_nope")
    assert answer.status_code == 400


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_a_reconnect_link_is_the_connect_flows_link(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    csrf = await _login_as(client, ACME_KEY)
    answer = await _post(client, "acme/reconnect-link", csrf_token=csrf, provider="zoho_crm")
    assert answer.status_code == 200
    # No script on the console (its CSP allows none): the link is focused, ready to copy.
    found = re.search(r'id="reconnect-link" readonly autofocus value="([^"]+)"', answer.text)
    assert found is not None
    link = found.group(1).replace("&amp;", "&")
    assert link.startswith("http://emulator.test/oauth/v2/auth?")
    assert "state=" in link
    # Whoever opens it consents at Zoho and lands back connected.
    parts = httpx.URL(link)
    consented = await emu_client.get(f"{parts.path}?{parts.query.decode()}")
    back = httpx.URL(consented.headers["location"])
    done = await client.get(f"{back.path}?{back.query.decode()}")
    assert done.status_code == 303
    assert "connected=acme" in done.headers["location"]


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_disconnect_revokes_at_zoho_once(
    app: FastAPI, client: httpx.AsyncClient, emulator: Emulator
) -> None:
    csrf = await _login_as(client, GLOBAL_KEY)
    answer = await _post(client, "acme/disconnect", csrf_token=csrf, provider="zoho_crm")
    assert answer.headers["location"] == "/admin/tenants/acme?done=disconnected&provider=zoho_crm"
    page = (await client.get(answer.headers["location"])).text
    assert "Disconnected Zoho CRM: Zoho revoked the refresh token." in page
    crm = _section(page, "connections").split('data-provider="zoho_calendar"')[0]
    assert 'data-state="revoked">revoked<' in crm
    assert 'id="disconnect-zoho_crm"' not in crm
    assert 'id="connect-zoho_crm"' in crm
    revoked = emulator.stats.snapshot().get("token_revoke_requests", 0)
    again = await _post(client, "acme/disconnect", csrf_token=csrf, provider="zoho_crm")
    assert again.headers["location"].endswith("done=not_connected&provider=zoho_crm")
    assert emulator.stats.snapshot().get("token_revoke_requests", 0) == revoked
    status = await app.state.zohokit.zoho.tokens.status("acme", "zoho_crm")
    assert status is not None
    assert status.state(status.updated_at) == "revoked"


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_delete_needs_the_tenant_key_typed_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _login_as(client, GLOBAL_KEY)
    answer = await _post(client, "acme/delete", csrf_token=csrf, confirm="acm")
    assert answer.status_code == 400
    assert "Not deleted: type the tenant key acme to confirm." in answer.text
    assert await app.state.zohokit.tenants.get("acme") is not None
    answer = await _post(client, "acme/delete", csrf_token=csrf, confirm="acme")
    assert answer.headers["location"] == "/admin/tenants?deleted=acme"
    shown = (await client.get(answer.headers["location"])).text
    assert "Deleted tenant acme: its tokens are revoked and erased." in shown
    state = app.state.zohokit
    assert await state.tenants.get("acme") is None
    assert await state.zoho.tokens.status("acme", "zoho_crm") is None
    again = await _post(client, "acme/delete", csrf_token=csrf, confirm="acme")
    assert again.headers["location"] == "/admin/tenants?deleted=acme"  # gone is gone
    assert (await client.get("/admin/tenants/acme")).status_code == 404


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_redeliver_queues_the_delivery_again(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    csrf = await _login_as(client, ACME_KEY)
    delivery = _delivery(await _page(client))
    webhooks = app.state.zohokit.zoho.webhooks
    before = await webhooks.delivery(delivery)
    assert before.next_attempt_at is not None
    assert before.next_attempt_at > clock()
    clock.advance(minutes=5)
    answer = await _post(client, f"acme/deliveries/{delivery}/redeliver", csrf_token=csrf)
    assert answer.headers["location"] == "/admin/tenants/acme?done=redelivered"
    page = (await client.get(answer.headers["location"])).text
    assert "The delivery is queued again" in page
    after = await webhooks.delivery(delivery)
    assert after.status == "pending"
    assert after.next_attempt_at == after.round_started_at == clock()  # due now, a new round
    await webhooks.run_due()
    assert (await webhooks.delivery(delivery)).attempts == before.attempts + 1


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_time_passing_shows_expiring_words_then_expired_channels(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await _login_as(client, ACME_KEY)
    clock.advance(minutes=57)  # the CRM token has 3 minutes left; nobody refreshed it
    crm = _section(await _page(client), "connections").split('data-provider="zoho_calendar"')[0]
    assert 'data-state="expiring">expiring<' in crm
    clock.advance(days=5, hours=12)  # the channel (6 days) ends within a day
    await _login_as(client, ACME_KEY)  # the session did not last that long
    assert 'data-expiry="expiring"' in _section(await _page(client), "channels")
    clock.advance(days=1)
    await _login_as(client, ACME_KEY)
    channels = _section(await _page(client), "channels")
    assert 'data-expiry="expired"' in channels
    assert '<span class="expired">expired <time' in channels


@SQLITE_ONLY
@pytest.mark.usefixtures("seeded")
async def test_next_refresh_is_the_workers_job_once_it_has_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _login_as(client, ACME_KEY)
    crm = _section(await _page(client), "connections").split('data-provider="zoho_calendar"')[0]
    assert "by the next call" in crm
    zoho = app.state.zohokit.zoho
    assert await sweep(zoho) == 2  # the worker's sweep: a refresh job per connection
    job = await zoho.jobs.store.get(REFRESH_AHEAD, refresh_key("acme", "zoho_crm"))
    assert job is not None
    crm = _section(await _page(client), "connections").split('data-provider="zoho_calendar"')[0]
    shown = f'data-fact="next-refresh"><time datetime="{job.due_at.isoformat()}">'
    assert shown in crm
    assert "by the worker" in crm
