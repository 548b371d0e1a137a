"""Acceptance: in headless Chromium, log in to the sandbox's admin page, add a tenant, click
Connect, consent at the (emulated) Zoho, and see the tenant healthy. A screenshot is saved to
``tests/artifacts/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.support import ARTIFACTS, chromium, need_chromium, sandbox_served

pytestmark = pytest.mark.slow


def test_login_connect_new_tenant_and_see_it_healthy(tmp_path: Path) -> None:
    need_chromium()
    with sandbox_served(tmp_path) as (box, service), chromium(tmp_path / "profile") as browser:
        page = browser.context.new_page()
        page.goto(f"{service.url}/admin")
        page.fill("#api_key", "wrong-key-0123456789abcdef")
        page.click("#login")
        assert page.inner_text("#login-error") == "That key is not valid."
        page.fill("#api_key", box.api_key)
        page.click("#login")
        page.click("#nav-tenants")
        # The sandbox's demo tenant is there and healthy.
        demo = page.locator('tr[data-tenant="demo"][data-provider="zoho_crm"] .badge')
        assert demo.get_attribute("data-state") == "healthy"
        page.fill('#new-tenant input[name="tenant"]', "acme")
        page.fill('#new-tenant input[name="name"]', "Acme Inc")
        page.click("#create-tenant")
        row = 'tr[data-tenant="acme"][data-provider="zoho_crm"]'
        assert page.locator(f"{row} .badge").get_attribute("data-state") == "not_connected"
        page.click(f"{row} button")
        # Zoho's consent (simulated) sends the browser back through the callback.
        page.wait_for_url(f"{service.url}/admin/tenants?connected=*")
        assert page.inner_text("#flash") == "Connected acme to Zoho CRM."
        assert page.locator(f"{row} .badge").get_attribute("data-state") == "healthy"
        page.screenshot(path=str(ARTIFACTS / "admin-connected.png"), full_page=True)
    assert (ARTIFACTS / "admin-connected.png").stat().st_size > 10_000
    assert box.emulator.stats.snapshot()["token_code_requests"] == 1
