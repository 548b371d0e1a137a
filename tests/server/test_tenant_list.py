"""The tenant list with 3,000 tenants in mixed states (built by bulk inserts): search, health
and provider filters, sorts and keyset pages find exactly the right rows, on the API (with a
cursor) and on the console page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from tests.server.fleet import STATES, token_row
from tests.server.support import ACME_KEY, GLOBAL_KEY, key, login
from zohokit.server._tables import tenants
from zohokit.server._tenant_list import TenantQuery, list_tenants
from zohokit.tokens._store import oauth_tokens

TENANTS = 3000


@pytest.fixture
async def fleet(app: FastAPI) -> FastAPI:
    """3,000 tenants: ``t00000``..``t02999``, named ``Company N`` (``Acme`` every 500th)."""
    state = app.state.zohokit
    now = datetime.fromtimestamp(state.epoch(), UTC)
    rows = [
        {
            "tenant": f"t{i:05d}",
            "name": _name(i),
            "data_center": "us",
            "created_at": state.epoch() - i,
        }
        for i in range(TENANTS)
    ]
    tokens = [t for i in range(TENANTS) if (t := token_row(i, now)) is not None]
    calendar = [
        {**t, "provider": "zoho_calendar", "status": "active", "cooldown_until": None}
        for t in tokens[::3]
    ]
    for t in calendar:
        t["expires_at"] = now + timedelta(hours=1)
    async with state.zoho.engine.begin() as conn:
        await conn.execute(insert(tenants), rows)
        await conn.execute(insert(oauth_tokens), tokens + calendar)
    return app


async def _all_pages(client: httpx.AsyncClient, **params: object) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/tenants", params=query, headers=key(GLOBAL_KEY))
        assert answer.status_code == 200, answer.text
        found += [t["tenant"] for t in answer.json()]
        cursor = answer.headers.get("x-next-cursor")
        if cursor is None:
            assert "link" not in answer.headers
            return found
        assert 'rel="next"' in answer.headers["link"]


async def _every_page(app: FastAPI, **params: object) -> list[str]:
    """Every tenant the list gives for ``params``, page by page through its cursors."""
    state = app.state.zohokit
    now = datetime.fromtimestamp(state.epoch(), UTC)
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = await list_tenants(state.zoho.engine, TenantQuery(cursor=cursor, **params), now)  # type: ignore[arg-type]
        found += [t.tenant for t in page.tenants]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _name(i: int) -> str:
    return "Acme Widgets" if i % 500 == 7 else f"Company {i}"


async def test_filters_sorts_and_keyset_pages_find_the_right_rows(fleet: FastAPI) -> None:
    for word in STATES:
        got = await _every_page(fleet, health=word, provider="zoho_crm", limit=97)
        assert got == [f"t{i:05d}" for i in range(TENANTS) if i % 6 == STATES.index(word)]
    calendar = await _every_page(fleet, provider="zoho_calendar", limit=500)
    assert len(calendar) == len([i for i in range(TENANTS) if i % 6 != 5][::3])
    assert await _every_page(fleet, search="acme") == [f"t{i:05d}" for i in range(7, TENANTS, 500)]
    assert await _every_page(fleet, search="T0299") == [f"t{i:05d}" for i in range(2990, 3000)]
    newest = await _every_page(fleet, sort="created", limit=250)
    assert newest == [f"t{i:05d}" for i in range(TENANTS)]
    by_name = await _every_page(fleet, sort="name", limit=123, health="revoked")
    revoked = [i for i in range(TENANTS) if i % 6 == 4]
    assert by_name == [f"t{i:05d}" for i in sorted(revoked, key=lambda i: (_name(i), i))]


@pytest.mark.usefixtures("fleet")
async def test_api_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    got = await _all_pages(client, health="cooldown", q="t00", limit=40)
    assert got == [f"t{i:05d}" for i in range(2, 1000, 6)]
    answer = await client.get("/api/tenants?q=acme&limit=2", headers=key(GLOBAL_KEY))
    assert [t["tenant"] for t in answer.json()] == ["t00007", "t00507"]
    assert answer.headers["link"].startswith("</api/tenants?q=acme&sort=tenant&limit=2&cursor=")


async def test_api_refuses_bad_filters_with_what_to_fix(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/tenants?health=fine", headers=key(GLOBAL_KEY))
    assert answer.status_code == 422
    assert "health: one of healthy, expiring" in answer.json()["message"]
    answer = await client.get("/api/tenants?cursor=garbage", headers=key(GLOBAL_KEY))
    assert answer.status_code == 422
    assert "cursor" in answer.json()["message"]


@pytest.mark.usefixtures("fleet")
async def test_a_tenant_key_lists_only_its_tenant(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/tenants?q=t0", headers=key(ACME_KEY))
    assert answer.status_code == 200
    assert answer.json() == []


@pytest.mark.usefixtures("fleet")
async def test_console_page_filters_counts_and_pages(client: httpx.AsyncClient) -> None:
    await login(client, GLOBAL_KEY)
    page = (await client.get("/admin/tenants")).text
    assert re.search(r'id="metric-tenants">3000<', page)
    assert re.search(r'id="metric-cooldown">500<', page)
    # Healthy: 500 CRM connections and every Calendar one.
    assert re.search(r'id="metric-healthy">1334<', page)
    assert page.count('data-provider="zoho_crm"') == 50
    page = (await client.get("/admin/tenants?health=needs_reauth&provider=zoho_crm")).text
    shown = re.findall(r'data-tenant="(t\d+)" data-provider="zoho_crm"', page)
    assert shown == [f"t{i:05d}" for i in range(3, 300, 6)]
    assert set(re.findall(r'data-state="(\w+)"', page)) >= {"needs_reauth"}
    following = re.search(r'href="(/admin/tenants\?[^"]+)" id="page-next"', page)
    assert following is not None
    second = (await client.get(following.group(1).replace("&amp;", "&"))).text
    shown = re.findall(r'data-tenant="(t\d+)" data-provider="zoho_crm"', second)
    assert shown[0] == "t00303"
    assert 'id="page-first"' in second
    page = (await client.get("/admin/tenants?q=widgets")).text
    assert len(re.findall(r'data-provider="zoho_crm"', page)) == 6
    page = (await client.get("/admin/tenants?health=nope")).text
    assert "health: one of" in page
