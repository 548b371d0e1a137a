"""Refresh ahead across a fleet: 200 tenants, three simulated hours, three worker processes
(one of them SIGKILLed while it holds leases), one emulator over loopback.

The clock is the emulator's: the test moves it (and the offset file every worker reads) in
steps, waiting at each step until the workers have done everything due. Counts come from the
emulator's own record of the access tokens it minted per refresh token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit import Zoho
from zohokit.emulator import EmulatorConfig, EmulatorServer
from zohokit.jobs._tables import job_runs, jobs
from zohokit.tokens import generate_key
from zohokit.worker._refresh import REFRESH_AHEAD

WORKER = Path(__file__).with_name("fleet_worker.py")
TENANTS = 200
HOURS = 3
#: The longest clock step (simulated seconds): the worker's "poll" in simulated time.
STEP = 120.0
TTL = 3600.0

pytestmark = pytest.mark.slow


class Fleet:
    """Worker processes sharing the test's database, emulator and offset file."""

    def __init__(self, env: dict[str, str], offset_file: Path) -> None:
        self.env = env
        self.offset_file = offset_file
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, name: str, *args: str) -> None:
        """Start a worker; :meth:`wait_ready` waits for it (workers start side by side)."""
        self.procs[name] = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "--offset-file",
                str(self.offset_file),
                "--name",
                name,
                *list(args),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self) -> None:
        """Wait until every worker started says it runs."""
        for name, proc in self.procs.items():
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == f"ready {name}", proc.stderr.read() if proc.stderr else line

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def loopback_emulator() -> Iterator[EmulatorServer]:
    """The emulator on a loopback port (the worker processes reach it over TCP)."""
    with EmulatorServer(EmulatorConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)) as server:
        yield server


def _now(server: EmulatorServer) -> datetime:
    return datetime.fromtimestamp(server.emulator.clock.now(), UTC)


async def _settled(root: Zoho, now: datetime, dead: set[str]) -> tuple[bool, datetime | None]:
    """Whether nothing is due or running (jobs a dead worker holds aside), and the next moment
    something becomes claimable."""
    owner, until = jobs.c.lease_owner, jobs.c.lease_expires_at
    free = owner.is_(None) | (until <= now)
    async with root.engine.connect() as conn:
        due = await conn.scalar(select(func.count()).where(jobs.c.due_at <= now, free))
        running = await conn.scalar(
            select(func.count()).where(owner.is_not(None), until > now, owner.not_in(dead))
        )
        next_due = await conn.scalar(select(func.min(jobs.c.due_at)).where(free))
        next_lease = await conn.scalar(
            select(func.min(until)).where(owner.is_not(None), until > now)
        )
    moments = [m for m in (next_due, next_lease) if m is not None]
    return (due == 0 and running == 0), (min(moments) if moments else None)


async def _leases_of(root: Zoho, owner: str) -> dict[str, datetime]:
    async with root.engine.connect() as conn:
        rows = await conn.execute(
            select(jobs.c.key, jobs.c.lease_expires_at).where(
                jobs.c.lease_owner == owner, jobs.c.kind == REFRESH_AHEAD
            )
        )
        return {r.key: r.lease_expires_at for r in rows}


async def test_two_hundred_tenants_stay_fresh_for_three_hours_through_a_sigkill(
    db_url: str, loopback_emulator: EmulatorServer, tmp_path: Path
) -> None:
    emu = loopback_emulator.emulator
    offset_file = tmp_path / "offset"
    offset_file.write_text("0")
    key = generate_key()
    env = {
        **os.environ,
        "ZOHOKIT_DATABASE_URL": db_url,
        "ZOHOKIT_ENCRYPTION_KEYS": key,
        "ZOHO_ACCOUNTS_URL": loopback_emulator.url,
        "ZOHO_CLIENT_ID": CLIENT_ID,
        "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
    }
    clock = lambda: _now(loopback_emulator)  # noqa: E731 - the emulator's time, for the test's root
    refresh_tokens: dict[str, str] = {}
    async with Zoho(
        database_url=db_url,
        encryption_keys=key,
        accounts_url=loopback_emulator.url,
        clock=clock,
    ) as root:
        seeding = asyncio.Semaphore(8)  # the root's pool has room for these at once

        async def connect(tenant: str) -> None:
            grant = emu.accounts.grant_refresh_token(CLIENT_ID, user_email=f"{tenant}@example.com")
            refresh_tokens[tenant] = grant.token
            async with seeding:
                await root.tokens.store_grant(
                    tenant,
                    "zoho_crm",
                    refresh_token=grant.token,
                    access_token=f"seed-{tenant}",
                    expires_in=TTL,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                )

        # Connected all at once: every token expires at the same moment.
        await asyncio.gather(*(connect(f"t{i:03d}") for i in range(TENANTS)))
        start = clock()
        fleet = Fleet(env, offset_file)
        try:
            fleet.start("w1")
            fleet.start("w2")
            fleet.start("doomed", "--hang-token-requests", "--kind", REFRESH_AHEAD)
            fleet.wait_ready()
            dead: set[str] = set()
            held: dict[str, datetime] = {}
            end = start.timestamp() + HOURS * 3600
            deadline = time.monotonic() + 420
            while True:
                assert time.monotonic() < deadline, "the fleet did not keep up"
                now = clock()
                if not dead and (leases := await _leases_of(root, "doomed")):
                    await asyncio.sleep(0.3)  # let it claim what it can
                    fleet.kill("doomed")
                    dead.add("doomed")
                    held = await _leases_of(root, "doomed")
                    assert held.keys() >= leases.keys()
                settled, next_moment = await _settled(root, now, dead)
                if not settled:
                    await asyncio.sleep(0.02)
                    continue
                if now.timestamp() >= end:
                    break
                # One step of the clock, or straight to the next moment when nothing is due
                # before it (the hours between waves of refreshes).
                target = now.timestamp() + STEP
                if next_moment is not None:
                    target = max(target, next_moment.timestamp())
                step = min(target, end) - now.timestamp()
                emu.clock.advance(step)
                offset_file.write_text(repr(emu.clock.offset))
        finally:
            fleet.stop()

        assert dead, "the doomed worker never held a lease"
        assert held, "the doomed worker held nothing when it was killed"
        async with root.engine.connect() as conn:
            runs = (
                await conn.execute(
                    select(
                        job_runs.c.key, job_runs.c.worker, job_runs.c.outcome, job_runs.c.started_at
                    )
                    .where(job_runs.c.kind == REFRESH_AHEAD)
                    .order_by(job_runs.c.id)
                )
            ).all()

    # Every job the killed worker held was taken over within its lease plus one step.
    for job_key, lease_end in held.items():
        mine = [r for r in runs if r.key == job_key]
        lost = [r for r in mine if r.worker == "doomed"]
        assert [r.outcome for r in lost] == ["lost"], mine
        after = [r for r in mine if r.worker != "doomed" and r.started_at > lost[0].started_at]
        assert after, mine
        assert after[0].started_at <= lease_end.replace(tzinfo=UTC) + timedelta(seconds=STEP), mine

    # Exactly one token request per tenant per expiry, each before the token expired.
    assert emu.stats.snapshot().get("token_throttled", 0) == 0
    t0 = start.timestamp()
    policy = root.refresh_policy
    earliest = policy.margin + policy.jitter + policy.ahead + STEP + 5
    for tenant, rt in refresh_tokens.items():
        mints = sorted(
            g.expires_at - TTL for g in emu.accounts.access_tokens.values() if g.refresh_token == rt
        )
        expiries = [t0 + TTL] + [m + TTL for m in mints]
        assert len(mints) >= HOURS, (tenant, [m - t0 for m in mints])
        for mint, expiry in zip(mints, expiries, strict=False):
            assert expiry - earliest <= mint < expiry, (tenant, [m - t0 for m in mints])
        # Covered to the end: the last token outlives the run.
        assert expiries[len(mints)] > t0 + HOURS * 3600
    assert emu.stats.snapshot()["token_requests"] == sum(
        1 for g in emu.accounts.access_tokens.values() if g.refresh_token in refresh_tokens.values()
    )
