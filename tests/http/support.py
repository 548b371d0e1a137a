"""Fixtures shared by the HTTP, CRM and Calendar tests: a real :class:`~zohokit.Zoho` root
over the emulator.

Everything here is the real thing, built as a user builds it: a root on a SQLite file in the
test's temporary folder, minting tokens at the emulator's accounts server and calling its
APIs through one transport (in process, or over loopback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit import Zoho
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, EmulatorServer, create_app
from zohokit.http import RetryPolicy, ZohoHTTP
from zohokit.tokens import OAuthTokenService, RefreshPolicy, generate_key

CREDENTIALS = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


class FastRetry(RetryPolicy):
    """The default policy with short waits, so fault tests take milliseconds."""

    def jitter(self, delay: float) -> float:
        return delay / 50


def zoho_for(
    db: Path,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    accounts_url: str | None = None,
    **options: Any,
) -> Zoho:
    """A real root on the SQLite file ``db`` that mints tokens at ``accounts_url`` (``None``:
    at each tenant's own accounts server, as stored with its grant), with fast retries and a
    short lease. ``transport`` carries both the token calls and the API calls."""
    options.setdefault("retry", FastRetry())
    return Zoho(
        database_url=f"sqlite:///{db}",
        encryption_keys=generate_key(),
        accounts_url=accounts_url,
        refresh_policy=RefreshPolicy(margin=300, jitter=60, lease=2.0, timeout=1.5),
        poll_interval=0.01,
        transport=transport,
        **options,
    )


@pytest.fixture
async def zoho(tmp_path: Path, emulator: Emulator) -> AsyncIterator[Zoho]:
    """A root over the in-process emulator: one ASGI transport for tokens and APIs."""
    async with zoho_for(
        tmp_path / "zohokit.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
    ) as root:
        yield root


@pytest.fixture
def token_service(zoho: Zoho) -> OAuthTokenService:
    """The root's token service."""
    return zoho.tokens


@pytest.fixture
def zoho_http(zoho: Zoho) -> ZohoHTTP:
    """The root's request path over the in-process emulator."""
    return zoho.http


@pytest.fixture
def crm(zoho: Zoho) -> ZohoCRMService:
    """The CRM service of the ``default`` tenant, over the in-process emulator."""
    return zoho.crm("default", CREDENTIALS)


@pytest.fixture
def calendar(zoho: Zoho, emulator: Emulator) -> ZohoCalendarService:
    """The Calendar service of the ``default`` tenant, on the emulator's primary calendar."""
    return zoho.calendar("default", CREDENTIALS, calendar_id=emulator.calendar.primary_uid)


@pytest.fixture
async def served(
    tmp_path: Path, emulator_server: EmulatorServer
) -> AsyncIterator[tuple[EmulatorServer, ZohoHTTP]]:
    """The emulator over loopback and a request path that talks to it over real sockets."""
    root = zoho_for(
        tmp_path / "served.db",
        accounts_url=emulator_server.url,
        timeout=httpx.Timeout(2.0, connect=2.0),
    )
    async with root:
        yield emulator_server, root.http
