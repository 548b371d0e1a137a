"""The Chromium harness of the console's tests: a served service over a fleet of 5,000
tenants in mixed states (:mod:`tests.server.fleet`, bulk inserts), a real headless Chromium
logged in with the global key, and checks a person would make (no horizontal scroll, no
request leaves the machine), with screenshots written to ``tests/artifacts/``.

One fleet, one service and one browser per test module (the ``console`` fixture, module
scope), so a module's tests share the seeding and the browser's start::

    def test_something(console: Console) -> None:
        page = console.open("/admin/tenants?health=cooldown")
        console.fits(page, 390)
        console.screenshot(page, "list-390.png")
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.fleet import Fleet, seed_fleet
from tests.server.support import (
    ARTIFACTS,
    GLOBAL_KEY,
    Clock,
    ServiceThread,
    chromium,
    free_socket,
    need_chromium,
    settings_for,
)
from zohokit import db
from zohokit.server import create_app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

__all__ = ["FLEET_SIZE", "Console", "console"]

#: The fleet every console module is tested against.
FLEET_SIZE = 5000
#: The widths the console must read at: a laptop and a phone.
WIDE, NARROW = 1280, 390


@dataclass
class Console:
    """The served console, its fleet, and a browser logged in with the global key."""

    url: str
    fleet: Fleet
    clock: Clock
    browser: BrowserContext
    page: Page
    #: Every request the pages made to another origin (they must make none).
    outside: list[str] = field(default_factory=list)

    def open(self, path: str, width: int = WIDE) -> Page:
        """The logged-in page at ``path``, ``width`` px wide."""
        self.page.set_viewport_size({"width": width, "height": 900})
        self.page.goto(f"{self.url}{path}")
        return self.page

    def follow(self, page: Page, selector: str) -> None:
        """Click the link or button at ``selector`` and wait until the page it leads to has
        loaded. A click only waits for the navigation to start, so reading the rows straight
        after it can find the next document still empty."""
        before = page.url
        page.click(selector)
        page.wait_for_url(lambda url: url != before)

    def fits(self, page: Page, width: int) -> None:
        """Assert the page has no horizontal scroll at ``width`` px."""
        page.set_viewport_size({"width": width, "height": 900})
        scroll, inner = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll <= inner, f"{page.url}: {scroll} px wide in a {inner} px window"

    def screenshot(self, page: Page, name: str) -> Path:
        """A full-page screenshot in ``tests/artifacts/``."""
        path = ARTIFACTS / name
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return path

    def focus_by_keyboard(self, page: Page, element_id: str, presses: int = 60) -> None:
        """Tab from the top of the page until ``element_id`` has the focus (as a keyboard
        user reaches it); fails if it never does."""
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        for _ in range(presses):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement && document.activeElement.id") == (
                element_id
            ):
                return
        raise AssertionError(f"#{element_id} is not reachable with Tab")


async def _seed(url: str, now: datetime) -> Fleet:
    await db.upgrade_async(url)
    engine = db.create_engine(url)
    try:
        return await seed_fleet(engine, now, FLEET_SIZE)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console over a 5,000-tenant fleet in Chromium, logged in (see the module)."""
    need_chromium()
    folder = tmp_path_factory.mktemp("console")
    settings = settings_for(folder)
    clock = Clock(datetime.now(UTC))
    fleet = asyncio.run(_seed(settings.database_url(), clock()))
    app = create_app(settings, clock=clock)
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        ServiceThread(app, free_socket()) as service,
        chromium(folder / "profile", only=service.url) as browser,
    ):
        page = browser.context.new_page()
        page.goto(f"{service.url}/admin")
        page.fill("#api_key", GLOBAL_KEY)
        page.click("#login")
        page.wait_for_selector("#panel-health")
        yield Console(service.url, fleet, clock, browser.context, page, browser.outside)
    assert browser.outside == [], f"requests left the machine: {browser.outside}"


def texts(page: Page, selector: str) -> list[str]:
    """The inner texts of every element ``selector`` matches."""
    found: Any = page.locator(selector).all_inner_texts()
    return [str(t) for t in found]
