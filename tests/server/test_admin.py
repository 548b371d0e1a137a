"""The admin page's login, session and CSRF rules, in process."""

from __future__ import annotations

import re

import httpx

from tests.server.support import ACME_KEY, GLOBAL_KEY, key


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def login(client: httpx.AsyncClient, api_key: str) -> str:
    """Log in; returns the dashboard's CSRF token."""
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login", data={"api_key": api_key, "csrf_token": _csrf(form.text)}
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/admin")
    assert "Log out" in page.text
    return _csrf(page.text)


async def test_admin_without_session_shows_the_login_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin")
    assert page.status_code == 200
    assert 'action="/admin/login"' in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_login_with_a_wrong_key_is_refused(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login", data={"api_key": "nope-0123456789abcdef", "csrf_token": _csrf(form.text)}
    )
    assert answer.status_code == 401
    assert "That key is not valid." in answer.text
    assert "zohokit_session" not in answer.cookies


async def test_login_without_the_login_cookie_is_refused(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    client.cookies.clear()
    answer = await client.post(
        "/admin/login", data={"api_key": GLOBAL_KEY, "csrf_token": _csrf(form.text)}
    )
    assert answer.status_code == 403
    assert "zohokit_session" not in answer.cookies


async def test_session_cookie_is_httponly_and_lax(client: httpx.AsyncClient) -> None:
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login", data={"api_key": GLOBAL_KEY, "csrf_token": _csrf(form.text)}
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
    assert "acme" in (await client.get("/admin")).text


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
    page = (await client.get("/admin")).text
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
    page = (await client.get("/admin")).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
