"""Token tests: a service over the in-process emulator, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.fixtures.clock import ManualClock
from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.db import create_engine
from zohokit.emulator import Emulator, create_app
from zohokit.settings import EnvCredentials
from zohokit.tokens import Cipher, OAuthTokenService, RefreshPolicy, generate_key

#: A clock the test moves by hand (passed in, never patched): the shared test clock.
FakeClock = ManualClock


def env_with_test_client(provider: str) -> EnvCredentials:
    """The environment of a single business configured with the emulator's test client."""
    return EnvCredentials(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)


ServiceFactory = Callable[..., Awaitable[OAuthTokenService]]


@pytest.fixture
def key() -> str:
    """A fresh encryption key."""
    return generate_key()


@pytest.fixture
async def make_service(
    db_url: str,
    emulator: Emulator,
    key: str,
) -> AsyncIterator[ServiceFactory]:
    """Build services sharing one database and the in-process emulator; closed at the end."""
    made: list[OAuthTokenService] = []

    async def make(**overrides: Any) -> OAuthTokenService:
        url = overrides.pop("url", db_url)
        options: dict[str, Any] = {
            "cipher": Cipher.from_spec(key),
            "transport": httpx.ASGITransport(app=create_app(emulator)),
            "accounts_url_override": emulator.base_url,
            "env_credentials": env_with_test_client,
            "policy": RefreshPolicy(margin=300, jitter=60, lease=2.0, timeout=1.5),
            "poll_interval": 0.01,
        }
        options.update(overrides)
        service = OAuthTokenService(create_engine(url), **options)
        made.append(service)
        return service

    yield make
    for service in made:
        await service.close()
