"""Acceptance, in headless Chromium over 5,000 tenants in mixed states: the overview shows
each panel with the fleet's numbers and its status tiles open the matching list by keyboard;
the list's search, filters, sort and pages find exactly the right rows; both pages read at
1280 and 390 px with no horizontal scroll (screenshots in ``tests/artifacts/``)."""

from __future__ import annotations

import re

import pytest

from tests.server.console import NARROW, WIDE, Console, texts
from tests.server.fleet import STATES, name_of

pytestmark = pytest.mark.slow


def test_the_overview_shows_each_panel_with_the_fleets_numbers(console: Console) -> None:
    fleet = console.fleet
    page = console.open("/admin")
    for word, count in fleet.health.items():
        assert page.get_attribute(f"#health-{word}", "data-count") == str(count), word
    assert page.inner_text("#traffic-calls") == f"{sum(fleet.calls):,}"
    assert page.inner_text("#traffic-throttled") == f"{sum(fleet.throttled):,}"
    assert page.inner_text("#traffic-errors") == f"{sum(fleet.errors):,}"
    tips = page.locator("#chart-calls g[data-bar] > title").all_text_contents()
    assert len(tips) == 24
    parts = [[int(n) for n in re.findall(r"(\d+) [a-z]", tip)] for tip in tips]
    assert [sum(p) for p in parts] == fleet.calls
    assert [p[1] for p in parts] == fleet.throttled
    assert texts(page, "#throttled-most tbody tr td:first-child") == fleet.throttled_most
    assert page.inner_text("#credits-used") == f"{fleet.credits_used:,}"
    assert page.inner_text("#budget-orgs") == str(fleet.budget_orgs)
    assert texts(page, "#budgets tbody tr td:first-child")[0] == "t00019"  # the largest share
    assert page.inner_text("#jobs-backlog") == str(fleet.jobs_backlog)
    assert page.inner_text("#jobs-running") == str(fleet.jobs_running)
    assert page.inner_text("#jobs-failed") == str(fleet.jobs_failed)
    assert page.inner_text("#jobs-failed-runs") == str(fleet.job_runs_failed)
    assert page.inner_text("#webhooks-failed") == str(fleet.deliveries_failed)
    assert page.inner_text("#webhooks-retrying") == str(fleet.deliveries_retrying)
    console.fits(page, WIDE)
    console.screenshot(page, "overview-1280.png")
    console.fits(page, NARROW)
    console.screenshot(page, "overview-390.png")

    # A keyboard user reaches a status tile and opens the list of exactly those tenants.
    page.set_viewport_size({"width": WIDE, "height": 900})
    console.focus_by_keyboard(page, "health-needs_reauth")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/tenants?health=needs_reauth")
    first = texts(page, "#tenants td.who .muted")
    assert [t.split(" ·")[0] for t in first] == [f"t{i:05d}" for i in range(3, 300, 6)]


def _tenants_on(console: Console) -> list[str]:
    seen: list[str] = []
    for key in console.page.locator("#tenants tr[data-tenant]").evaluate_all(
        "rows => rows.map(r => r.dataset.tenant)"
    ):
        if key not in seen:
            seen.append(key)
    return seen


def test_search_filters_sort_and_pages_find_the_right_rows(console: Console) -> None:
    size = console.fleet.size
    page = console.open("/admin/tenants")
    assert page.inner_text("#metric-tenants") == str(size)
    assert _tenants_on(console) == [f"t{i:05d}" for i in range(50)]
    console.fits(page, WIDE)
    console.screenshot(page, "list-1280.png")

    page.fill("#filter-q", "acme widgets")
    page.press("#filter-q", "Enter")  # the search submits from the keyboard
    page.wait_for_url("**q=acme+widgets**")
    assert _tenants_on(console) == [f"t{i:05d}" for i in range(0, size, 500)]

    # Every tenant whose CRM connection is in cooldown, page by page, exactly once each.
    page.fill("#filter-q", "")
    page.select_option("#filter-health", "cooldown")
    page.select_option("#filter-provider", "zoho_crm")
    console.follow(page, "#filter-apply")
    found, pages = _tenants_on(console), 1
    while page.locator("#page-next").count():
        console.follow(page, "#page-next")
        found += _tenants_on(console)
        pages += 1
    expected = [f"t{i:05d}" for i in range(size) if STATES[i % 6] == "cooldown"]
    assert found == expected
    assert pages == -(-len(expected) // 50)
    badges = page.locator('#tenants tr[data-provider="zoho_crm"] .badge')
    assert set(badges.evaluate_all("bs => bs.map(b => b.dataset.state)")) == {"cooldown"}
    assert page.locator("#page-first").count() == 1

    # Sorted by name: "Company 49", "Company 490", ... as a person reads them, 50 a page.
    page.goto(f"{console.url}/admin/tenants?q=company+49&sort=name")
    named = sorted((name_of(i), f"t{i:05d}") for i in range(size) if "Company 49" in name_of(i))
    assert _tenants_on(console) == [key for _, key in named[:50]]
    console.follow(page, "#page-next")
    assert _tenants_on(console) == [key for _, key in named[50:100]]

    page = console.open("/admin/tenants?health=needs_reauth", NARROW)
    console.fits(page, NARROW)
    console.screenshot(page, "list-390.png")
