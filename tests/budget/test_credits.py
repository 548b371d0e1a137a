"""The credit ledger and the lanes: each call's cost is counted per tenant and day, Zoho's
own count corrects it, and a sync push past the batch share stops resumable with
BudgetExhausted while bookings (interactive) still go through."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest

from tests.budget.conftest import TENANT, Roots, read
from tests.fixtures.emulator import mint_access_token
from tests.scheduling.support import ANN, NOW, SCHEDULE, at
from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit.budget import call_cost, is_heavy
from zohokit.emulator import Emulator, create_app
from zohokit.errors import BudgetExhausted
from zohokit.scheduling import Schedule
from zohokit.sync import SyncMapping, push

MAPPING = SyncMapping.from_dict(CONTACTS_MAPPING)
ROWS = [{"Last_Name": f"L{i}"} for i in range(25)]


@pytest.mark.parametrize(
    ("method", "path", "options", "cost", "heavy"),
    [
        ("GET", "/crm/v8/Leads", {"params": {"fields": "Email"}}, 1, False),
        ("GET", "/crm/v8/Leads", {"params": {"cvid": "1"}}, 3, True),
        ("POST", "/crm/v8/Leads/upsert", {"json": {"data": ROWS[:10]}}, 1, False),
        ("POST", "/crm/v8/Leads/upsert", {"json": {"data": ROWS}}, 3, True),
        ("POST", "/crm/v8/coql", {"json": {"select_query": "select Email from Leads"}}, 1, True),
        ("POST", "/crm/v8/coql", {"json": {"select_query": "select a from b limit 500"}}, 2, True),
        (
            "POST",
            "/crm/v8/coql",
            {"json": {"select_query": "select a from b LIMIT 0, 2000"}},
            3,
            True,
        ),
        ("POST", "/crm/v8/Leads/1/actions/convert", {"json": {"data": [{}]}}, 5, True),
        ("POST", "/crm/v8/__composite_requests", {"json": {"__composite_requests": []}}, 1, True),
        ("POST", "/crm/bulk/v8/read", {"json": {"query": {}}}, 50, True),
        ("POST", "/crm/bulk/v8/write", {"json": {}}, 500, True),
        ("GET", "/crm/bulk/v8/read/123", {}, 1, True),
        ("GET", "/crm/v8/Leads/actions/count", {}, 50, False),
        ("GET", "/crm/v8/Leads/search", {"params": {"email": "a@b.c"}}, 1, True),
    ],
)
def test_each_call_kind_costs_what_zoho_charges(
    method: str, path: str, options: dict[str, object], cost: int, heavy: bool
) -> None:
    assert call_cost(method, path, **options) == cost  # type: ignore[arg-type]
    assert is_heavy(method, path, **options) is heavy  # type: ignore[arg-type]


async def test_the_ledger_counts_every_calls_cost_per_tenant_and_lane(roots: Roots) -> None:
    root = await roots()
    crm = root.crm(TENANT)
    await crm.upsert_records("Leads", ROWS, duplicate_check_fields=["Last_Name"])  # 3
    await read(root)  # 1
    budget = root.budget
    assert budget is not None
    await budget.aclose()  # gives the unspent part of its chunk back

    (state,) = await budget.status(TENANT)
    assert state.credits == {"interactive": 4, "batch": 0}
    assert state.used == 4
    assert state.credits_left == state.daily_credits - 4
    assert state.edition == "standard"
    assert state.source == "default"


@pytest.mark.zoho_emulator(daily_credits=40)
async def test_zohos_credits_remaining_corrects_the_ledger(
    roots: Roots, emulator: Emulator
) -> None:
    root = await roots()
    assert root.budget is not None
    await root.budget.set_limits(TENANT, daily_credits=40)
    # Another app of the same org spends 20 credits: only Zoho's count knows.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(emulator)), base_url=emulator.base_url
    ) as other:
        headers = {"Authorization": f"Zoho-oauthtoken {await mint_access_token(other)}"}
        for _ in range(20):
            await other.get("/crm/v8/Leads", params={"fields": "Email"}, headers=headers)

    for _ in range(5):
        await read(root)
    await root.budget.aclose()

    (state,) = await root.budget.status(TENANT)
    assert state.credits["interactive"] == 5  # what we counted
    assert state.zoho_used == 25  # what Zoho counts: 40 minus its X-API-CREDITS-REMAINING
    assert state.used == 25
    assert state.credits_left == 15


async def test_a_push_past_its_share_stops_resumable_and_bookings_still_succeed(
    roots: Roots, emulator: Emulator
) -> None:
    root = await roots(clock=lambda: NOW)
    assert root.budget is not None
    # 100 credits a day, half for batch work: the push needs 100 (10 writes of 100 rows).
    await root.budget.set_limits(TENANT, daily_credits=100, batch_share=0.5)
    await root.bookings.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
    rows = [contact(n) for n in range(1000)]

    async def bookings() -> list[str]:
        done = []
        for hour in (9, 10, 11):
            await asyncio.sleep(0)
            booking = await root.bookings.confirm(TENANT, start=at(hour), customer=ANN)
            done.append(booking.status)
        return done

    pushing = asyncio.create_task(push(root.crm(TENANT), root.ledger, rows, MAPPING))
    booked = await bookings()
    with pytest.raises(BudgetExhausted) as stopped:
        await pushing

    assert booked == ["complete"] * 3  # interactive calls kept their share
    error = stopped.value
    assert (error.allowed, error.daily, error.tenant) == (50, 100, TENANT)
    assert error.resets_at.startswith(date(2031, 3, 4).isoformat())
    (run,) = await root.ledger.runs(TENANT)
    assert run.status == "budget_exhausted"
    synced = len(emulator.crm.records("Contacts")) - 1  # Ann is a booking's contact
    assert 0 < synced < 1000

    # The next day's budget (here: a bigger one) lets the rerun finish what is left.
    await root.budget.set_limits(TENANT, daily_credits=1000)
    again = await push(root.crm(TENANT), root.ledger, rows, MAPPING)

    assert again.status == "completed"
    assert again.unchanged == synced
    assert again.created == 1000 - synced
    assert len(emulator.crm.records("Contacts")) == 1001


async def test_interactive_credits_taken_first_leave_batch_its_share(
    roots: Roots, emulator: Emulator
) -> None:
    """An interactive call takes a whole chunk of the day before any batch work starts; the
    chunk is the interactive reserve, so a push after it still gets its own share."""
    root = await roots(clock=lambda: NOW)
    assert root.budget is not None
    await root.budget.set_limits(TENANT, daily_credits=100, batch_share=0.5)
    await read(root)  # interactive: takes its chunk (up to the whole day) from the ledger
    rows = [contact(n) for n in range(1000)]
    with pytest.raises(BudgetExhausted):
        await push(root.crm(TENANT), root.ledger, rows, MAPPING)
    assert 0 < len(emulator.crm.records("Contacts")) < 1000
