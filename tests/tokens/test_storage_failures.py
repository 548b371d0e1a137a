"""The token path when PostgreSQL fails: stopped, frozen (SIGSTOP) and restarted around a
due refresh. Every caller gets a token or a ``ZohoError`` within the stated bound
(``OAuthTokenService.max_wait``), never a raw driver error; a cached token that is still
valid keeps being served; after the restart the first token arrives within one lease."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.fixtures.postgres import PostgresOutage
from zohokit.db import Timeouts, create_engine, upgrade_async
from zohokit.emulator import Emulator, create_app
from zohokit.errors import StorageUnavailable, ZohoError
from zohokit.tokens import Cipher, OAuthTokenService, RefreshPolicy, generate_key

from .conftest import FakeClock, env_with_test_client

pytestmark = pytest.mark.postgres

LEASE = 8.0  # generous: the shared test machine is slow at times
POLICY = RefreshPolicy(margin=300, jitter=0, lease=LEASE, timeout=1.5)
TIMEOUTS = Timeouts(connect=1.0, statement=1.0, pool=1.0)
Make = Callable[..., Awaitable[OAuthTokenService]]


@pytest.fixture
async def make(
    postgres_outage: PostgresOutage, emulator: Emulator
) -> AsyncIterator[tuple[Make, FakeClock]]:
    """Services on one database of the private cluster, sharing a clock the test moves."""
    url = postgres_outage.url(postgres_outage.cluster.create_database())
    # The schema is built before the test, with the default bounds: fifteen migrations can take
    # longer than the one-second statement bound these services run under when the machine is
    # busy, and a timeout there is not the outage under test.
    await upgrade_async(url)
    key = generate_key()
    clock = FakeClock()
    made: list[OAuthTokenService] = []

    async def build(**overrides: Any) -> OAuthTokenService:
        options: dict[str, Any] = {
            "cipher": Cipher.from_spec(key),
            "transport": httpx.ASGITransport(app=create_app(emulator)),
            "accounts_url_override": emulator.base_url,
            "env_credentials": env_with_test_client,
            "policy": POLICY,
            "poll_interval": 0.01,
            "clock": clock,
            "storage_timeout": TIMEOUTS.statement,
            "migrate": False,
        }
        options.update(overrides)
        service = OAuthTokenService(create_engine(url, timeouts=TIMEOUTS), **options)
        made.append(service)
        return service

    yield build, clock
    postgres_outage.thaw()
    for service in made:
        await service.close()


async def timed(call: Awaitable[Any]) -> tuple[object, float]:
    """What ``call`` returned or raised, and how long it took."""
    started = time.monotonic()
    try:
        result: object = await call
    except Exception as exc:
        result = exc
    return result, time.monotonic() - started


def stale_served() -> float:
    value = REGISTRY.get_sample_value("zohokit_token_served_stale_total", {"provider": "zoho_crm"})
    return value or 0.0


def assert_token_or_zoho_error(result: object, token: str | None = None) -> None:
    if isinstance(result, Exception):
        # A ZohoError, raised from the driver's error: never the driver's error itself.
        assert isinstance(result, ZohoError), repr(result)
    elif token is not None:
        assert result == token


async def test_a_cached_valid_token_is_served_while_postgres_is_stopped_or_frozen(
    make: tuple[Make, FakeClock], postgres_outage: PostgresOutage
) -> None:
    build, clock = make
    service = await build()
    token = await service.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 250)  # past its refresh moment, valid for 250 s more
    served_before = stale_served()
    for outage, back in (
        (postgres_outage.stop, postgres_outage.start),
        (postgres_outage.freeze, postgres_outage.thaw),
    ):
        outage()
        try:
            results = await asyncio.gather(
                *(timed(service.get_access_token("default", "zoho_crm")) for _ in range(20))
            )
            # Past the retry pause, the database is tried again, and the token still served.
            await asyncio.sleep(1.1)
            results.append(await timed(service.get_access_token("default", "zoho_crm")))
        finally:
            back()
        for result, elapsed in results:
            assert result == token
            assert elapsed < service.max_wait
    # The look-up each outage's first caller started behind its back met the outage too.
    assert stale_served() >= served_before + 1
    # Once the database answers again (after the retry pause), the due refresh happens,
    # behind a caller still served the valid token.
    await service.settle()
    await asyncio.sleep(1.1)
    assert await service.get_access_token("default", "zoho_crm") == token
    await service.settle()
    fresh = await service.get_access_token("default", "zoho_crm")
    assert fresh != token


async def test_callers_without_a_cached_token_get_a_zoho_error_within_the_bound(
    make: tuple[Make, FakeClock], postgres_outage: PostgresOutage, emulator: Emulator
) -> None:
    build, clock = make
    first = await build()
    await first.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 250)  # due
    peer = await build()  # another process: its cache is empty
    await peer.status("default", "zoho_crm")  # connected and migrated before the outage
    for outage, back in (
        (postgres_outage.stop, postgres_outage.start),
        (postgres_outage.freeze, postgres_outage.thaw),
    ):
        outage()
        try:
            results = await asyncio.gather(
                *(timed(peer.get_access_token("default", "zoho_crm")) for _ in range(20)),
                *(timed(peer.get_access_token(f"t{i}", "zoho_crm")) for i in range(5)),
            )
        finally:
            back()
        for result, elapsed in results:
            assert isinstance(result, StorageUnavailable), repr(result)
            assert result.__cause__ is not None  # raised from the driver's error
            assert "cannot be reached" in str(result)
            assert elapsed < peer.max_wait
        await asyncio.sleep(1.1)  # the pause after a failure
    before = emulator.stats.snapshot()["token_refresh_requests"]
    result, elapsed = await timed(peer.get_access_token("default", "zoho_crm"))
    assert isinstance(result, str), repr(result)
    assert elapsed < LEASE
    assert emulator.stats.snapshot()["token_refresh_requests"] == before + 1


async def test_a_lease_orphaned_by_an_outage_is_taken_back_by_its_owner(
    make: tuple[Make, FakeClock], postgres_outage: PostgresOutage, emulator: Emulator
) -> None:
    build, clock = make
    owner = await build()
    old = await owner.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 250)  # due
    # Zoho answers slowly, so the database can go away while the refresh is in flight.
    emulator.faults.configure({"rules": [{"route": "token", "latency_ms": 800}]})
    # Still valid: the caller is served at once, and the refresh runs behind it.
    assert await owner.get_access_token("default", "zoho_crm") == old
    await asyncio.sleep(0.4)
    postgres_outage.stop()
    await owner.settle()
    result, elapsed = await timed(owner.get_access_token("default", "zoho_crm"))
    # Zoho's new token is valid though it could not be stored: it is served.
    assert isinstance(result, str), repr(result)
    assert result != old
    assert elapsed < owner.max_wait
    emulator.faults.configure({"rules": []})
    postgres_outage.start()
    await asyncio.sleep(1.1)  # the pause after a failure
    # The lease is still on the row (its release never arrived) and, in the test's clock,
    # unexpired: the owner takes it back at once instead of waiting it out.
    before = emulator.stats.snapshot()["token_refresh_requests"]
    unsaved = result
    # Say Zoho refused the unsaved token (a 401): the owner must refresh, through the lease.
    result, elapsed = await timed(owner.invalidate("default", "zoho_crm", unsaved))
    assert not isinstance(result, Exception), repr(result)
    assert elapsed < LEASE
    assert emulator.stats.snapshot()["token_refresh_requests"] == before + 1


async def test_a_peer_takes_an_orphaned_lease_over_once_it_expires(
    make: tuple[Make, FakeClock], postgres_outage: PostgresOutage, emulator: Emulator
) -> None:
    build, clock = make
    owner = await build()
    await owner.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 250)
    emulator.faults.configure({"rules": [{"route": "token", "latency_ms": 800}]})
    refresh = asyncio.create_task(owner.get_access_token("default", "zoho_crm"))
    await asyncio.sleep(0.4)
    postgres_outage.stop()
    await refresh
    emulator.faults.configure({"rules": []})
    postgres_outage.start()
    peer = await build()
    clock.advance(LEASE)  # the orphaned lease runs out
    result, elapsed = await timed(peer.get_access_token("default", "zoho_crm"))
    assert isinstance(result, str), repr(result)
    assert elapsed < LEASE
