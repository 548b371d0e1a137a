"""Calls in flight per org, for the whole fleet: roots sharing one database keep to the org's
limit together, reuse a grant without database round trips, keep to the heavy-API cap and
the batch share, fail fast when told to, and get a dead holder's slots back after its lease."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import event

from tests.budget.conftest import TENANT, Roots, read, until
from zohokit import Zoho
from zohokit.budget import BudgetConfig, batch_lane, fail_fast, wait_for_slot
from zohokit.budget._store import GrantKey
from zohokit.emulator import Emulator
from zohokit.errors import RateLimited


@pytest.mark.zoho_emulator(concurrency_limit=4, latency_ms=30)
async def test_roots_sharing_a_database_keep_to_the_orgs_limit_together(
    roots: Roots, emulator: Emulator
) -> None:
    fleet = [await roots() for _ in range(3)]
    assert fleet[0].budget is not None
    await fleet[0].budget.set_limits(TENANT, concurrency=4)

    statuses = await asyncio.gather(*(read(root) for root in fleet for _ in range(20)))

    stats = emulator.stats.snapshot()
    assert set(statuses) <= {200, 204}
    assert stats["rejected_429"] == 0
    assert stats["max_concurrency_seen"] == 4  # every slot used, none more


async def test_a_grant_is_reused_call_after_call_without_a_database_round_trip(
    roots: Roots,
) -> None:
    root = await roots()
    await read(root)  # the org row, the first grant, the first credits
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(root.engine.sync_engine, "before_cursor_execute", count)
    calls = 100
    for _ in range(calls):
        await read(root)
    event.remove(root.engine.sync_engine, "before_cursor_execute", count)

    # The keeper reads the org now and then (pauses), and a credit chunk is taken every
    # 100 credits; nothing is per call.
    assert len(statements) < calls / 5, statements


@pytest.mark.zoho_emulator(latency_ms=40)
async def test_batch_work_queued_behind_its_whole_share_asks_the_database_nothing_more(
    roots: Roots, emulator: Emulator
) -> None:
    # A sync push: more batches at once than batch work's 8 of the org's 10 slots.
    root = await roots()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    async def batch_read() -> int:
        with batch_lane():
            return await read(root)

    await batch_read()  # the org row, the first grant, the first credits
    event.listen(root.engine.sync_engine, "before_cursor_execute", count)
    statuses = await asyncio.gather(*(batch_read() for _ in range(80)))
    event.remove(root.engine.sync_engine, "before_cursor_execute", count)

    assert set(statuses) <= {200, 204}
    assert emulator.stats.snapshot()["max_concurrency_seen"] == 8
    # Ten rounds of eight: the queued calls get the slots the finished ones free, and no
    # one polls the database for a slot its lane may not have (it did, every 10-25 ms).
    looks_for_slots = [s for s in statements if s.startswith("SELECT budget_grants.lane")]
    assert len(looks_for_slots) <= 2, statements


@pytest.mark.zoho_emulator(concurrency_limit=20, heavy_concurrency_limit=3, latency_ms=30)
async def test_heavy_calls_keep_to_the_heavy_cap_across_roots(
    roots: Roots, emulator: Emulator
) -> None:
    fleet = [await roots(), await roots()]
    assert fleet[0].budget is not None
    await fleet[0].budget.set_limits(TENANT, concurrency=20, heavy_concurrency=3)
    query = {"select_query": "select Email from Leads where Email is not null limit 10"}

    async def coql(root: Zoho) -> int:
        answer = await root.http.request(TENANT, "zoho_crm", "POST", "/crm/v8/coql", json=query)
        return answer.status

    await asyncio.gather(*(coql(root) for root in fleet for _ in range(12)))

    assert emulator.stats.snapshot()["rejected_429"] == 0


@pytest.mark.zoho_emulator(latency_ms=400)
async def test_a_call_that_may_not_wait_fails_fast_without_sending(
    roots: Roots, emulator: Emulator
) -> None:
    holder, other = await roots(), await roots()
    assert holder.budget is not None
    await holder.budget.set_limits(TENANT, concurrency=1)
    busy = asyncio.create_task(read(holder))
    await until(lambda: emulator.stats.in_flight > 0)
    sent = emulator.stats.snapshot()["crm_requests"]

    with fail_fast(), pytest.raises(RateLimited) as refused:
        await read(other)

    assert refused.value.code == "BUDGET_NO_SLOT"
    assert refused.value.status is None
    assert refused.value.retry_after
    assert emulator.stats.snapshot()["crm_requests"] == sent  # nothing reached Zoho
    with wait_for_slot(10):
        assert await read(other) in (200, 204)  # waits for the holder's slot, then goes
    await busy


async def test_a_dead_holders_slots_come_back_when_its_lease_passes(roots: Roots) -> None:
    root = await roots()
    budget = root.budget
    assert budget is not None
    await budget.set_limits(TENANT, concurrency=2)
    dead = GrantKey("dead-host:4242:0", TENANT, "interactive", False)
    # A process that took both slots: while its lease runs, nobody else gets them.
    grant = await budget.store.take(dead, held=0, want=2, now=time.time(), lease=60.0)
    assert grant.granted == 2
    with fail_fast(), pytest.raises(RateLimited):
        await read(root)
    (state,) = await budget.status(TENANT)
    assert state.slots["interactive"] == 2
    assert state.holders == 1
    # Its last renewal, with a lease of one second; then it died: nobody renews its row.
    lease = 1.0
    renewed_at = time.time()
    await budget.store.hold(dead, slots=2, now=renewed_at, lease=lease)

    await asyncio.sleep(max(0.0, renewed_at + lease - time.time()) + 0.05)

    with fail_fast():
        assert await read(root) in (200, 204)  # within the lease bound, back to the fleet


@pytest.mark.zoho_emulator(latency_ms=300)
async def test_batch_work_leaves_interactive_calls_their_reserved_slots(
    roots: Roots, emulator: Emulator
) -> None:
    root = await roots()
    assert root.budget is not None
    await root.budget.set_limits(TENANT, concurrency=5, batch_share=0.8)

    async def batch_reads() -> None:
        with batch_lane():
            await asyncio.gather(*(read(root) for _ in range(12)))

    batch = asyncio.create_task(batch_reads())
    await until(lambda: emulator.stats.in_flight >= 4)
    (state,) = await root.budget.status(TENANT)
    assert state.slots["batch"] == 4  # its share: one slot is kept

    with fail_fast():
        assert await read(root) in (200, 204)  # no queue behind the batch
    await batch
    assert emulator.stats.snapshot()["max_concurrency_seen"] <= 5


@pytest.mark.zoho_emulator(latency_ms=50)
async def test_a_holder_gives_its_free_slots_back_at_once_when_another_root_waits(
    roots: Roots, emulator: Emulator
) -> None:
    # Kept for a minute when nobody wants them: only the wanted signal can free them sooner.
    holder = await roots(budget=BudgetConfig(tick=0.05, linger=60.0))
    waiter = await roots()
    assert holder.budget is not None
    await holder.budget.set_limits(TENANT, concurrency=2)
    await asyncio.gather(read(holder), read(holder))  # it holds both slots, idle now
    (state,) = await holder.budget.status(TENANT)
    assert state.slots["interactive"] == 2

    with wait_for_slot(10):  # far less than the linger
        statuses = await asyncio.gather(read(waiter), read(waiter))

    assert set(statuses) <= {200, 204}
    assert emulator.stats.snapshot()["max_concurrency_seen"] <= 2


@pytest.mark.zoho_emulator(latency_ms=200)
async def test_interactive_callers_waiting_are_served_before_batch_work_queued_elsewhere(
    roots: Roots, emulator: Emulator
) -> None:
    sync, app = await roots(), await roots()
    assert sync.budget is not None
    # Batch work may hold 3 of 4; interactive calls beyond the one kept for them must wait.
    await sync.budget.set_limits(TENANT, concurrency=4, batch_share=0.75)
    synced = 0

    async def batch_read() -> None:
        nonlocal synced
        with batch_lane():
            await read(sync)
        synced += 1

    batch = asyncio.gather(*(batch_read() for _ in range(60)))
    await until(lambda: emulator.stats.in_flight >= 3)
    before = synced

    with wait_for_slot(30):
        statuses = await asyncio.gather(*(read(app) for _ in range(12)))

    # Twelve calls on the one kept slot would take twelve rounds, in which the batch queue
    # would move three reads a round; served first, they take the batch's slots as they free.
    assert synced - before < 12
    assert set(statuses) <= {200, 204}
    await batch
    stats = emulator.stats.snapshot()
    assert stats["max_concurrency_seen"] <= 4
    assert stats["rejected_429"] == 0
