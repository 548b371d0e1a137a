"""Fixtures shared by the HTTP, CRM and Calendar tests: a real :class:`~zohokit.Zoho` root
over the emulator.

Everything here is the real thing, built as a user builds it: a root on a SQLite file in the
test's temporary folder, minting tokens at the emulator's accounts server and calling its
APIs through one transport (in process, or over loopback).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit import Zoho, blocking
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, EmulatorServer, create_app
from zohokit.http import RetryPolicy, ZohoHTTP
from zohokit.tokens import OAuthTokenService, RefreshPolicy, generate_key

#: The fixtures a test folder's ``conftest.py`` takes with ``from tests.http.support import *``.
__all__ = [
    "api",
    "blocking_zoho",
    "calendar",
    "crm",
    "served",
    "token_service",
    "zoho",
    "zoho_http",
]

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
    short lease (``refresh_policy=`` another). ``transport`` carries both the token calls and
    the API calls."""
    options.setdefault("retry", FastRetry())
    options.setdefault(
        "refresh_policy", RefreshPolicy(margin=300, jitter=60, lease=2.0, timeout=1.5)
    )
    return Zoho(
        database_url=f"sqlite:///{db}",
        encryption_keys=generate_key(),
        accounts_url=accounts_url,
        poll_interval=0.01,
        transport=transport,
        **options,
    )


#: Run a test against both APIs: the async services, then the same calls through
#: :mod:`zohokit.blocking` (its ``crm``, ``calendar`` and ``token_service`` fixtures switch).
both_apis = pytest.mark.parametrize("api", ["async", "blocking"], indirect=True)


@pytest.fixture
def api(request: pytest.FixtureRequest) -> str:
    """Which API the ``crm``, ``calendar`` and ``token_service`` fixtures hand out: ``async``
    unless a test is marked :data:`both_apis`."""
    return str(getattr(request, "param", "async"))


class Awaiting:
    """A :mod:`zohokit.blocking` face seen as its async twin, so one async test body drives
    both: each blocking call runs in a worker thread (as in a Django or Celery worker), and a
    blocking iterator is read item by item from one."""

    def __init__(self, face: Any) -> None:
        self._face = face

    def __repr__(self) -> str:
        return repr(self._face)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._face, name)
        twin = getattr(type(self._face.aio), name, None)
        if inspect.isasyncgenfunction(twin):
            return lambda *a, **k: _aiter(lambda: value(*a, **k))
        if inspect.iscoroutinefunction(twin):
            return lambda *a, **k: asyncio.to_thread(value, *a, **k)
        if isinstance(value, blocking._Face):  # a CRM part (crm.notes): its calls too
            return Awaiting(value)
        if callable(value):
            return lambda *a, **k: _awaiting(value(*a, **k))
        return value


_DONE = object()


def _awaiting(made: Any) -> Any:
    """What a plain blocking method returned, a face seen as its async twin (``at(...)``)."""
    return Awaiting(made) if isinstance(made, blocking._Face) else made


async def _aiter(start: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    items = await asyncio.to_thread(start)
    while (item := await asyncio.to_thread(next, items, _DONE)) is not _DONE:
        yield item


@pytest.fixture
async def blocking_zoho(tmp_path: Path, emulator: Emulator) -> AsyncIterator[blocking.Zoho]:
    """A blocking root over the in-process emulator, its loop on its own thread."""
    root = blocking.Zoho(
        zoho_for(
            tmp_path / "blocking.db",
            transport=httpx.ASGITransport(app=create_app(emulator)),
            accounts_url=emulator.base_url,
        )
    )
    await asyncio.to_thread(root.migrate)
    yield root
    await asyncio.to_thread(root.close)


def _face(request: pytest.FixtureRequest, api: str, make: Callable[[Any], Any]) -> Any:
    if api == "blocking":
        return Awaiting(make(request.getfixturevalue("blocking_zoho")))
    return make(request.getfixturevalue("zoho"))


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
def token_service(request: pytest.FixtureRequest, api: str) -> OAuthTokenService:
    """The root's token service (through the blocking root with :data:`both_apis`)."""
    face: OAuthTokenService = _face(request, api, lambda root: root.tokens)
    return face


@pytest.fixture
def zoho_http(zoho: Zoho) -> ZohoHTTP:
    """The root's request path over the in-process emulator."""
    return zoho.http


@pytest.fixture
def crm(request: pytest.FixtureRequest, api: str) -> ZohoCRMService:
    """The CRM service of the ``default`` tenant, over the in-process emulator (through the
    blocking root with :data:`both_apis`)."""
    face: ZohoCRMService = _face(request, api, lambda root: root.crm("default", CREDENTIALS))
    return face


@pytest.fixture
def calendar(request: pytest.FixtureRequest, api: str, emulator: Emulator) -> ZohoCalendarService:
    """The Calendar service of the ``default`` tenant, on the emulator's primary calendar
    (through the blocking root with :data:`both_apis`)."""
    primary = emulator.calendar.primary_uid
    face: ZohoCalendarService = _face(
        request, api, lambda root: root.calendar("default", CREDENTIALS, calendar_id=primary)
    )
    return face


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
