"""Scheduled syncs: stored per tenant and name, run by workers on a simulated clock, and never
two runs of one tenant at once, even when two workers (each its own engine, on one SQLite
file or one PostgreSQL database) race for two schedules that fell due together."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.budget.conftest import roots  # noqa: F401  (a fixture)
from tests.fixtures.clock import ManualClock
from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit import Zoho
from zohokit.emulator import Emulator, create_app
from zohokit.errors import UnknownModule
from zohokit.events import read_events
from zohokit.sync import (
    SCHEDULED_SYNC,
    InvalidSyncSchedule,
    SyncMapping,
    TenantGuardLost,
    format_interval,
    next_run,
    parse_interval,
)
from zohokit.sync._schedule_job import LEASE, _guarded
from zohokit.worker import Worker

START = datetime(2031, 3, 3, 8, tzinfo=UTC)
MAPPING = SyncMapping.from_dict(CONTACTS_MAPPING)
Roots = Callable[..., Awaitable[Zoho]]


class Gate(httpx.AsyncBaseTransport):
    """The emulator in process, where reads of the records of ``held`` modules wait until
    :meth:`open` (``hold_first``: only the first such read waits; later ones go through).

    ``waiting`` is how many wait now; ``peak`` the most reads of ``watched`` modules (one
    tenant's) that were ever in flight at once, held or not: two overlapping runs of that
    tenant would show as 2."""

    def __init__(
        self,
        app: Any,
        held: tuple[str, ...],
        *,
        watched: tuple[str, ...] = (),
        hold_first: bool = False,
    ) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._held = held
        self._watched = watched
        self._hold_first = hold_first
        self._opened = asyncio.Event()
        self.waiting = 0
        self.held_so_far = 0
        self.in_flight = 0
        self.peak = 0

    def open(self) -> None:
        """Let every held read go on, and every later one through."""
        self._opened.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        module = request.url.path.removeprefix("/crm/v8/")
        watched = request.method == "GET" and module in self._watched
        if watched:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if (
                request.method == "GET"
                and module in self._held
                and not (self._hold_first and self.held_so_far)
            ):
                self.held_so_far += 1
                self.waiting += 1
                try:
                    await self._opened.wait()
                finally:
                    self.waiting -= 1
            return await self._inner.handle_async_request(request)
        finally:
            if watched:
                self.in_flight -= 1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fleet(roots: Roots, clock: ManualClock) -> Roots:  # noqa: F811
    """``fleet(transport=...)``: one more root ("a worker process": its own engine) on the
    test's database, over the emulator, on the test's clock (the budget tests' ``roots``)."""

    def make(**options: Any) -> Awaitable[Zoho]:
        return roots(clock=clock, **options)

    return make


async def connect(root: Zoho, *tenants: str) -> None:
    """Give each tenant a stored connection (seeded from the test client's credentials)."""
    for tenant in tenants:
        await root.tokens.get_access_token(tenant, "zoho_crm")


def source(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "contacts.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def file_sizes(folder: Path, pattern: str) -> list[int]:
    return [f.stat().st_size for f in sorted(folder.glob(pattern))]


def worker(root: Zoho) -> Worker:
    """A worker that runs scheduled syncs only, one job at a time."""
    return Worker(root, kinds=[SCHEDULED_SYNC], concurrency=1)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


# --- the pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h30m", 5400), ("90s", 90), ("2d", 172800), ("1 hour", 3600), ("1.5h", 5400)],
)
def test_intervals_read_as_people_write_them(text: str, seconds: int) -> None:
    interval = parse_interval(text)
    assert interval == timedelta(seconds=seconds)
    assert parse_interval(format_interval(interval)) == interval


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("15", "give a number and a unit"),
        ("fifteen minutes", "give a number and a unit"),
        ("15y", "unknown unit 'y'"),
        ("30s", "between 1m and 31d"),
        ("40d", "between 1m and 31d"),
        ("", "give a number and a unit"),
    ],
)
def test_a_bad_interval_is_refused_with_what_to_write(text: str, says: str) -> None:
    with pytest.raises(InvalidSyncSchedule, match=says):
        parse_interval(text)


def test_runs_fall_on_a_grid_from_the_anchor() -> None:
    every = timedelta(minutes=15)
    assert next_run(START, every, START) == START + every
    assert next_run(START, every, START - timedelta(hours=1)) == START
    # A run that outlasted two intervals is followed by the next point, not by the missed ones.
    assert next_run(START, every, START + timedelta(minutes=31)) == START + 3 * every


# --- adding, listing, removing ----------------------------------------------------------------


async def test_a_schedule_is_checked_before_it_is_stored(
    fleet: Roots, tmp_path: Path, emulator: Emulator
) -> None:
    root = await fleet()
    await connect(root, "acme")
    rows = source(tmp_path, [contact(1)])
    schedules = root.sync_schedules
    with pytest.raises(InvalidSyncSchedule, match=r"unknown tenant 'acem'.*connected: acme"):
        await schedules.add_push("acem", "contacts", source=rows, mapping=MAPPING, every="15m")
    with pytest.raises(UnknownModule, match="did you mean Contacts"):
        await schedules.add_pull(
            "acme", "c", module="Contactz", out=tmp_path / "c-{time}.jsonl", every="1h"
        )
    with pytest.raises(InvalidSyncSchedule, match=r"put \{time\} in it"):
        await schedules.add_pull(
            "acme", "c", module="Contacts", out=tmp_path / "c.jsonl", every="1h"
        )
    with pytest.raises(InvalidSyncSchedule, match="no such file"):
        await schedules.add_push(
            "acme", "c", source=tmp_path / "gone.csv", mapping=MAPPING, every="15m"
        )
    with pytest.raises(InvalidSyncSchedule, match="bad schedule name"):
        await schedules.add_push("acme", "no spaces", source=rows, mapping=MAPPING, every="15m")
    assert await schedules.list() == []
    assert await root.jobs.store.keys(SCHEDULED_SYNC) == set()

    added = await schedules.add_push("acme", "contacts", source=rows, mapping=MAPPING, every="15m")
    assert (added.key, added.direction, added.module, added.next_run_at) == (
        "acme:contacts",
        "push",
        "Contacts",
        START,
    )
    with pytest.raises(InvalidSyncSchedule, match="already"):
        await schedules.add_push("acme", "contacts", source=rows, mapping=MAPPING, every="15m")
    replaced = await schedules.add_push(
        "acme", "contacts", source=rows, mapping=MAPPING, every="1h", replace=True
    )
    assert replaced.interval == timedelta(hours=1)
    assert [s.to_dict()["every"] for s in await schedules.list("acme")] == ["1h"]


async def test_a_schedule_runs_on_time_and_stops_once_removed(
    fleet: Roots, tmp_path: Path, emulator: Emulator, clock: ManualClock
) -> None:
    root = await fleet()
    await connect(root, "acme")
    rows = [contact(n) for n in range(3)]
    path = source(tmp_path, rows)
    await root.sync_schedules.add_push(
        "acme", "contacts", source=path, mapping=MAPPING, every="15m"
    )
    await root.sync_schedules.add_pull(
        "acme", "changes", module="Contacts", out=tmp_path / "changes-{time}.jsonl", every="1h"
    )
    run = worker(root)

    assert await run.run_due() == 2  # both due at once: one after the other (one at a time)
    assert len(emulator.crm.records("Contacts")) == 3
    push_job = await root.jobs.get(SCHEDULED_SYNC, "acme:contacts")
    assert push_job is not None
    assert push_job.due_at == START + timedelta(minutes=15)

    # The source grows; the next run is due on the grid, not a second earlier.
    path.write_text(path.read_text() + json.dumps(contact(3)) + "\n", encoding="utf-8")
    clock.advance(minutes=14, seconds=59)
    assert await run.run_due() == 0
    clock.advance(seconds=1)
    assert await run.run_due() == 1
    assert len(emulator.crm.records("Contacts")) == 4
    reports = await root.ledger.runs("acme")
    assert [(r.schedule, r.direction, r.created, r.unchanged) for r in reports[:1]] == [
        ("contacts", "push", 1, 3)
    ]
    pushed = await root.sync_schedules.get("acme", "contacts")
    assert pushed is not None
    assert (pushed.last_status, pushed.last_run_id) == ("completed", reports[0].run_id)
    assert pushed.next_run_at == START + timedelta(minutes=30)

    # The pull ran first and read the org's existing contacts into a file of its run (a
    # run that finds no change leaves none).
    assert all(size > 0 for size in file_sizes(tmp_path, "changes-*.jsonl"))

    assert await root.sync_schedules.remove("acme", "contacts")
    assert not await root.sync_schedules.remove("acme", "contacts")
    clock.advance(hours=2)
    before = len(await root.ledger.runs("acme", limit=50))
    assert await run.run_due() == 1  # only the pull is left
    runs = await root.ledger.runs("acme", limit=50)
    assert len(runs) == before + 1
    assert runs[0].schedule == "changes"
    assert await root.jobs.get(SCHEDULED_SYNC, "acme:contacts") is None


async def test_run_now_makes_it_due_and_keeps_the_grid(
    fleet: Roots, tmp_path: Path, clock: ManualClock
) -> None:
    root = await fleet()
    await connect(root, "acme")
    path = source(tmp_path, [contact(1)])
    await root.sync_schedules.add_push("acme", "contacts", source=path, mapping=MAPPING, every="1h")
    run = worker(root)
    assert await run.run_due() == 1
    clock.advance(minutes=10)
    assert await run.run_due() == 0
    await root.sync_schedules.run_now("acme", "contacts")
    assert await run.run_due() == 1
    job = await root.jobs.get(SCHEDULED_SYNC, "acme:contacts")
    assert job is not None
    assert job.due_at == START + timedelta(hours=1)
    with pytest.raises(InvalidSyncSchedule, match=r"no schedule 'nope'.*contacts"):
        await root.sync_schedules.run_now("acme", "nope")


# --- two workers, one tenant ------------------------------------------------------------------


async def test_two_workers_never_run_one_tenants_syncs_at_once(
    fleet: Roots, tmp_path: Path, emulator: Emulator, clock: ManualClock
) -> None:
    gate = Gate(create_app(emulator), ("Contacts", "Leads", "Deals"), watched=("Contacts", "Leads"))
    first, second = await fleet(transport=gate), await fleet(transport=gate)
    await connect(first, "acme", "beta")
    for name, module in (("contacts", "Contacts"), ("leads", "Leads")):
        await first.sync_schedules.add_pull(
            "acme", name, module=module, out=tmp_path / f"{name}-{{time}}.jsonl", every="1m"
        )
    # Another tenant's schedule is not held up by acme's.
    await first.sync_schedules.add_pull(
        "beta", "deals", module="Deals", out=tmp_path / "deals-{time}.jsonl", every="1m"
    )
    one, two = worker(first), worker(second)

    running = asyncio.create_task(one.run_due())
    await until(lambda: gate.waiting == 1)  # the first worker's run is inside Zoho
    holder = await second.sync_schedules.guard.holder_of("acme")
    assert holder is not None
    other = "leads" if holder["schedule"] == "contacts" else "contacts"
    # The second worker races for what is due: acme's other schedule finds acme busy (and
    # looks again 15 s later), beta's runs.
    trying = asyncio.create_task(two.run_due())
    await until(lambda: gate.waiting == 2)
    for _ in range(3000):
        waiting = await second.jobs.get(SCHEDULED_SYNC, f"acme:{other}")
        assert waiting is not None
        if waiting.due_at > START:
            break
        await asyncio.sleep(0.01)
    assert waiting.due_at == START + timedelta(seconds=15)
    assert gate.peak == 1

    # The run outlasts its one-minute interval, and acme's other schedule is due again:
    # a third worker tries it, and still nobody runs a second acme sync.
    clock.advance(seconds=90)
    assert await worker(await fleet(transport=gate)).run_due() == 1
    again = await second.jobs.get(SCHEDULED_SYNC, f"acme:{other}")
    assert again is not None
    assert again.due_at == clock.now + timedelta(seconds=15)
    assert gate.peak == 1
    running_now = [r for r in await first.ledger.runs(limit=20) if r.status == "running"]
    assert sorted((r.tenant, r.schedule) for r in running_now) == [
        ("acme", holder["schedule"]),
        ("beta", "deals"),
    ]

    gate.open()
    await asyncio.gather(running, trying)
    clock.advance(seconds=15)  # whichever worker saw acme busy last looks again
    await two.run_due()
    # Every schedule ran, acme's two one after the other, never together.
    assert gate.peak == 1
    reports = await first.ledger.runs(limit=20)
    assert sorted((r.tenant, r.schedule, r.status) for r in reports) == [
        ("acme", "contacts", "completed"),
        ("acme", "leads", "completed"),
        ("beta", "deals", "completed"),
    ]
    [before, after] = sorted((r for r in reports if r.tenant == "acme"), key=lambda r: r.started_at)
    assert before.schedule == holder["schedule"]
    assert before.finished_at is not None
    assert after.started_at >= before.finished_at
    # Each is due again at the next point of its one-minute grid; the guard is free.
    assert {s.next_run_at for s in await first.sync_schedules.list()} == {
        START + timedelta(minutes=2)
    }
    assert await first.sync_schedules.guard.holder_of("acme") is None


async def test_a_crashed_run_is_taken_over_once_its_lease_runs_out(
    fleet: Roots, tmp_path: Path, emulator: Emulator, clock: ManualClock
) -> None:
    gate = Gate(create_app(emulator), ("Contacts",), hold_first=True)
    first, second = await fleet(transport=gate), await fleet(transport=gate)
    await connect(first, "acme")
    await first.sync_schedules.add_pull(
        "acme", "contacts", module="Contacts", out=tmp_path / "c-{time}.jsonl", every="5m"
    )
    # The first worker hangs inside Zoho and renews nothing, as if it had been killed.
    stuck = Worker(first, kinds=[SCHEDULED_SYNC], concurrency=1, grace=0, poll_interval=0.05)
    hung = asyncio.create_task(stuck.run())
    try:
        await until(lambda: gate.waiting == 1)
        takeover = worker(second)
        assert await takeover.run_due() == 0  # its job is leased, its tenant guarded
        clock.advance(seconds=119)
        assert await takeover.run_due() == 0
        clock.advance(seconds=2)  # past the 120 s lease of the job and of the guard
        assert await takeover.run_due() == 1
        [latest, *_] = await first.ledger.runs("acme")
        assert (latest.schedule, latest.status) == ("contacts", "completed")
        outcomes = [(r.worker == takeover.name, r.outcome) for r in await first.jobs.runs()]
        assert sorted(outcomes) == [(False, "lost"), (True, "ok")]
        [schedule] = await first.sync_schedules.list("acme")
        assert schedule.next_run_at == START + timedelta(minutes=5)
    finally:
        stuck.stop()  # grace 0: its run is cancelled and handed back (it holds nothing now)
        await hung
        gate.open()


async def test_a_run_whose_guard_was_taken_over_is_stopped_at_its_next_renewal(
    fleet: Roots, clock: ManualClock
) -> None:
    # A run that stalled past its lease (a paused process, a database away): another run
    # took the tenant's guard meanwhile, so the stalled one must not go on beside it.
    root = await fleet()
    guard = root.sync_schedules.guard
    stalled, taker = guard.new_holder(), guard.new_holder()
    assert await guard.acquire("acme", "contacts", stalled, lease=LEASE) is None
    clock.advance(seconds=LEASE + 1)
    assert await guard.acquire("acme", "leads", taker, lease=LEASE) is None
    cancelled = asyncio.Event()

    async def run() -> None:
        try:
            await asyncio.Event().wait()  # a run that would go on for ever
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TenantGuardLost, match="'acme'") as lost:
        await _guarded(guard, "acme", stalled, run(), every=0.01)
    assert lost.value.tenant == "acme"
    assert cancelled.is_set()
    holder = await guard.holder_of("acme")
    assert holder is not None
    assert holder["schedule"] == "leads"
    # The stalled run gives back nothing it no longer holds.
    await guard.release("acme", stalled)
    assert await guard.holder_of("acme") == holder


# --- the budget --------------------------------------------------------------------------------


async def test_a_run_the_budget_stops_resumes_after_the_reset_and_the_schedule_goes_on(
    fleet: Roots, tmp_path: Path, emulator: Emulator, clock: ManualClock
) -> None:
    root = await fleet()
    await connect(root, "acme")
    assert root.budget is not None
    await root.budget.set_limits("acme", daily_credits=40, batch_share=0.5)
    path = source(tmp_path, [contact(n) for n in range(300)])
    await root.sync_schedules.add_push("acme", "contacts", source=path, mapping=MAPPING, every="1h")
    run = worker(root)

    assert await run.run_due() == 1
    [stopped] = await root.sync_schedules.list("acme")
    assert stopped.last_status == "budget_exhausted"
    assert "BudgetExhausted" in stopped.last_message
    synced = len(emulator.crm.records("Contacts"))
    assert 0 < synced < 300
    # Not a failed job: the schedule waits for the first point after the day's reset.
    [status] = [s for s in await root.jobs.status() if s.kind == SCHEDULED_SYNC]
    assert status.last_run is not None
    assert status.last_run.outcome == "ok"
    reset = datetime(2031, 3, 4, tzinfo=UTC)
    assert stopped.next_run_at == next_run(START, timedelta(hours=1), reset)
    [event] = await read_events(root.engine, tenant="acme", type="sync.run.completed")
    assert (event.data["schedule"], event.data["status"]) == ("contacts", "budget_exhausted")

    await root.budget.set_limits("acme", daily_credits=10_000)
    clock.now = stopped.next_run_at
    assert await run.run_due() == 1
    [resumed] = await root.sync_schedules.list("acme")
    assert resumed.last_status == "completed"
    assert len(emulator.crm.records("Contacts")) == 300
    [last, *_] = await root.ledger.runs("acme")
    assert (last.unchanged, last.created) == (synced, 300 - synced)
