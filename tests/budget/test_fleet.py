"""The budget across real processes: four ``zohokit`` processes making 100 concurrent CRM
reads each for one tenant keep the org to its limit of 10 with no 429, a process killed
with SIGKILL while it holds every slot gives them back when its lease passes, and a Zoho 429
with ``Retry-After: 5`` stops every process calling the tenant for those five seconds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.budget.conftest import TENANT
from tests.fixtures.emulator import emulator_config, user_env
from tests.http.support import CREDENTIALS
from zohokit import Zoho
from zohokit.budget import fail_fast
from zohokit.budget._tables import budget_grants
from zohokit.db import upgrade
from zohokit.emulator import EmulatorServer
from zohokit.errors import RateLimited

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
LIMIT = 10
LEASE = 2.0


@pytest.fixture
def zoho_server() -> Iterator[EmulatorServer]:
    """The emulator over loopback, with the Standard edition's limit of 10 in flight."""
    with EmulatorServer(emulator_config(concurrency_limit=LIMIT)) as server:
        yield server


def reader(env: dict[str, str], count: int) -> subprocess.Popen[str]:
    """``python -m tests.budget.reader COUNT`` with ``env``."""
    return process(env, "tests.budget.reader", str(count))


def process(env: dict[str, str], module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m MODULE ARGS`` with ``env``, talking over its stdin and stdout."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_together(fleet: list[subprocess.Popen[str]]) -> None:
    """Wait until every reader is ready, then let them all go."""
    wait_ready(fleet)
    go(fleet)


def wait_ready(fleet: list[subprocess.Popen[str]]) -> None:
    """Wait until every reader holds its token."""
    for proc in fleet:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"a reader said {line!r}, not ready: {err}")


def stop(fleet: list[subprocess.Popen[str]]) -> None:
    """Kill the readers still running and close every pipe (a pipe left open is a
    ResourceWarning that fails whichever test runs when it is collected)."""
    for proc in fleet:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def go(fleet: list[subprocess.Popen[str]]) -> None:
    """Let every reader start its reads."""
    for proc in fleet:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def fleet_env(
    server: EmulatorServer, folder: Path, db_url: str, lease: float = 10.0
) -> dict[str, str]:
    """A user's environment on the test's database (``lease``: the budget's)."""
    env = user_env(server, folder, ZOHOKIT_BUDGET_LEASE_SECONDS=str(lease))
    env["ZOHOKIT_DATABASE_URL"] = db_url
    env["PYTHONPATH"] = str(REPO)
    return env


def test_four_processes_keep_one_org_to_its_limit_with_no_429(
    tmp_path: Path, zoho_server: EmulatorServer, db_url: str
) -> None:
    env = fleet_env(zoho_server, tmp_path, db_url)
    zoho_server.emulator.config.latency_ms = 50
    fleet = [reader(env, 100) for _ in range(4)]
    try:
        start_together(fleet)
        outputs = [proc.communicate(timeout=240) for proc in fleet]
    finally:
        stop(fleet)  # a reader that hangs must not outlive the test

    for proc, (out, err) in zip(fleet, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "done 100" in out
    stats = zoho_server.emulator.stats.snapshot()
    assert stats["rejected_429"] == 0
    assert stats["max_concurrency_seen"] <= LIMIT
    assert stats["crm_requests"] >= 404  # every read reached Zoho, once


async def test_a_process_killed_holding_every_slot_gives_them_back_within_its_lease(
    tmp_path: Path, zoho_server: EmulatorServer, db_url: str
) -> None:
    env = fleet_env(zoho_server, tmp_path, db_url, LEASE)
    emulator = zoho_server.emulator
    proc = reader(env, 50)
    try:
        await asyncio.to_thread(wait_ready, [proc])
    except BaseException:
        stop([proc])
        raise
    emulator.config.latency_ms = 20_000  # its reads hold their slots
    go([proc])
    for _ in range(3000):
        if emulator.stats.in_flight >= LIMIT:
            break
        await asyncio.sleep(0.01)
    assert emulator.stats.in_flight == LIMIT
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.time()
    proc.communicate()
    # What Zoho still works on is not ours to count: only the budget's slots are.
    emulator.config.concurrency_limit = 100
    emulator.config.latency_ms = 0

    async with Zoho(
        database_url=db_url,
        encryption_keys=env["ZOHOKIT_ENCRYPTION_KEYS"],
        credentials=CREDENTIALS,
        accounts_url=zoho_server.url,
        api_url=zoho_server.url,
    ) as root:
        async with root.engine.connect() as conn:
            expires = (await conn.execute(select(func.max(budget_grants.c.expires_at)))).scalar()
        assert expires is not None
        assert expires <= killed_at + LEASE  # the bound: one lease after its last renewal
        if time.time() < expires - 0.2:
            with fail_fast(), pytest.raises(RateLimited):  # the dead process still holds them
                await root.http.request(TENANT, "zoho_crm", "GET", "/crm/v8/org")

        await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)

        with fail_fast():  # every slot is back: ten at once, none waits
            await asyncio.gather(
                *(root.http.request(TENANT, "zoho_crm", "GET", "/crm/v8/org") for _ in range(LIMIT))
            )


PAUSE = 5.0


def test_a_429_with_retry_after_5_pauses_the_tenant_in_every_process_for_5_seconds(
    tmp_path: Path, zoho_server: EmulatorServer, db_url: str
) -> None:
    env = fleet_env(zoho_server, tmp_path, db_url)
    zoho_server.emulator.config.latency_ms = 20
    upgrade(db_url)  # the fleet starts on a database that is up to date, as in production
    fleet = [process(env, "tests.budget.caller") for _ in range(3)]
    try:
        wait_ready(fleet)  # each has answers, and keeps calling
        with httpx.Client(base_url=zoho_server.url, timeout=10) as emulator:

            def sent() -> int:
                stats = emulator.get("/_emulator/stats").json()
                return int(stats["crm_requests"] - stats["rejected_429"])

            before = sent()
            time.sleep(0.3)
            assert sent() > before  # the fleet is calling the org
            rule = {"route": "/crm/v8/Leads", "throttle_rate": 1.0, "count": 1}
            rule["retry_after_seconds"] = PAUSE
            emulator.post("/_emulator/faults", json={"rules": [rule]}).raise_for_status()
            for _ in range(1000):
                if emulator.get("/_emulator/stats").json()["rejected_429"]:
                    break
                time.sleep(0.01)
            throttled_at = time.time()
            time.sleep(0.6)  # calls sent before the pause come back; every keeper reads it
            paused = sent()
            time.sleep(PAUSE - 1.2)
            assert sent() == paused  # no process called the tenant's org
            time.sleep(1.5)  # the pause is over
            assert sent() > paused  # and they call it again
        for proc in fleet:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60) for proc in fleet]
    finally:
        stop(fleet)

    for proc, (out, err) in zip(fleet, outputs, strict=True):
        assert proc.returncode == 0, err
        answered = json.loads(out.splitlines()[-1])
        # Each process waited the pause out, and called again once it was over.
        assert not [t for t in answered if throttled_at + 0.6 < t < throttled_at + PAUSE - 0.6]
        assert [t for t in answered if t > throttled_at + PAUSE - 0.6]
