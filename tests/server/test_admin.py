"""The admin page's login, session and CSRF rules, in process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from tests.server.support import (
    ACME_KEY,
    GLOBAL_KEY,
    SERVICE_URL,
    csrf_token,
    key,
    login,
    settings_for,
)
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app
from zohokit.sync import RunReport


async def test_admin_without_session_shows_the_login_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin")
    assert page.status_code == 200
    assert 'action="/admin/login"' in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_login_with_a_wrong_key_is_refused(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login",
        data={"api_key": "nope-0123456789abcdef", "csrf_token": csrf_token(form.text)},
    )
    assert answer.status_code == 401
    assert "That key is not valid." in answer.text
    assert "zohokit_session" not in answer.cookies


async def test_login_without_the_login_cookie_is_refused(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    client.cookies.clear()
    answer = await client.post(
        "/admin/login", data={"api_key": GLOBAL_KEY, "csrf_token": csrf_token(form.text)}
    )
    assert answer.status_code == 403
    assert "zohokit_session" not in answer.cookies


async def test_session_cookie_is_httponly_and_lax(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login", data={"api_key": GLOBAL_KEY, "csrf_token": csrf_token(form.text)}
    )
    cookie = answer.headers["set-cookie"]
    assert "zohokit_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


async def test_forms_without_the_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    csrf = await login(client, GLOBAL_KEY)
    wrong = await client.post("/admin/tenants", data={"tenant": "acme", "csrf_token": "x" * 30})
    assert wrong.status_code == 403
    missing = await client.post("/admin/tenants", data={"tenant": "acme"})
    assert missing.status_code == 422
    assert (await client.get("/api/tenants", headers=key(GLOBAL_KEY))).json() == []
    ok = await client.post("/admin/tenants", data={"tenant": "acme", "csrf_token": csrf})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/admin/tenants"
    assert 'data-tenant="acme"' in (await client.get("/admin/tenants")).text


async def test_tampered_session_cookie_is_ignored(client: httpx.AsyncClient) -> None:
    await login(client, GLOBAL_KEY)
    value = client.cookies["zohokit_session"]
    client.cookies.set("zohokit_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    page = await client.get("/admin")
    assert 'action="/admin/login"' in page.text


async def test_tenant_session_sees_and_connects_only_its_tenant(
    client: httpx.AsyncClient,
) -> None:
    for tenant in ("acme", "other"):
        await client.post("/api/tenants", json={"tenant": tenant}, headers=key(GLOBAL_KEY))
    csrf = await login(client, ACME_KEY)
    page = (await client.get("/admin/tenants")).text
    assert 'data-tenant="acme"' in page
    assert 'data-tenant="other"' not in page
    assert 'id="new-tenant"' not in page
    refused = await client.post(
        "/admin/tenants/other/connect", data={"provider": "zoho_crm", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    allowed = await client.post(
        "/admin/tenants/acme/connect", data={"provider": "zoho_crm", "csrf_token": csrf}
    )
    assert allowed.status_code == 303
    assert allowed.headers["location"].startswith("http://emulator.test/oauth/v2/auth?")
    # The session also opens the connect link a browser follows.
    link = await client.get("/connect/zoho", params={"tenant": "acme", "provider": "zoho_crm"})
    assert link.status_code == 302


async def test_tenant_names_are_escaped_on_the_page(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/tenants",
        json={"tenant": "acme", "name": "<script>alert(1)</script>"},
        headers=key(GLOBAL_KEY),
    )
    await login(client, GLOBAL_KEY)
    page = (await client.get("/admin/tenants")).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_an_admin_session_ends_when_its_key_is_removed(
    tmp_path: Path, emulator: Emulator
) -> None:
    """A leaked key is rotated out of ZOHOKIT_API_KEYS and the service restarted: sessions
    logged in with it must not keep working for the rest of their twelve hours."""
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    before = create_app(settings_for(tmp_path), transport=transport)
    async with (
        before.router.lifespan_context(before),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=before), base_url=SERVICE_URL
        ) as browser,
    ):
        await browser.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
        await login(browser, ACME_KEY)
        cookie = browser.cookies["zohokit_session"]

    rotated = settings_for(tmp_path, zohokit_api_keys=SecretStr(GLOBAL_KEY))
    after = create_app(rotated, transport=transport)
    async with (
        after.router.lifespan_context(after),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=after),
            base_url=SERVICE_URL,
            cookies={"zohokit_session": cookie},
        ) as browser,
    ):
        page = await browser.get("/admin")
        assert 'action="/admin/login"' in page.text
        link = await browser.get("/connect/zoho", params={"tenant": "acme", "provider": "zoho_crm"})
        assert link.status_code == 401


async def test_sync_runs_say_plainly_when_rows_failed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ledger = app.state.zohokit.zoho.ledger
    now = datetime.now(UTC)
    ok = RunReport("acme", "Contacts", "push", now.isoformat(), created=3)
    ok.finish(now=now)
    partial = RunReport("acme", "Leads", "push", now.isoformat(), created=2, invalid=1)
    partial.error("INVALID_VALUE", "a@x.com", "row 3: Email_Opt_Out: expected true or false")
    partial.finish(now=now)
    stopped = RunReport("acme", "Contactz", "push", now.isoformat())
    stopped.finish("failed", "UnknownModule: the CRM has no module 'Contactz'", now=now)
    for run in (ok, partial, stopped):
        await ledger.save_run(run)
    await login(client, GLOBAL_KEY)
    page = (await client.get("/admin")).text
    assert '<span class="badge run-completed" data-run-status="completed">completed</span>' in page
    assert 'data-run-status="completed_with_errors">completed with errors</span>' in page
    assert "2 / 0 / 0 / 0 / 1" in page
    assert 'data-run-status="failed">failed</span>' in page
    assert "the CRM has no module &#39;Contactz&#39;" in page
