"""Fixtures shared by the HTTP, CRM and Calendar tests: real token services over the emulator.

Every service here is the real thing: an :class:`OAuthTokenService` on a SQLite file in the
test's temporary folder, minting tokens at the emulator's accounts server, and a
:class:`ZohoHTTP` whose transport is the emulator (in process, or over loopback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.db import create_engine
from zohokit.emulator import Emulator, EmulatorServer, create_app
from zohokit.http import RetryPolicy, ZohoHTTP
from zohokit.settings import Settings
from zohokit.tokens import Cipher, OAuthTokenService, RefreshPolicy, generate_key

CREDENTIALS = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


class FastRetry(RetryPolicy):
    """The default policy with short waits, so fault tests take milliseconds."""

    def jitter(self, delay: float) -> float:
        return delay / 50


def bare_settings(**overrides: Any) -> Settings:
    """Settings that ignore the developer's environment and any .env file, plus ``overrides``
    (given as the environment would give them)."""
    values: dict[str, Any] = dict(
        zoho_client_id=None,
        zoho_client_secret=None,
        zoho_refresh_token=None,
        zoho_crm_client_id=None,
        zoho_crm_client_secret=None,
        zoho_crm_refresh_token=None,
        zoho_calendar_client_id=None,
        zoho_calendar_client_secret=None,
        zoho_calendar_refresh_token=None,
        zoho_calendar_id=None,
        zoho_api_url=None,
        zoho_calendar_url=None,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def token_service_for(
    db: Path, transport: httpx.AsyncBaseTransport | None, accounts_url: str | None
) -> OAuthTokenService:
    """A real token service on the SQLite file ``db`` that mints tokens at ``accounts_url``
    (``None``: at each tenant's own accounts server, as stored with its grant)."""
    return OAuthTokenService(
        create_engine(f"sqlite:///{db}"),
        cipher=Cipher.from_spec(generate_key()),
        transport=transport,
        accounts_url_override=accounts_url,
        policy=RefreshPolicy(margin=300, jitter=60, lease=2.0, timeout=1.5),
        poll_interval=0.01,
    )


@pytest.fixture
async def token_service(tmp_path: Path, emulator: Emulator) -> AsyncIterator[OAuthTokenService]:
    """Tokens for the in-process emulator."""
    service = token_service_for(
        tmp_path / "tokens.db", httpx.ASGITransport(app=create_app(emulator)), emulator.base_url
    )
    yield service
    await service.close()


@pytest.fixture
async def zoho_http(
    token_service: OAuthTokenService, emulator: Emulator
) -> AsyncIterator[ZohoHTTP]:
    """The request path over the in-process emulator, with fast retries."""
    http = ZohoHTTP(
        token_service,
        transport=httpx.ASGITransport(app=create_app(emulator)),
        retry=FastRetry(),
    )
    yield http
    await http.aclose()


@pytest.fixture
def crm(zoho_http: ZohoHTTP) -> ZohoCRMService:
    """The CRM service of the ``default`` tenant, over the in-process emulator."""
    return ZohoCRMService(CREDENTIALS, http=zoho_http, settings=bare_settings())


@pytest.fixture
def calendar(zoho_http: ZohoHTTP, emulator: Emulator) -> ZohoCalendarService:
    """The Calendar service of the ``default`` tenant, on the emulator's primary calendar."""
    return ZohoCalendarService(
        {**CREDENTIALS, "calendar_id": emulator.calendar.primary_uid},
        http=zoho_http,
        settings=bare_settings(),
    )


@pytest.fixture
async def served(
    tmp_path: Path, emulator_server: EmulatorServer
) -> AsyncIterator[tuple[EmulatorServer, ZohoHTTP]]:
    """The emulator over loopback and a request path that talks to it over real sockets."""
    tokens = token_service_for(tmp_path / "served.db", None, emulator_server.url)
    http = ZohoHTTP(tokens, retry=FastRetry(), timeout=httpx.Timeout(2.0, connect=2.0))
    yield emulator_server, http
    await http.aclose()
    await tokens.close()


def service_kwargs(http: ZohoHTTP) -> dict[str, Any]:
    """Keyword arguments that point a service at ``http`` and ignore the environment."""
    return {"http": http, "settings": bare_settings()}
