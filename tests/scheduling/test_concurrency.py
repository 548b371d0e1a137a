"""N confirmations of one slot at once, from tasks and from processes, on SQLite and
PostgreSQL: exactly one wins, every other one gets ``SlotTaken``."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling.support import CIPHER, NOW, SCHEDULE, TENANT, at, events
from zohokit.calendar import ZohoCalendarService
from zohokit.db import create_engine, upgrade_async
from zohokit.emulator import EmulatorServer
from zohokit.scheduling import BookingService, Customer, Schedule, SlotTaken, TenantSchedule
from zohokit.scheduling._store import BookingStore
from zohokit.scheduling._vault import CustomerVault

ROOT = Path(__file__).resolve().parents[2]


async def test_concurrent_tasks_book_a_slot_once(
    service: BookingService, calendar: ZohoCalendarService
) -> None:
    async def attempt(i: int) -> str:
        try:
            booking = await service.confirm(
                TENANT, start=at(10), customer=Customer(f"c{i}@example.com")
            )
        except SlotTaken:
            return "taken"
        return booking.status

    outcomes = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert sorted(outcomes) == ["complete"] + ["taken"] * 7
    assert len(await service.list_bookings(TENANT)) == 1
    assert len(await events(calendar)) == 1


async def test_concurrent_holds_of_a_slot_hold_it_once(service: BookingService) -> None:
    async def attempt() -> bool:
        try:
            await service.hold(TENANT, at(11))
        except SlotTaken:
            return False
        return True

    assert sorted(await asyncio.gather(*(attempt() for _ in range(6)))) == [False] * 5 + [True]


async def test_concurrent_processes_book_a_slot_once(
    db_url: str, tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    engine: AsyncEngine = create_engine(db_url)
    await upgrade_async(engine)
    await BookingStore(engine, CustomerVault(CIPHER)).set_schedule(
        TenantSchedule(TENANT, Schedule.from_dict(SCHEDULE)), now=NOW
    )
    await engine.dispose()
    go = time.time() + 4.0  # imports take a while on a busy machine
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scheduling.confirm_worker",
            db_url,
            str(tmp_path / f"tokens-{i}.db"),  # each process has its own key
            emulator_server.url,
            emulator_server.emulator.calendar.primary_uid,
            at(10).isoformat(),
            f"p{i}@example.com",
            str(go),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(5)
    ]
    results = []
    for proc in procs:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, stderr.decode()
        results.append(stdout.decode().strip())
    winners = [r for r in results if r.startswith("ok ")]
    assert len(winners) == 1, results
    assert winners[0].endswith(" complete")
    assert results.count("taken") == 4
    server_calendar = emulator_server.emulator.calendar
    assert len(server_calendar.events(server_calendar.primary_uid)) == 1
