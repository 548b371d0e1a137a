"""The fleet-wide Zoho budget (issue 14), measured side by side with what it is held against.

1. **Fleet throughput.** ``--processes`` real processes (``python -m tests.budget.reader``, the
   fleet tests' reader) each make ``--reads`` concurrent CRM reads for one tenant, on one
   SQLite file (or PostgreSQL: ``--postgres`` starts a private cluster, or
   ``--database-url``), against the emulator over loopback with a concurrency limit of 10 and
   ``--latency`` ms per answer. The ceiling is limit / latency reads a second; printed: the
   fleet's reads a second against it (target at least 0.9x), the 429s (target 0), the
   emulator's most in flight (target at most 10), and how many of its 10 slots were busy on
   average (what is lost between processes, apart from the emulator's own slowness).
2. **Per-call cost.** One root, calls answered at once by an ``httpx.MockTransport``, so only
   zohokit's own work is timed: microseconds per call with the budget on and off, one call at
   a time and 10 at once, and the budget's database statements per call (0 while a grant is
   reused and nobody waits).
3. **Bookings beside a push.** One root (a server that also runs a sync) on the emulator
   (``--latency`` ms, Enterprise limits; the emulator in a process of its own, as Zoho is
   remote, or ``--emulator-here``): booking latency idle, then of the bookings made while a
   sync push of ``--rows`` rows runs for the same tenant (p50 and p99; target: p99 at most 2x
   idle), then with a credit budget smaller than the push needs (the push stops with
   BudgetExhausted; every booking completes).

Every run prints the machine's load averages first: the figures are only as quiet as it.

Run: ``.venv/bin/python bench/budget.py [--only fleet|cost|bookings] [--processes 4]
[--reads 100] [--latency 100] [--rows 20000] [--bookings 30] [--postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import event

REPO = Path(__file__).parents[1]
sys.path.insert(0, str(REPO))

from zohokit import Zoho  # noqa: E402
from zohokit.emulator import EmulatorConfig, EmulatorServer  # noqa: E402
from zohokit.errors import BudgetExhausted  # noqa: E402
from zohokit.scheduling import Customer, Schedule  # noqa: E402
from zohokit.sync import SyncMapping, push  # noqa: E402
from zohokit.tokens import generate_key  # noqa: E402

CLIENT = {"client_id": "bench-client", "client_secret": "bench-secret"}
REFRESH_TOKEN = "1000.bench.refresh"
CREDENTIALS = {**CLIENT, "refresh_token": REFRESH_TOKEN}
LIMIT = 10
TENANT = "default"
KEY = generate_key()
EVERY_DAY = {
    "time_zone": "UTC",
    "duration_minutes": 30,
    "weekly_hours": {
        day: ["00:00-23:30"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}
MAPPING = SyncMapping.from_dict(
    {
        "module": "Contacts",
        "key": "Email",
        "fields": {"email": "Email", "last": "Last_Name"},
    }
)


def emulator(**overrides: Any) -> EmulatorServer:
    """The emulator over loopback with the bench's OAuth client."""
    return EmulatorServer(
        EmulatorConfig(**CLIENT, refresh_token=REFRESH_TOKEN, daily_credits=10_000_000, **overrides)
    )


# --- 1. fleet throughput -----------------------------------------------------------------------


def fleet(args: argparse.Namespace) -> None:
    """Real processes against one org: reads a second against limit / latency."""
    with emulator(concurrency_limit=LIMIT) as server, tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
        env.update(
            ZOHO_CLIENT_ID=CLIENT["client_id"],
            ZOHO_CLIENT_SECRET=CLIENT["client_secret"],
            ZOHO_REFRESH_TOKEN=REFRESH_TOKEN,
            ZOHO_ACCOUNTS_URL=server.url,
            ZOHO_API_URL=server.url,
            ZOHO_CALENDAR_URL=server.url,
            ZOHOKIT_DATABASE_URL=args.database_url or f"sqlite:///{folder}/zohokit.db",
            ZOHOKIT_ENCRYPTION_KEYS=generate_key(),
            ZOHOKIT_DATA_DIR=folder,
            PYTHONPATH=str(REPO),
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.budget.reader", str(args.reads)],
                env=env,
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(args.processes)
        ]
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        server.emulator.config.latency_ms = args.latency
        before = server.emulator.stats.snapshot()
        samples: list[tuple[float, int]] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                samples.append((time.time(), server.emulator.stats.in_flight))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        windows = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            _, count, start, end = out.split()[-4:]
            windows.append((int(count), float(start), float(end)))
        sampling.set()
        sampler.join()
        stats = server.emulator.stats.snapshot()
    reads = sum(w[0] for w in windows)
    first, last = min(w[1] for w in windows), max(w[2] for w in windows)
    elapsed = last - first
    busy = [n for at, n in samples if first <= at <= last]
    print(
        f"fleet: slots busy at the emulator {statistics.fmean(busy) if busy else 0:.2f} of {LIMIT}"
        f" on average; latency seen by the fleet {elapsed * LIMIT / reads * 1000:.0f} ms a read"
        " at the limit"
    )
    ceiling = LIMIT / (args.latency / 1000)
    print(
        f"fleet: {args.processes} processes x {args.reads} reads, limit {LIMIT},"
        f" latency {args.latency:g} ms: {reads / elapsed:.1f} reads/s against a ceiling of"
        f" {ceiling:.1f} = {reads / elapsed / ceiling:.2f}x (target >= 0.90x);"
        f" 429s {stats['rejected_429'] - before.get('rejected_429', 0)} (target 0);"
        f" most in flight {stats['max_concurrency_seen']} (target <= {LIMIT})"
    )


# --- 2. per-call cost --------------------------------------------------------------------------


def instant(request: httpx.Request) -> httpx.Response:
    """Zoho answering at once: a token, or an empty page of records."""
    if request.url.path.endswith("/oauth/v2/token"):
        body: dict[str, Any] = {
            "access_token": "1000.bench.access",
            "expires_in": 3600,
            "api_domain": "http://api.bench",
            "token_type": "Bearer",
        }
    else:
        body = {"data": [{"id": "1"}], "info": {"more_records": False}}
    return httpx.Response(200, json=body, headers={"content-type": "application/json"})


async def per_call(folder: str, *, budget: bool, calls: int, at_once: int) -> tuple[float, float]:
    """Microseconds per call, ``at_once`` calls in flight, budget on or off; and the
    database statements per call."""
    root = Zoho(
        database_url=f"sqlite:///{folder}/cost-{time.monotonic_ns()}.db",
        encryption_keys=generate_key(),
        credentials=CREDENTIALS,
        accounts_url="http://accounts.bench",
        api_url="http://api.bench",
        transport=httpx.MockTransport(instant),
        budget=budget,
    )
    async with root:

        async def read() -> None:
            await root.http.request(TENANT, "zoho_crm", "GET", "/crm/v8/Leads")

        await asyncio.gather(*(read() for _ in range(at_once)))  # token, grant, connection
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(root.engine.sync_engine, "before_cursor_execute", count)
        started = time.perf_counter()
        for _ in range(calls // at_once):
            await asyncio.gather(*(read() for _ in range(at_once)))
        elapsed = time.perf_counter() - started
        event.remove(root.engine.sync_engine, "before_cursor_execute", count)
        return elapsed / calls * 1e6, statements / calls


async def cost(args: argparse.Namespace) -> None:
    """The budget's cost per call, on against off (best of three each)."""
    with tempfile.TemporaryDirectory() as folder:
        for at_once in (1, 10):
            figures, statements = {}, {}
            for budget in (True, False):
                runs = [
                    await per_call(folder, budget=budget, calls=3000, at_once=at_once)
                    for _ in range(3)
                ]
                figures[budget] = min(us for us, _ in runs)
                statements[budget] = min(n for _, n in runs)
            print(
                f"per-call cost, {at_once} at a time: budget on {figures[True]:.1f} us,"
                f" off {figures[False]:.1f} us: +{figures[True] - figures[False]:.1f} us a call;"
                f" database statements a call: on {statements[True]:.3f}, off"
                f" {statements[False]:.3f} (a credit chunk per 100 calls, the keeper's look"
                " every 0.1 s: none per call)"
            )


# --- 3. bookings beside a push -----------------------------------------------------------------


def starts(count: int, offset: int) -> list[datetime]:
    """``count`` free slots on the hour (01:00 to 20:00 UTC), ``offset`` slots on, from two
    days ahead."""
    first = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    first += timedelta(days=2)
    return [first + timedelta(days=n // 20, hours=n % 20) for n in range(offset, offset + count)]


async def book_all(
    root: Zoho, slots: list[datetime], *, until: Callable[[], bool] | None = None
) -> tuple[list[float], list[str]]:
    """Book each slot in turn (stopping once ``until()``); the seconds and status of each
    booking that ended before it."""
    seconds, statuses = [], []
    for n, start in enumerate(slots):
        customer = Customer(f"booker{start:%m%d%H%M}{n}@bench.test", "Bench", f"Booker {n}")
        began = time.perf_counter()
        booking = await root.bookings.confirm(TENANT, start=start, customer=customer)
        if until is not None and until():
            break
        seconds.append(time.perf_counter() - began)
        statuses.append(booking.status)
    return seconds, statuses


def quantiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000


@contextlib.contextmanager
def emulator_elsewhere(**overrides: Any) -> Iterator[tuple[str, str, Callable[[], dict[str, int]]]]:
    """The emulator in a process of its own (as Zoho is remote: its work on 100-record
    upserts does not take the bench's CPU); yields its URL, its calendar's id and a function
    reading its counters over loopback."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--emulator-child", json.dumps(overrides)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url, uid = proc.stdout.readline().split()

        def stats() -> dict[str, int]:
            return dict(httpx.get(f"{url}/_emulator/stats", timeout=30).json())

        yield url, uid, stats
    finally:
        proc.kill()
        proc.communicate()


def serve_emulator(overrides: str) -> None:
    """The ``--emulator-child`` side: serve until stdin closes."""
    with emulator(**json.loads(overrides)) as server:
        print(server.url, server.emulator.calendar.primary_uid, flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def emulator_here(**overrides: Any) -> Iterator[tuple[str, str, Callable[[], dict[str, int]]]]:
    """The emulator in the bench's own process (sharing its CPU and GIL)."""
    with emulator(**overrides) as server:
        yield server.url, server.emulator.calendar.primary_uid, server.emulator.stats.snapshot


def interactive_waits() -> tuple[float, float]:
    """Interactive calls of this process that have queued for a slot so far, and the
    seconds they waited in all."""
    lane = {"lane": "interactive"}
    count = REGISTRY.get_sample_value("zohokit_budget_slot_waits_total", lane)
    seconds = REGISTRY.get_sample_value("zohokit_budget_slot_wait_seconds_sum", lane)
    return count or 0.0, seconds or 0.0


def root_on(url: str, uid: str, database_url: str, key: str) -> Zoho:
    """A root on the emulator at ``url`` and the database both sides share."""
    return Zoho(
        database_url=database_url,
        encryption_keys=key,
        credentials=CREDENTIALS,
        accounts_url=url,
        api_url=url,
        calendar_url=url,
        calendar_id=uid,
    )


def rows_of(count: int) -> list[dict[str, str]]:
    """The push's source rows."""
    return [{"email": f"row{n:06d}@bench.test", "last": f"Row {n}"} for n in range(count)]


async def push_rows(root: Zoho, rows: int) -> str:
    """Push ``rows`` rows record by record (no Bulk Write job: 100-row upserts, the heaviest
    load on the org's slots and credits); how it ended."""
    began = time.perf_counter()
    try:
        report = await push(
            root.crm(TENANT), root.ledger, rows_of(rows), MAPPING, bulk_threshold=None
        )
    except BudgetExhausted as exc:
        return f"push stopped: BudgetExhausted ({exc.used} of {exc.allowed} credits)"
    return f"push {report.status} in {time.perf_counter() - began:.1f} s"


def serve_push(spec: str) -> None:
    """The ``--push-child`` side: a worker's process pushing for the tenant."""

    async def run() -> None:
        url, uid, database_url, key, rows = json.loads(spec)
        async with root_on(url, uid, database_url, key) as root:
            print(await push_rows(root, rows), flush=True)

    asyncio.run(run())


async def bookings_beside_push(args: argparse.Namespace, *, daily: int | None) -> None:
    """Booking latency idle and during a push (with ``daily`` credits when given): bookings
    are made one after another while the push runs (at most ``--bookings``), and only those
    that ended before the push did are counted. The push runs in a process of its own, as a
    worker runs it beside ``zohokit serve`` (``--push-here``: in the bookings' process)."""
    place = emulator_here if args.emulator_here else emulator_elsewhere
    with place(latency_ms=args.latency) as (url, uid, stats), tempfile.TemporaryDirectory() as d:
        # A fresh database for each measure (the emulator's address is in the stored token).
        fresh = getattr(args, "fresh", None)
        database_url = fresh() if fresh else args.database_url or f"sqlite:///{d}/zohokit.db"
        key = KEY
        async with root_on(url, uid, database_url, key) as root:
            assert root.budget is not None
            await root.read_edition(TENANT)  # Enterprise: 20 in flight
            if daily is not None:
                await root.budget.set_limits(TENANT, daily_credits=daily, batch_share=0.5)
            await root.bookings.set_schedule(TENANT, Schedule.from_dict(EVERY_DAY))
            idle, _ = await book_all(root, starts(args.bookings, 0))
            if args.push_here:
                pushing = asyncio.create_task(push_rows(root, args.rows))
                over = pushing.done
            else:
                spec = json.dumps([url, uid, database_url, key, args.rows])
                child = subprocess.Popen(  # noqa: ASYNC220 (a bench: it starts at once)
                    [sys.executable, __file__, "--push-child", spec],
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    text=True,
                )

                def over() -> bool:
                    return child.poll() is not None

            await asyncio.sleep(1.0)  # the push is under way
            before = interactive_waits()
            busy, statuses = await book_all(root, starts(args.bookings, args.bookings), until=over)
            if args.push_here:
                outcome = await pushing
            else:
                out, _ = await asyncio.to_thread(child.communicate)
                outcome = (
                    out.strip().splitlines()[-1] if out.strip() else f"push exit {child.returncode}"
                )
            throttled = stats()["rejected_429"]
            waits, waited = (a - b for a, b in zip(interactive_waits(), before, strict=True))
    (i50, i99), (b50, b99) = quantiles(idle), quantiles(busy or [float("nan")])
    label = "push (budget smaller than it) of" if daily is not None else "push of"
    where = "in the same process" if args.push_here else "in its own process"
    print(
        f"bookings beside a {label} {args.rows} rows ({where}): idle p50 {i50:.0f} ms p99"
        f" {i99:.0f} ms; during the push p50 {b50:.0f} ms p99 {b99:.0f} ms = {b99 / i99:.2f}x"
        f" idle (target <= 2x); {statuses.count('complete')} of {len(statuses)} bookings made"
        f" during the push complete; {outcome}; 429s {throttled}; booking calls that"
        f" queued for a slot: {waits:.0f}, {waited * 1000:.0f} ms in all"
    )


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), to read the figures by."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    """Run the three measures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--latency", type=float, default=100.0)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--bookings", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--emulator-here",
        action="store_true",
        help="Bookings beside a push: run the emulator in this process (default: its own).",
    )
    parser.add_argument(
        "--push-here",
        action="store_true",
        help="Bookings beside a push: push in the bookings' process (default: its own).",
    )
    parser.add_argument("--emulator-child", help=argparse.SUPPRESS)
    parser.add_argument("--push-child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="Start a private PostgreSQL 15 cluster (as the tests do) and use it.",
    )
    parser.add_argument(
        "--only",
        choices=("fleet", "cost", "bookings"),
        action="append",
        help="Run only this measure (repeatable).",
    )
    args = parser.parse_args()
    if args.emulator_child:
        serve_emulator(args.emulator_child)
        return
    if args.push_child:
        serve_push(args.push_child)
        return
    only = set(args.only or ("fleet", "cost", "bookings"))
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from tests.fixtures.postgres import _cluster

            cluster, _ = stack.enter_context(_cluster())
            args.database_url = cluster.url(cluster.create_database())
            args.fresh = lambda: cluster.url(cluster.create_database())
        run(args, only)
    print(json.dumps({"done": True}))


def run(args: argparse.Namespace, only: set[str]) -> None:
    """The measures ``only`` names."""
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; load {load()}")
    if "fleet" in only:
        fleet(args)
    if "cost" in only:
        asyncio.run(cost(args))
    if "bookings" in only:
        asyncio.run(bookings_beside_push(args, daily=None))
        asyncio.run(bookings_beside_push(args, daily=args.rows // 10))


if __name__ == "__main__":
    main()
