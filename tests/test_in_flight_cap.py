"""``ZOHOKIT_MAX_IN_FLIGHT`` holds for every command that calls Zoho, as a user runs it.

Each test starts the real command (``zohokit sync push``, ``zohokit bookings retry``,
``zohokit serve``) in a subprocess configured only through the environment, loads it with more
concurrent Zoho CRM work than the cap, and reads the emulator's own count of the most CRM
requests it ever had in flight (``GET /_emulator/stats``). The emulator answers slowly, so
requests that are not held back by zohokit pile up there and the count shows it (with the
cap raised to 8, the same loads reach 5 to 8).
"""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, emulator_config
from tests.fixtures.emulator import user_env as emulator_user_env
from tests.http.support import CREDENTIALS
from tests.server.support import GLOBAL_KEY, key, start_serve, stop_serve, wait_ready
from zohokit import RetryPolicy, Zoho
from zohokit.emulator import EmulatorServer
from zohokit.scheduling import Customer, Schedule
from zohokit.settings import PROVIDERS

pytestmark = pytest.mark.slow

CAP = 3
#: Each CRM answer takes this long at the emulator, so uncapped requests overlap there.
LATENCY_MS = 100
EVERY_DAY = {
    "time_zone": "UTC",
    "duration_minutes": 30,
    "weekly_hours": {
        day: ["00:00-23:30"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}


@pytest.fixture
def slow_zoho() -> Iterator[EmulatorServer]:
    """The emulator over loopback; it turns slow once a test's setup is done."""
    with EmulatorServer(emulator_config()) as server:
        yield server


def user_env(server: EmulatorServer, folder: Path) -> dict[str, str]:
    """What a user exports: Zoho is the emulator, a private database, and the cap."""
    return emulator_user_env(
        server, folder, ZOHOKIT_API_KEYS=GLOBAL_KEY, ZOHOKIT_MAX_IN_FLIGHT=str(CAP)
    )


def root_of(env: dict[str, str], **options: object) -> Zoho:
    """A root on the same database and key as the command, for a test's setup."""
    return Zoho(
        database_url=env["ZOHOKIT_DATABASE_URL"],
        encryption_keys=env["ZOHOKIT_ENCRYPTION_KEYS"],
        credentials=CREDENTIALS,
        accounts_url=env["ZOHO_ACCOUNTS_URL"],
        api_url=env["ZOHO_API_URL"],
        calendar_url=env["ZOHO_CALENDAR_URL"],
        **options,  # type: ignore[arg-type]
    )


def most_in_flight(server: EmulatorServer) -> int:
    """The emulator's own count, read as any client would."""
    stats = httpx.get(f"{server.url}/_emulator/stats", timeout=10).json()
    seen: int = stats["max_concurrency_seen"]
    return seen


def zohokit(env: dict[str, str], folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``zohokit ARGS`` as a user would, in ``folder`` (no stray .env is read)."""
    return subprocess.run(
        [sys.executable, "-m", "zohokit", *args],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def slots_from_tomorrow(count: int) -> list[datetime]:
    """``count`` consecutive 30-minute starts from 01:00 UTC tomorrow."""
    first = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    first += timedelta(days=1)
    return [first + timedelta(minutes=30 * i) for i in range(count)]


def test_sync_push_keeps_to_the_cap(tmp_path: Path, slow_zoho: EmulatorServer) -> None:
    env = user_env(slow_zoho, tmp_path)
    source = tmp_path / "contacts.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Last_Name"])
        writer.writerows([f"c{i:04d}@example.com", f"Last {i}"] for i in range(1500))
    slow_zoho.emulator.config.latency_ms = LATENCY_MS

    done = zohokit(
        env, tmp_path, "sync", "push", str(source), "-m", "Contacts", "-k", "Email", "-q"
    )

    assert done.returncode == 0, done.stderr
    assert len(slow_zoho.emulator.crm.records("Contacts")) == 1500  # 15 calls of 100 rows
    assert 1 < most_in_flight(slow_zoho) <= CAP  # loaded, and held to the cap


def test_bookings_retry_keeps_to_the_cap(tmp_path: Path, slow_zoho: EmulatorServer) -> None:
    env = user_env(slow_zoho, tmp_path)
    starts = slots_from_tomorrow(12)

    async def pending_bookings() -> None:
        # Zoho CRM fails while the bookings are made: each is stored, its event written,
        # and it stays pending until its contact reaches the CRM.
        slow_zoho.emulator.faults.configure(
            {"rules": [{"route": "/crm/v8/Contacts/upsert", "error_rate": 1}]}
        )
        async with root_of(env, retry=RetryPolicy(max_retries=0)) as zoho:
            calendar = slow_zoho.emulator.calendar.primary_uid
            await zoho.bookings.set_schedule(
                "default", Schedule.from_dict(EVERY_DAY), calendar_id=calendar
            )
            for i, start in enumerate(starts):
                customer = Customer(f"guest{i}@example.com", "Guest", f"No {i}")
                booking = await zoho.bookings.confirm("default", start=start, customer=customer)
                assert booking.status == "pending"
        slow_zoho.emulator.faults.configure({"rules": []})

    asyncio.run(pending_bookings())
    slow_zoho.emulator.config.latency_ms = LATENCY_MS

    done = zohokit(env, tmp_path, "bookings", "retry", "--json")

    assert done.returncode == 0, done.stderr
    assert len(slow_zoho.emulator.crm.records("Contacts")) == 12
    assert 1 < most_in_flight(slow_zoho) <= CAP  # loaded, and held to the cap


def test_serve_keeps_to_the_cap(tmp_path: Path, slow_zoho: EmulatorServer) -> None:
    env = user_env(slow_zoho, tmp_path)
    proc, url = start_serve(env)
    try:
        wait_ready(url)
        headers = key(GLOBAL_KEY)
        created = httpx.post(f"{url}/api/tenants", json={"tenant": "acme"}, headers=headers)
        assert created.status_code == 201, created.text

        async def connect_acme() -> None:
            # The tenant's grants, as an operator imports them (the connect flow stores the
            # same rows).
            async with root_of(env) as zoho:
                for provider in PROVIDERS:
                    await zoho.tokens.store_grant(
                        "acme",
                        provider,
                        refresh_token=REFRESH_TOKEN,
                        client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET,
                        accounts_server=slow_zoho.url,
                        source="admin",
                    )

        asyncio.run(connect_acme())
        schedule = {**EVERY_DAY, "zoho": {"calendar_id": slow_zoho.emulator.calendar.primary_uid}}
        put = httpx.put(f"{url}/api/tenants/acme/schedule", json=schedule, headers=headers)
        assert put.status_code == 200, put.text
        slow_zoho.emulator.config.latency_ms = LATENCY_MS

        async def book_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/api/tenants/acme/bookings",
                            json={
                                "customer": {"name": f"Guest {i}", "email": f"g{i}@example.com"},
                                "start": start.isoformat(),
                            },
                            headers={"Idempotency-Key": f"booking-{i}"},
                        )
                        for i, start in enumerate(slots_from_tomorrow(12))
                    )
                )

        answers = asyncio.run(book_all())
    finally:
        stop_serve(proc)
    assert [a.status_code for a in answers] == [201] * 12, answers[0].text
    assert {a.json()["status"] for a in answers} == {"complete"}
    assert len(slow_zoho.emulator.crm.records("Contacts")) == 12
    assert 1 < most_in_flight(slow_zoho) <= CAP  # loaded, and held to the cap
