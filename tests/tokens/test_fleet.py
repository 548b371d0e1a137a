"""Several real processes sharing one database and one emulator over loopback.

These are the acceptance checks of the fleet-wide protocol: a process started later reads
the token from the database; 8 processes x 50 callers on one expired token make exactly one
token request (three tenants at once, three); a process killed while it holds the lease is
replaced within the lease bound. Counts come from the emulator's ``/_emulator/stats``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.db import create_engine
from zohokit.emulator import EmulatorServer
from zohokit.tokens import Cipher, OAuthTokenService, RefreshPolicy
from zohokit.tokens._store import oauth_tokens

WORKER = Path(__file__).with_name("fleet_worker.py")
LEASE = 3.0

pytestmark = pytest.mark.slow


class Fleet:
    """Starts worker processes configured through the environment, and cleans up."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def expect(proc: subprocess.Popen[str], line: str) -> None:
        assert proc.stdout is not None
        got = proc.stdout.readline().strip()
        if got != line:
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"worker said {got!r}, expected {line!r}: {err}")

    @staticmethod
    def go(proc: subprocess.Popen[str]) -> None:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()

    @staticmethod
    def result(proc: subprocess.Popen[str]) -> dict[str, list[str]]:
        """The tokens each tenant's callers got, once the worker has exited."""
        return Fleet.finished(proc)[0]

    @staticmethod
    def finished(proc: subprocess.Popen[str]) -> tuple[dict[str, list[str]], float]:
        """The tokens, and the moment (``time.monotonic``, system-wide on Linux) the worker
        had them all: its exit, slow on a busy machine, is no part of any bound."""
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        *_, at_line, tokens_line = out.strip().splitlines()
        parsed: dict[str, list[str]] = json.loads(tokens_line)
        return parsed, float(at_line.removeprefix("at "))

    def run_all(self, count: int, *args: str) -> list[dict[str, list[str]]]:
        """Start ``count`` workers, wait until all are ready, release them at once."""
        procs = [self.start(*args) for _ in range(count)]
        for proc in procs:
            self.expect(proc, "ready")
        for proc in procs:
            self.go(proc)
        return [self.result(proc) for proc in procs]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


@pytest.fixture
def fleet(
    emulator_server: EmulatorServer, db_url: str, key: str, tmp_path: Path
) -> Iterator[Fleet]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))} | {
        "ZOHO_CLIENT_ID": CLIENT_ID,
        "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
        "ZOHO_REFRESH_TOKEN": REFRESH_TOKEN,
        "ZOHO_ACCOUNTS_URL": emulator_server.url,
        "ZOHOKIT_DATABASE_URL": db_url,
        "ZOHOKIT_DATA_DIR": str(tmp_path / "data"),
        "ZOHOKIT_ENCRYPTION_KEYS": key,
        "ZOHOKIT_LEASE_SECONDS": str(LEASE),
        "ZOHOKIT_REFRESH_TIMEOUT_SECONDS": "2",
    }
    fleet = Fleet(env)
    yield fleet
    fleet.close()


def token_requests(server: EmulatorServer) -> int:
    count: int = httpx.get(f"{server.url}/_emulator/stats").json()["token_requests"]
    return count


async def seed_expired(db_url: str, key: str, server: EmulatorServer, *tenants: str) -> None:
    """Tenants whose stored access token has expired, as after a night without traffic."""
    service = OAuthTokenService(
        create_engine(db_url),
        cipher=Cipher.from_spec(key),
        accounts_url_override=server.url,
        policy=RefreshPolicy(lease=LEASE, timeout=2),
    )
    async with service:
        for tenant in tenants:
            await service.get_access_token(
                tenant,
                "zoho_crm",
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "refresh_token": REFRESH_TOKEN,
                },
            )
        async with service.engine.begin() as conn:
            await conn.execute(
                update(oauth_tokens).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )


async def test_a_process_started_later_reads_the_database(
    fleet: Fleet, emulator_server: EmulatorServer
) -> None:
    [first] = fleet.run_all(1)
    assert token_requests(emulator_server) == 1
    [second] = fleet.run_all(1)
    assert second == first
    assert token_requests(emulator_server) == 1


async def test_eight_processes_on_each_of_three_expired_tokens_make_one_request_each(
    fleet: Fleet, emulator_server: EmulatorServer, db_url: str, key: str
) -> None:
    """8 processes x 50 callers on one expired token make one token request, and three
    tenants at once make three: each tenant here has its 8 x 50 callers, in one run (a fleet
    of eight processes costs seconds to start)."""
    tenants = ("north", "south", "west")
    await seed_expired(db_url, key, emulator_server, *tenants)
    before = token_requests(emulator_server)
    results = fleet.run_all(8, "--callers", "50", "--tenants", ",".join(tenants))
    assert token_requests(emulator_server) - before == 3
    for tenant in tenants:
        assert len({t for r in results for t in r[tenant]}) == 1


async def test_a_killed_lease_holder_is_replaced_within_the_lease_bound(
    fleet: Fleet, emulator_server: EmulatorServer, db_url: str, key: str
) -> None:
    await seed_expired(db_url, key, emulator_server, "default")
    before = token_requests(emulator_server)
    survivor = fleet.start()
    fleet.expect(survivor, "ready")
    doomed = fleet.start("--hang-after-send")
    fleet.expect(doomed, "ready")
    fleet.go(doomed)
    fleet.expect(doomed, "refreshing")  # it holds the lease and Zoho has answered it
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    killed_at = time.monotonic()
    fleet.go(survivor)
    result, got_it_at = fleet.finished(survivor)
    assert result["default"]
    # The dead holder's lease (taken before the kill) runs out, then one refresh.
    assert got_it_at - killed_at < LEASE + 2
    assert token_requests(emulator_server) - before <= 2
