"""A Zoho 429 with Retry-After pauses the tenant's calls in every root: roots sharing one
database send nothing to that org until the pause is over, and a call that may not wait is
told how long to wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.budget.conftest import TENANT, Roots, read, until
from zohokit.budget import fail_fast
from zohokit.emulator import Emulator
from zohokit.errors import RateLimited

PAUSE = 3.0  # the code path of any Retry-After: the fleet test (test_fleet.py) waits out 5


async def test_a_429_with_retry_after_pauses_the_tenant_in_every_root(
    roots: Roots, emulator: Emulator
) -> None:
    first, second, third = await roots(), await roots(), await roots()
    await read(second)  # it holds a grant: it learns of the pause from its keeper
    emulator.faults.configure(
        {
            "rules": [
                {
                    "route": "/crm/v8/Leads",
                    "throttle_rate": 1.0,
                    "count": 1,
                    "retry_after_seconds": PAUSE,
                }
            ]
        }
    )
    throttled = asyncio.create_task(read(first))  # 429, then waits and retries
    await until(lambda: emulator.stats.snapshot().get("rejected_429", 0) > 0)
    paused_at = time.monotonic()
    await asyncio.sleep(1.0)  # well past the keepers' tick
    sent = emulator.stats.snapshot()["crm_requests"]

    with fail_fast(), pytest.raises(RateLimited) as told:
        await read(third)
    later = asyncio.create_task(read(second))
    await asyncio.sleep(PAUSE - 2.0)
    assert emulator.stats.snapshot()["crm_requests"] == sent  # nobody called the org

    assert told.value.code == "BUDGET_PAUSED"
    assert told.value.retry_after is not None
    assert 0 < told.value.retry_after <= PAUSE
    assert await later in (200, 204)
    assert time.monotonic() - paused_at >= PAUSE - 0.1  # it went only after the pause
    assert await throttled in (200, 204)
    (state,) = await first.budget.status(TENANT)  # type: ignore[union-attr]
    assert state.paused_for == 0.0


async def test_processes_meeting_a_new_org_at_once_all_store_and_read_one_row(
    roots: Roots,
) -> None:
    # Six roots set a new org's limits at once: each finds no row, and each must end with
    # the one row (before, all but one failed on the primary key, as a database error).
    fleet = [await roots() for _ in range(6)]
    budgets = [root.budget for root in fleet]
    assert all(budget is not None for budget in budgets)
    rows = await asyncio.gather(
        *(b.set_limits("fresh-org", edition="enterprise") for b in budgets if b is not None)
    )
    assert {(row.tenant, row.limits.edition) for row in rows} == {("fresh-org", "enterprise")}
    # The first calls for an org with no row yet, at once: each stores the default limits
    # unless a peer did (an empty Leads list answers 204).
    assert await asyncio.gather(*(read(root) for root in fleet)) == [204] * 6
