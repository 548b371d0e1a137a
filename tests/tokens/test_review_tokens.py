"""Review findings on the token protocol."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import update

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit.db import create_engine
from zohokit.emulator import Emulator
from zohokit.errors import TokenRefreshFailed
from zohokit.settings import to_async_url
from zohokit.tokens._policy import BACKOFF_CAP_SECONDS, backoff_seconds
from zohokit.tokens._store import oauth_tokens

from .conftest import FakeClock, ServiceFactory


@pytest.mark.parametrize("failures", [1025, 5000, 10**6])
def test_backoff_after_very_many_failures_stays_at_the_cap(failures: int) -> None:
    wait = backoff_seconds(failures, random.Random(1))
    assert BACKOFF_CAP_SECONDS / 2 <= wait <= BACKOFF_CAP_SECONDS


async def test_a_tenant_failing_for_days_keeps_backing_off(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    emulator.faults.configure({"rules": [{"route": "token", "error_rate": 1}]})
    with pytest.raises(TokenRefreshFailed):
        await service.get_access_token("default", "zoho_crm")
    # Days of outage later: a thousand-odd failures in a row.
    async with service.engine.begin() as conn:
        await conn.execute(update(oauth_tokens).values(failure_count=2000))
    clock.advance(BACKOFF_CAP_SECONDS + 1)
    with pytest.raises(TokenRefreshFailed) as info:
        await service.get_access_token("default", "zoho_crm")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    asked = emulator.stats.snapshot()["token_requests"]
    with pytest.raises(TokenRefreshFailed, match="backing off"):
        await service.get_access_token("default", "zoho_crm")
    assert emulator.stats.snapshot()["token_requests"] == asked


@pytest.mark.parametrize(
    ("plain", "mapped"),
    [
        (
            "postgresql://u:p%40ss@h/db?sslmode=require",
            "postgresql+asyncpg://u:p%40ss@h/db?ssl=require",
        ),
        (
            "postgres://u@h:5433/db?target_session_attrs=primary&sslmode=verify-full",
            "postgresql+asyncpg://u@h:5433/db?target_session_attrs=primary&ssl=verify-full",
        ),
    ],
)
def test_libpq_sslmode_is_given_to_asyncpg_as_ssl(plain: str, mapped: str) -> None:
    # Hosted PostgreSQL hands out URLs with ?sslmode=...; asyncpg has no such argument
    # (connect() raised TypeError), its name for it is ``ssl``.
    assert to_async_url(plain) == mapped


async def test_a_postgres_url_with_sslmode_reaches_the_network() -> None:
    engine = create_engine("postgresql://u:p@127.0.0.1:1/db?sslmode=disable")
    try:
        with pytest.raises(ConnectionRefusedError):  # the URL was accepted
            async with engine.connect():
                pass
    finally:
        await engine.dispose()


async def test_a_tenant_with_its_own_oauth_client_is_not_refreshed_with_the_env_client(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    # An admin imported tenant "acme" with its own Zoho client; the process's environment
    # (what ZohoCRMService(client_id="acme") passes along) names the app's client. The
    # refresh token only works with the client it was minted for.
    emulator.accounts.register_client("1000.ACMEOWNCLIENT", "acme-secret")
    grant = emulator.accounts.grant_refresh_token("1000.ACMEOWNCLIENT")
    service = await make_service()
    await service.store_grant(
        "acme",
        "zoho_crm",
        refresh_token=grant.token,
        client_id="1000.ACMEOWNCLIENT",
        client_secret="acme-secret",
        source="admin",
    )
    env_client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = await service.get_access_token("acme", "zoho_crm", env_client)
    assert token in emulator.accounts.access_tokens
    status = await service.status("acme", "zoho_crm")
    assert status is not None
    assert status.status == "active"
