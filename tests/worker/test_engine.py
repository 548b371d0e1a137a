"""The job engine on one process: scheduling, claiming, results, retries, leases, history."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.worker import JobContext, Worker, schedule


async def test_a_due_job_runs_once_with_its_context(root: Zoho, clock: ManualClock) -> None:
    seen: list[JobContext] = []

    async def handler(ctx: JobContext) -> datetime | None:
        seen.append(ctx)
        return None

    root.jobs.register("test.once", handler)
    await root.jobs.schedule("test.once", "k1", tenant="acme", payload={"n": 1})
    assert await Worker(root, kinds=["test.once"]).run_due() == 1
    assert len(seen) == 1
    ctx = seen[0]
    assert (ctx.job.kind, ctx.job.key, ctx.job.tenant, ctx.job.payload) == (
        "test.once",
        "k1",
        "acme",
        {"n": 1},
    )
    assert ctx.job.attempts == 1
    assert ctx.now == clock.now
    assert ctx.zoho is root
    # Finished (None): gone, and nothing runs again.
    assert await root.jobs.get("test.once", "k1") is None
    assert await Worker(root, kinds=["test.once"]).run_due() == 0
    [run] = await root.jobs.runs(kind="test.once")
    assert (run.outcome, run.tenant, run.attempt) == ("ok", "acme", 1)


async def test_a_job_in_the_future_waits_for_its_time(root: Zoho, clock: ManualClock) -> None:
    runs: list[str] = []

    async def handler(ctx: JobContext) -> datetime | None:
        runs.append(ctx.job.key)
        return None

    root.jobs.register("test.later", handler)
    await root.jobs.schedule_in("test.later", "k", 60)
    worker = Worker(root, kinds=["test.later"])
    assert await worker.run_due() == 0
    clock.advance(59)
    assert await worker.run_due() == 0
    clock.advance(1)
    assert await worker.run_due() == 1
    assert runs == ["k"]


async def test_a_returned_time_runs_the_job_again_then(root: Zoho, clock: ManualClock) -> None:
    async def every_ten_minutes(ctx: JobContext) -> datetime | None:
        return ctx.now + timedelta(minutes=10)

    root.jobs.register("test.periodic", every_ten_minutes)
    await root.jobs.schedule("test.periodic", "k")
    worker = Worker(root, kinds=["test.periodic"])
    assert await worker.run_due() == 1
    job = await root.jobs.get("test.periodic", "k")
    assert job is not None
    assert job.due_at == clock.now + timedelta(minutes=10)
    assert job.attempts == 0
    clock.advance(minutes=10)
    assert await worker.run_due() == 1
    assert len(await root.jobs.runs(kind="test.periodic")) == 2


async def test_a_raising_handler_is_retried_with_growing_backoff(
    root: Zoho, clock: ManualClock
) -> None:
    calls = 0

    async def flaky(ctx: JobContext) -> datetime | None:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise RuntimeError(f"Zoho is down (try {ctx.job.attempts})")
        return None

    root.jobs.register("test.flaky", flaky, retry_base=10, retry_cap=1000)
    await root.jobs.schedule("test.flaky", "k")
    worker = Worker(root, kinds=["test.flaky"])
    waits = []
    for _ in range(3):
        before = clock.now
        assert await worker.run_due() == 1
        job = await root.jobs.get("test.flaky", "k")
        assert job is not None
        waits.append((job.due_at - before).total_seconds())
        assert await worker.run_due() == 0  # not before its retry time
        clock.now = job.due_at
    # Half fixed, half jitter: 5-10 s, then 10-20 s, then 20-40 s.
    assert 5 <= waits[0] <= 10
    assert 10 <= waits[1] <= 20
    assert 20 <= waits[2] <= 40
    assert await worker.run_due() == 1
    assert await root.jobs.get("test.flaky", "k") is None
    outcomes = [r.outcome for r in reversed(await root.jobs.runs(kind="test.flaky"))]
    assert outcomes == ["failed", "failed", "failed", "ok"]
    failed = (await root.jobs.runs(kind="test.flaky"))[-1]
    assert failed.error == "RuntimeError: Zoho is down (try 1)"


async def test_max_attempts_marks_the_job_failed_until_scheduled_again(
    root: Zoho, clock: ManualClock
) -> None:
    async def broken(ctx: JobContext) -> datetime | None:
        raise ValueError("bad payload")

    root.jobs.register("test.broken", broken, max_attempts=2, retry_base=1, retry_cap=1)
    await root.jobs.schedule("test.broken", "k")
    worker = Worker(root, kinds=["test.broken"])
    await worker.run_due()
    clock.advance(5)
    await worker.run_due()
    clock.advance(3600)
    assert await worker.run_due() == 0
    [status] = [s for s in await root.jobs.status() if s.kind == "test.broken"]
    assert (status.failed, status.due, status.scheduled) == (1, 0, 0)
    assert status.last_run is not None
    assert status.last_run.outcome == "failed"
    # Scheduling it again revives it, with its attempts counted afresh.
    await root.jobs.schedule("test.broken", "k")
    assert await worker.run_due() == 1
    job = await root.jobs.get("test.broken", "k")
    assert job is not None
    assert job.due_at > clock.now
    assert job.attempts == 1


async def test_schedule_inside_a_session_commits_with_it(root: Zoho, clock: ManualClock) -> None:
    async def noop(ctx: JobContext) -> datetime | None:
        return None

    root.jobs.register("test.outbox", noop)
    async with AsyncSession(root.engine) as session:
        await schedule(session, "test.outbox", "rolled-back", clock.now)
        await session.rollback()
    async with AsyncSession(root.engine) as session, session.begin():
        await schedule(session, "test.outbox", "committed", clock.now, payload={"id": 7})
    assert await root.jobs.get("test.outbox", "rolled-back") is None
    job = await root.jobs.get("test.outbox", "committed")
    assert job is not None
    assert job.payload == {"id": 7}


async def test_scheduling_again_while_running_keeps_the_new_time(
    root: Zoho, clock: ManualClock
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext) -> datetime | None:
        started.set()
        await release.wait()
        return None  # "finished": but it was scheduled again meanwhile

    root.jobs.register("test.resched", slow)
    await root.jobs.schedule("test.resched", "k")
    run = asyncio.create_task(Worker(root, kinds=["test.resched"]).run_due())
    await started.wait()
    later = clock.now + timedelta(minutes=5)
    await root.jobs.schedule("test.resched", "k", later)
    release.set()
    assert await run == 1
    job = await root.jobs.get("test.resched", "k")
    assert job is not None
    assert job.due_at == later


async def test_an_expired_lease_is_taken_over_and_the_dead_run_marked_lost(
    root: Zoho, clock: ManualClock
) -> None:
    async def noop(ctx: JobContext) -> datetime | None:
        return None

    root.jobs.register("test.lease", noop, lease=30)
    await root.jobs.schedule("test.lease", "k")
    # A worker claims it and dies (it never finishes nor renews).
    [(_job, _)] = await root.jobs.store.claim(
        owner="dead", leases={"test.lease": 30}, limit=5, now=clock.now
    )
    worker = Worker(root, kinds=["test.lease"], name="alive")
    clock.advance(29)
    assert await worker.run_due() == 0  # still leased
    clock.advance(1)
    assert await worker.run_due() == 1  # the lease ran out: taken over
    runs = await root.jobs.runs(kind="test.lease")
    assert [(r.worker, r.outcome) for r in runs] == [("alive", "ok"), ("dead", "lost")]


async def test_a_worker_that_loses_its_lease_stops_the_run(root: Zoho, clock: ManualClock) -> None:
    started = asyncio.Event()

    async def hangs(ctx: JobContext) -> datetime | None:
        started.set()
        await asyncio.Event().wait()
        return None

    root.jobs.register("test.stolen", hangs, lease=0.3, timeout=None)
    await root.jobs.schedule("test.stolen", "k")
    worker = Worker(root, kinds=["test.stolen"], name="slow")
    run = asyncio.create_task(worker.run_due())
    await started.wait()
    # The clock jumps past the lease and a peer takes the job before the renewal.
    clock.advance(60)
    taken = await root.jobs.store.claim(
        owner="peer", leases={"test.stolen": 30}, limit=1, now=clock.now
    )
    assert len(taken) == 1
    assert await asyncio.wait_for(run, 10) == 1
    outcomes = {r.worker: r.outcome for r in await root.jobs.runs(kind="test.stolen")}
    assert outcomes == {"slow": "lost", "peer": "running"}


async def test_stop_hands_running_jobs_back_at_once(root: Zoho, clock: ManualClock) -> None:
    started = asyncio.Event()

    async def hangs(ctx: JobContext) -> datetime | None:
        started.set()
        await asyncio.Event().wait()
        return None

    root.jobs.register("test.stop", hangs, lease=600, timeout=None)
    await root.jobs.schedule("test.stop", "k")
    worker = Worker(root, kinds=["test.stop"], grace=0.1, poll_interval=0.05)
    loop = asyncio.create_task(worker.run())
    await started.wait()
    worker.stop()
    await asyncio.wait_for(loop, 10)
    # Handed back: a peer takes it now, not after the 10-minute lease.
    taken = await root.jobs.store.claim(
        owner="peer", leases={"test.stop": 600}, limit=1, now=clock.now
    )
    assert len(taken) == 1
    assert taken[0][0].attempts == 1
    outcomes = [r.outcome for r in await root.jobs.runs(kind="test.stop")]
    assert outcomes == ["running", "cancelled"]


async def test_the_loop_runs_a_job_scheduled_while_it_waits(root: Zoho) -> None:
    done = asyncio.Event()

    async def handler(ctx: JobContext) -> datetime | None:
        done.set()
        return None

    root.jobs.register("test.wake", handler)
    # A long poll: only the wake-up (NOTIFY, or this process's own schedule) makes it quick.
    worker = Worker(root, kinds=["test.wake"], poll_interval=30)
    loop = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    await root.jobs.schedule("test.wake", "k")
    await asyncio.wait_for(done.wait(), 10)
    worker.stop()
    await loop


async def test_status_counts_per_kind(root: Zoho, clock: ManualClock) -> None:
    async def noop(ctx: JobContext) -> datetime | None:
        return None

    root.jobs.register("test.a", noop)
    await root.jobs.schedule("test.a", "now")
    await root.jobs.schedule_in("test.a", "later", 600)
    Worker(root)  # a worker installs zohokit's own kinds
    statuses = {s.kind: s for s in await root.jobs.status()}
    assert (statuses["test.a"].due, statuses["test.a"].scheduled) == (1, 1)
    assert statuses["worker.prune_runs"].due == 0  # registered, nothing scheduled yet
    assert statuses["test.a"].as_dict()["last_run"] is None


def test_bad_registrations_and_schedules_say_what_to_fix(tmp_path: object) -> None:
    zoho = Zoho(database_url="sqlite:///:memory:", encryption_keys="x" * 10)

    async def noop(ctx: JobContext) -> datetime | None:
        return None

    with pytest.raises(ValueError, match="lease must be positive"):
        zoho.jobs.register("test.x", noop, lease=0)
    zoho.jobs.register("test.x", noop)
    with pytest.raises(ValueError, match="registered already"):
        zoho.jobs.register("test.x", noop)
    with pytest.raises(ValueError, match="no job kind 'nope'"):
        zoho.jobs.kind("nope")
    with pytest.raises(ValueError, match="unknown job kind"):
        _ = Worker(zoho, kinds=["nope"]).kinds
