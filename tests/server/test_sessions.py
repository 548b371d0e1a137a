"""Admin sessions live in the database: logout, a removed key and a re-scoped key end them at
once, on every instance that shares the database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.server.support import ACME_KEY, GLOBAL_KEY, SERVICE_URL, settings_for
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app

from .test_admin import login


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@asynccontextmanager
async def instance(
    tmp_path: Path, emulator: Emulator, api_keys: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service on the same database, with its own key list."""
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    settings = settings_for(tmp_path, zohokit_api_keys=SecretStr(api_keys))
    app = create_app(settings, transport=transport)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SERVICE_URL) as http,
    ):
        yield http


def _cookie(value: str) -> dict[str, str]:
    """A copied session cookie, sent as a replaying client would."""
    return {"Cookie": f"zohokit_session={value}"}


def _is_login_page(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and 'action="/admin/login"' in answer.text


async def test_a_logged_out_cookie_replayed_gets_the_login_page(
    client: httpx.AsyncClient,
) -> None:
    csrf = await login(client, GLOBAL_KEY)
    copied = client.cookies["zohokit_session"]
    out = await client.post("/admin/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    replay = await client.get("/admin", headers=_cookie(copied))
    assert _is_login_page(replay)
    # Nor can the copy post a form with the old CSRF token.
    forged = await client.post(
        "/admin/tenants",
        data={"tenant": "acme", "csrf_token": csrf},
        headers=_cookie(copied),
    )
    assert forged.status_code == 401


async def test_logout_on_one_instance_ends_the_session_on_another(
    client: httpx.AsyncClient, tmp_path: Path, emulator: Emulator
) -> None:
    csrf = await login(client, GLOBAL_KEY)
    copied = client.cookies["zohokit_session"]
    keys = f"{GLOBAL_KEY},acme:{ACME_KEY}"
    async with instance(tmp_path, emulator, keys) as other:
        before = await other.get("/admin", headers=_cookie(copied))
        assert "Log out" in before.text
        await client.post("/admin/logout", data={"csrf_token": csrf})
        after = await other.get("/admin", headers=_cookie(copied))
        assert _is_login_page(after)


@pytest.mark.parametrize(
    ("logged_in_with", "keys_after"),
    [
        (ACME_KEY, GLOBAL_KEY),  # the key was removed
        # The same key, now bound to one tenant: a session made for every tenant must end.
        (GLOBAL_KEY, f"acme:{GLOBAL_KEY}"),
    ],
    ids=["removed", "re-scoped"],
)
async def test_removing_or_rescoping_the_key_ends_its_sessions(
    client: httpx.AsyncClient,
    tmp_path: Path,
    emulator: Emulator,
    logged_in_with: str,
    keys_after: str,
) -> None:
    await login(client, logged_in_with)
    copied = client.cookies["zohokit_session"]
    async with instance(tmp_path, emulator, keys_after) as restarted:
        answer = await restarted.get("/admin", headers=_cookie(copied))
        assert _is_login_page(answer)


async def test_the_database_keeps_no_usable_cookie(client: httpx.AsyncClient, app: object) -> None:
    from sqlalchemy import select

    from zohokit.server._tables import admin_sessions

    await login(client, GLOBAL_KEY)
    value = client.cookies["zohokit_session"]
    engine = app.state.zohokit.zoho.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(admin_sessions))).all()
    assert len(rows) == 1
    assert value not in repr(rows)
