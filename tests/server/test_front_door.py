"""The front door: ``/`` leads to the console; ``/docs`` is Swagger UI served by zohokit
itself, behind a session (open in the sandbox), and works in Chromium with no outside network."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.support import (
    ACME_KEY,
    chromium,
    login,
    need_chromium,
    sandbox_served,
)


async def test_root_leads_to_the_console_login(client: httpx.AsyncClient) -> None:
    answer = await client.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    page = await client.get("/", follow_redirects=True)
    assert 'action="/admin/login"' in page.text


async def test_docs_need_a_session_outside_the_sandbox(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 303
    assert page.headers["location"] == "/admin"
    assert (await client.get("/docs/openapi.json")).status_code == 401
    # A tenant's own session reads the docs too: they describe the API, not anyone's data.
    await login(client, ACME_KEY)
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    document = (await client.get("/docs/openapi.json")).json()
    assert "/api/tenants" in document["paths"]


async def test_docs_assets_are_served_locally_and_nothing_else(client: httpx.AsyncClient) -> None:
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 100_000
    assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200
    assert (await client.get("/docs/assets/..%2F_docs.py")).status_code == 404
    assert (await client.get("/docs/assets/index.html")).status_code == 404


@pytest.mark.slow
def test_docs_list_the_operations_in_chromium_offline(tmp_path: Path) -> None:
    need_chromium()
    with (
        sandbox_served(tmp_path) as (_, service),
        chromium(tmp_path / "profile", only=service.url) as browser,
    ):
        page = browser.context.new_page()
        page.goto(f"{service.url}/")
        assert page.url == f"{service.url}/admin"
        page.goto(f"{service.url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=15_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.strip().startswith("/api/tenants") for p in paths)
        assert page.get_by_text("Create a tenant").count() >= 1
    assert browser.outside == []
