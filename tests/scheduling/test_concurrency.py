"""N confirmations of one slot at once, from tasks and from processes, on SQLite and
PostgreSQL: exactly one wins, every other one gets ``SlotTaken``."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling.support import CIPHER, NOW, SCHEDULE, TENANT, at, events
from zohokit.calendar import ZohoCalendarService
from zohokit.db import create_engine
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
    db_url: str, tmp_path: Path, emulator_server: EmulatorServer, sqlite_template: Path
) -> None:
    engine: AsyncEngine = create_engine(db_url)
    await BookingStore(engine, CustomerVault(CIPHER)).set_schedule(
        TenantSchedule(TENANT, Schedule.from_dict(SCHEDULE)), now=NOW
    )
    await engine.dispose()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for i in range(5):  # each process has its own tokens database (and key), migrated
        shutil.copyfile(sqlite_template, tmp_path / f"tokens-{i}.db")
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scheduling.confirm_worker",
            db_url,
            str(tmp_path / f"tokens-{i}.db"),
            emulator_server.url,
            emulator_server.emulator.calendar.primary_uid,
            at(10).isoformat(),
            f"p{i}@example.com",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(5)
    ]
    results = []
    try:
        # Released together once every one holds its token, however slow the start.
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
            assert line.strip() == b"ready", line
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        for proc in procs:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
            assert proc.returncode == 0, stderr.decode()
            results.append(stdout.decode().strip())
    finally:
        for proc in procs:  # none outlives a failed test
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    winners = [r for r in results if r.startswith("ok ")]
    assert len(winners) == 1, results
    assert winners[0].endswith(" complete")
    assert results.count("taken") == 4
    server_calendar = emulator_server.emulator.calendar
    assert len(server_calendar.events(server_calendar.primary_uid)) == 1
