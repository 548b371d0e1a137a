"""The tenant list reads its page's connections in one query, whatever the page's size: the
console page and ``GET /api/tenants`` send as many statements for 50 tenants as for 2 (they
used to send two per listed tenant)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, insert

from tests.server.support import GLOBAL_KEY, key, login
from zohokit.server._tables import tenants
from zohokit.tokens._store import oauth_tokens


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the service sends while the block runs."""
    seen: list[str] = []
    engine = app.state.zohokit.zoho.engine.sync_engine

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def _fleet(app: FastAPI, count: int) -> None:
    state = app.state.zohokit
    now = datetime.fromtimestamp(state.epoch(), UTC)
    rows = [
        {"tenant": f"t{i:03d}", "name": f"T {i}", "data_center": "us", "created_at": state.epoch()}
        for i in range(count)
    ]
    tokens = [
        {
            "tenant": f"t{i:03d}",
            "provider": provider,
            "source": "connect",
            "status": "active",
            "expires_at": now + timedelta(hours=1),
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
        for provider in ("zoho_crm", "zoho_calendar")
    ]
    async with state.zoho.engine.begin() as conn:
        await conn.execute(insert(tenants), rows)
        await conn.execute(insert(oauth_tokens), tokens)


def _token_reads(seen: list[str]) -> int:
    return sum(1 for s in seen if "FROM oauth_tokens" in s)


async def _list_costs(app: FastAPI, client: httpx.AsyncClient) -> tuple[int, int, int]:
    """Statements for the console page and the API, and how many of them read tokens."""
    with statements(app) as page:
        answer = await client.get("/admin")
        assert answer.status_code == 200
    with statements(app) as api:
        listed = await client.get("/api/tenants?limit=50", headers=key(GLOBAL_KEY))
        assert listed.status_code == 200
    assert all(len(t["providers"]) == 2 for t in listed.json())
    return len(page), len(api), _token_reads(page) + _token_reads(api)


async def test_a_page_of_50_costs_what_a_page_of_2_costs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await login(client, GLOBAL_KEY)
    await _fleet(app, 2)
    small = await _list_costs(app, client)
    async with app.state.zohokit.zoho.engine.begin() as conn:
        await conn.execute(tenants.delete())
        await conn.execute(oauth_tokens.delete())
    await _fleet(app, 60)
    large = await _list_costs(app, client)
    assert large == small
    page_reads = small[2]
    # The page: the counts and the page's connections; the API: the page's connections.
    assert page_reads == 3
