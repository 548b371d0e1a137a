"""Review findings on who may call the service."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from tests.server.support import ACME_KEY, GLOBAL_KEY, SERVICE_URL, key, settings_for
from tests.server.test_admin import login
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app


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
