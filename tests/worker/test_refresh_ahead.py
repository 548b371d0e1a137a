"""Refresh ahead in one process: the sweep gives each connection a job, the job refreshes
before any caller's moment, and a caller inside the margin is never made to wait on Zoho
while a peer refreshes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.clock import ManualClock
from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from tests.http.support import zoho_for
from zohokit import Zoho
from zohokit.emulator import Emulator, create_app
from zohokit.tokens._models import as_datetime
from zohokit.worker import Worker
from zohokit.worker._refresh import REFRESH_AHEAD, refresh_key


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2031, 3, 3, 8, tzinfo=UTC))


@pytest.fixture
async def root(tmp_path: Path, emulator: Emulator, clock: ManualClock) -> AsyncIterator[Zoho]:
    async with zoho_for(
        tmp_path / "zohokit.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        clock=clock,
    ) as zoho:
        await zoho.tokens.store_grant(
            "acme",
            "zoho_crm",
            refresh_token=REFRESH_TOKEN,
            access_token="first",
            expires_in=3600,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        yield zoho


def _requests(emulator: Emulator) -> int:
    return emulator.stats.snapshot()["token_requests"]


async def test_the_worker_refreshes_before_any_caller_and_callers_find_it(
    root: Zoho, emulator: Emulator, clock: ManualClock
) -> None:
    worker = Worker(root, kinds=[REFRESH_AHEAD, "tokens.refresh_sweep"])
    await worker.run_due()  # the sweep: a job for the connection, at its moment
    job = await root.jobs.get(REFRESH_AHEAD, refresh_key("acme", "zoho_crm"))
    assert job is not None
    policy = root.refresh_policy
    expires = clock.now + timedelta(seconds=3600)
    moment = as_datetime(policy.ahead_at(expires.timestamp(), "acme", "zoho_crm"))
    assert abs((job.due_at - moment).total_seconds()) < 1
    assert job.due_at <= as_datetime(policy.refresh_at(expires.timestamp(), "acme", "zoho_crm"))
    assert _requests(emulator) == 0

    clock.now = job.due_at
    assert await worker.run_due() >= 1
    assert _requests(emulator) == 1
    # Callers past the old token's moment get the worker's token from the database.
    clock.now = expires - timedelta(seconds=policy.margin)
    token = await root.tokens.get_access_token("acme", "zoho_crm")
    assert token != "first"
    assert _requests(emulator) == 1
    # And the job moved to the new token's moment.
    again = await root.jobs.get(REFRESH_AHEAD, refresh_key("acme", "zoho_crm"))
    assert again is not None
    assert again.due_at > expires


async def test_a_caller_inside_the_margin_gets_the_valid_token_while_a_peer_refreshes(
    root: Zoho, emulator: Emulator, clock: ManualClock
) -> None:
    clock.advance(3600 - 200)  # inside the margin, 200 s before expiry
    now = clock.now
    # A peer process holds the refresh lease (it is refreshing now).
    assert await root.tokens._store.try_lease(
        tenant="acme",
        provider="zoho_crm",
        owner="peer",
        now=now,
        until=now + timedelta(seconds=15),
    )
    assert await root.tokens.get_access_token("acme", "zoho_crm") == "first"
    assert _requests(emulator) == 0


async def test_a_connection_that_needs_reauthorization_ends_its_job(
    root: Zoho, emulator: Emulator, clock: ManualClock
) -> None:
    await root.tokens.revoke("acme", "zoho_crm")
    worker = Worker(root, kinds=[REFRESH_AHEAD, "tokens.refresh_sweep"])
    await worker.run_due()
    assert await root.jobs.get(REFRESH_AHEAD, refresh_key("acme", "zoho_crm")) is None
