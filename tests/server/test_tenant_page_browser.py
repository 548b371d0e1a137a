"""Acceptance, in headless Chromium against the sandbox over loopback: from the tenant list,
open the demo tenant's page; every panel is there; Refresh now, a reconnect link (shown
focused, to copy) and Re-deliver are done by clicking, Delete by typing the tenant's key (the
keyboard alone); the page has no horizontal scroll at 1280 and at 390 px. Screenshots go to
``tests/artifacts/tenant-1280.png`` and ``tenant-390.png``.

What the page shows was written by another root on the same database (as the CLI or the
worker would): a sync run with failed rows and a webhook delivery that failed.

Then over the console harness's 5,000 tenants in mixed states (``tests/server/console.py``):
a tenant page in each state shows every panel and its word at both widths, Delete works by
keyboard, and page and actions are refused without a session and for another tenant's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from tests.server.console import NARROW, WIDE, Console
from tests.server.fleet import STATES
from tests.server.support import (
    ACME_KEY,
    ARTIFACTS,
    GLOBAL_KEY,
    chromium,
    need_chromium,
    sandbox_served,
    tenant_actions,
)
from zohokit import Zoho
from zohokit.server._sandbox import Sandbox
from zohokit.sync import RunReport

pytestmark = pytest.mark.slow

PANELS = ("connections", "traffic", "runs", "bookings", "channels", "deliveries", "delete")


async def _written_elsewhere(box: Sandbox) -> None:
    """What another process on the sandbox's database leaves for the page to show."""
    async with Zoho.from_settings(box.settings, transport=box.transport) as zoho:
        now = zoho.clock()
        run = RunReport("demo", "Leads", "push", now.isoformat(), created=4, failed=2)
        run.error("DUPLICATE_DATA", "lee@example.com", "duplicate data: Email")
        run.error("DUPLICATE_DATA", "kim@example.com", "duplicate data: Email")
        run.finish(now=now)
        await zoho.ledger.save_run(run)
        await zoho.webhooks.add(
            "http://127.0.0.1:9/hook", event_types=["booking.confirmed"], tenant="demo"
        )
        await zoho.emit("booking.confirmed", "demo", {"booking_id": "b-1"})
        await zoho.webhooks.run_due()


def _book(url: str, api_key: str) -> None:
    today = datetime.now(UTC).date()
    tuesday = today + timedelta(days=7 + (1 - today.weekday()) % 7)
    start = datetime.combine(tuesday, time(11), ZoneInfo("Europe/Berlin")).isoformat()
    booked = httpx.post(
        f"{url}/api/tenants/demo/bookings",
        json={"customer": {"name": "Bo Lee", "email": "bo@example.com"}, "start": start},
        headers={"X-API-Key": api_key, "Idempotency-Key": "tenant-page-1"},
        timeout=10,
    )
    assert booked.status_code == 201, booked.text


def test_the_tenant_page_in_chromium(tmp_path: Path) -> None:
    need_chromium()

    with sandbox_served(tmp_path) as (box, service):
        _book(service.url, box.api_key)
        asyncio.run(_written_elsewhere(box))
        api = httpx.post(
            f"{service.url}/api/tenants",
            json={"tenant": "scratch"},
            headers={"X-API-Key": box.api_key},
            timeout=10,
        )
        assert api.status_code == 201
        with chromium(tmp_path / "profile", viewport={"width": 1280, "height": 900}) as browser:
            _walk(browser.context.new_page(), service.url, box.api_key)
    for name in ("tenant-1280.png", "tenant-390.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def _no_horizontal_scroll(page: Page) -> None:
    wide, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= inner, f"{wide} > {inner}"


def _walk(page: Page, url: str, api_key: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/admin")
    page.fill("#api_key", api_key)
    page.click("#login")
    page.click("#nav-tenants")
    page.click('a.tenant-link[href="/admin/tenants/demo"]')
    page.wait_for_url(f"{url}/admin/tenants/demo")
    for panel in PANELS:
        expect(page.locator(f"section#{panel}")).to_be_visible()
    crm = page.locator('article.conn[data-provider="zoho_crm"]')
    expect(crm.locator(".badge")).to_have_attribute("data-state", "healthy")
    expect(page.locator("#calls-chart svg")).to_be_visible()
    expect(page.locator("#credits-chart svg")).to_be_visible()
    run = page.locator('#runs [data-run-status="completed_with_errors"]')
    expect(run).to_have_text("completed with errors")
    expect(page.locator("#runs [data-first-errors]")).to_contain_text("DUPLICATE_DATA x2")
    expect(page.locator("#bookings")).to_contain_text("Bo Lee")
    expect(page.locator("#deliveries [data-delivery-status]")).to_have_text("pending")

    # Refresh now, by clicking.
    page.click("#refresh-zoho_crm")
    expect(page.locator("#flash")).to_have_text("Refreshed Zoho CRM: a new access token is in use.")
    # A reconnect link, and its Copy button.
    page.click("#reconnect-link-zoho_crm")
    link = page.locator("#reconnect-link")
    assert link.input_value().startswith(f"{url}/oauth/v2/auth?")
    expect(link).to_be_focused()  # ready for Ctrl+A, Ctrl+C
    # Re-deliver the failed delivery.
    page.locator("#deliveries button").first.click()
    expect(page.locator("#flash")).to_contain_text("The delivery is queued again")

    _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "tenant-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    for panel in PANELS:
        expect(page.locator(f"section#{panel}")).to_be_visible()
    _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "tenant-390.png"), full_page=True)

    # Delete with the keyboard alone: focus the field, type the key, press Enter.
    page.goto(f"{url}/admin/tenants/scratch")
    page.focus("#confirm-delete")
    page.keyboard.type("scratc")
    page.keyboard.press("Enter")
    expect(page.locator("#error")).to_have_text(
        "Not deleted: type the tenant key scratch to confirm."
    )
    page.focus("#confirm-delete")
    page.keyboard.type("scratch")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/admin/tenants?deleted=scratch")
    expect(page.locator("#flash")).to_have_text(
        "Deleted tenant scratch: its tokens are revoked and erased."
    )


def test_fleet_tenant_pages_in_each_state(console: Console) -> None:
    """Over 5,000 tenants in mixed states: each state's tenant page shows every panel and
    its word, and reads at both widths."""
    for i, word in enumerate(STATES[:5]):
        page = console.open(f"/admin/tenants/t{i:05d}")
        for panel in PANELS:
            assert page.locator(f"section#{panel}").is_visible(), (word, panel)
        crm = page.locator('article.conn[data-provider="zoho_crm"]')
        assert crm.locator(".badge").get_attribute("data-state") == word
        refresh = crm.locator("#refresh-zoho_crm")
        assert refresh.count() == (0 if word in ("needs_reauth", "revoked") else 1)
        console.fits(page, WIDE)
        console.fits(page, NARROW)
    page = console.open("/admin/tenants/t00002")
    assert page.locator('[data-fact="cooldown"] .warning time').count() == 1
    # Delete by keyboard alone: Tab to the field, type the key, Enter.
    page = console.open("/admin/tenants/t04996")
    console.focus_by_keyboard(page, "confirm-delete", presses=80)
    page.keyboard.type("t04996")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.url}/admin/tenants?deleted=t04996")
    assert "Deleted tenant t04996" in page.inner_text("#flash")


def _log_in(console: Console, api_key: str) -> str:
    """A fresh session in the harness's browser; its CSRF token."""
    page = console.page
    page.context.clear_cookies()
    page.goto(f"{console.url}/admin")
    page.fill("#api_key", api_key)
    page.click("#login")
    page.wait_for_selector("#nav-tenants")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert token
    return token


def test_fleet_tenant_page_refused_without_a_session_or_for_another_tenant(
    console: Console,
) -> None:
    """Without a session the page leads to the login form and every action is a 401; with
    another tenant's session the page is a 403 and so is every action."""
    actions = tenant_actions("t00000", "dlv_x")
    page = console.page

    def refused(csrf: str, status: int) -> None:
        for path, form in actions:
            url = f"{console.url}/admin/tenants/{path}"
            answer = page.request.post(url, form={"csrf_token": csrf, **form})
            assert answer.status == status, path

    try:
        page.context.clear_cookies()
        page.goto(f"{console.url}/admin/tenants/t00000")
        assert page.url == f"{console.url}/admin"
        assert page.locator("#api_key").is_visible()
        refused("x", 401)
        csrf = _log_in(console, ACME_KEY)
        answer = page.goto(f"{console.url}/admin/tenants/t00000")
        assert answer is not None
        assert answer.status == 403
        assert page.inner_text("#message") == "This key is not valid for this tenant."
        refused(csrf, 403)
    finally:
        _log_in(console, GLOBAL_KEY)  # as the harness left it
    assert console.open("/admin/tenants/t00000").locator("section#connections").is_visible()
