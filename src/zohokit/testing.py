"""Test a Zoho integration offline: the zohokit emulator as pytest fixtures.

Installing zohokit registers a pytest plugin (entry point ``pytest11``, name
``zohokit_pytest``) with these fixtures; nothing to add to ``conftest.py``:

``zoho_emulator``
    An :class:`EmulatorHandle` on a fresh in-process emulator (no socket; calls go through
    ``handle.transport``): its ``url``, OAuth ``client_id`` / ``client_secret`` /
    ``refresh_token`` (already granted every scope), and the :class:`Emulator` itself to
    seed data or read what your code wrote.
``zoho_emulator_server``
    The same on a loopback port, for code that opens its own connections (another process,
    Zoho's official SDK, ``requests``): ``handle.url`` is ``http://127.0.0.1:<port>``.
``zoho``
    A :class:`zohokit.Zoho` root wired to ``zoho_emulator``: SQLite in ``tmp_path``, a fresh
    encryption key, the emulator's client as the default credentials and its primary
    calendar as the default calendar. ``zoho.crm()`` and ``zoho.calendar()`` work at once.
    An async fixture: it needs pytest-asyncio (or use :meth:`EmulatorHandle.zoho`).
``zoho_emulator_config``
    The :class:`EmulatorConfig` the two emulator fixtures start from. Override it in your
    ``conftest.py`` to change the defaults, or mark one test:
    ``@pytest.mark.zoho_emulator(edition="free", latency_ms=50)``.

Example (see ``docs/emulator.md`` for a whole project)::

    async def test_sync_writes_the_lead(zoho, zoho_emulator):
        await zoho.crm().insert_records("Leads", [{"Last_Name": "Lovelace"}])
        assert zoho_emulator.emulator.crm.records("Leads")[0]["Last_Name"] == "Lovelace"

The plugin module itself imports nothing of zohokit: a test run that uses none of these
fixtures pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._zoho import Zoho
from .emulator import Emulator, EmulatorConfig, EmulatorServer, create_app

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "EmulatorHandle",
    "emulator_config_for",
    "in_process",
    "on_loopback",
]

#: The OAuth client every emulator fixture registers (fixed, so failures are reproducible).
CLIENT_ID = "1000.ZOHOKITTESTCLIENT"
CLIENT_SECRET = "zohokit-test-secret"
#: The refresh token granted to that client with every CRM and Calendar scope.
REFRESH_TOKEN = "1000.zohokit.test-refresh-token"
#: Where the in-process emulator says it lives (nothing listens there: calls use a transport).
IN_PROCESS_URL = "http://zoho-emulator.test"


@dataclass
class EmulatorHandle:
    """A running emulator and what a client needs to reach it.

    ``transport`` is set for an in-process emulator (hand it to ``httpx`` or to
    :class:`zohokit.Zoho`); over loopback it is ``None`` and ``url`` is a real address.
    """

    emulator: Emulator
    url: str
    transport: httpx.AsyncBaseTransport | None = None

    @property
    def client_id(self) -> str:
        """The registered OAuth client id."""
        return self.emulator.config.client_id or ""

    @property
    def client_secret(self) -> str:
        """That client's secret."""
        return self.emulator.config.client_secret or ""

    @property
    def refresh_token(self) -> str:
        """A refresh token of that client, granted every scope."""
        return self.emulator.config.refresh_token or ""

    @property
    def credentials(self) -> dict[str, str]:
        """``client_id``, ``client_secret`` and ``refresh_token``, as zohokit's services take
        them (``ZohoCRMService(credentials)``)."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on the emulator (close it, or use ``async with``)."""
        return httpx.AsyncClient(base_url=self.url, transport=self.transport, **kwargs)

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Add clients, refresh tokens, records, calendars and events, all or nothing (the
        body of ``POST /_emulator/seed``)."""
        from .emulator import seed_emulator

        return seed_emulator(self.emulator, payload)

    def zoho(self, database_url: str, **overrides: Any) -> Zoho:
        """A :class:`zohokit.Zoho` root on ``database_url`` wired to this emulator (its hosts,
        transport, client and primary calendar); ``overrides`` go to ``Zoho(...)``."""
        from .tokens import generate_key

        options: dict[str, Any] = {
            "database_url": database_url,
            "encryption_keys": generate_key(),
            "credentials": self.credentials,
            "accounts_url": self.url,
            "api_url": self.url,
            "calendar_url": self.url,
            "calendar_id": self.emulator.calendar.primary_uid,
            "transport": self.transport,
        }
        return Zoho(**(options | overrides))


def emulator_config_for(node: pytest.Item | None = None, **overrides: Any) -> EmulatorConfig:
    """The fixtures' configuration: the fixed client, then the test's
    ``@pytest.mark.zoho_emulator(...)`` fields, then ``overrides``.

    An unknown field raises :class:`pytest.UsageError` naming the valid ones.
    """
    given: dict[str, Any] = {}
    marker = node.get_closest_marker("zoho_emulator") if node is not None else None
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.zoho_emulator takes keyword arguments only")
        given.update(marker.kwargs)
    given.update(overrides)
    known = {f.name for f in fields(EmulatorConfig)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise pytest.UsageError(
            f"zoho_emulator: unknown setting {', '.join(unknown)}; use {', '.join(sorted(known))}"
        )
    base: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "base_url": IN_PROCESS_URL,
    }
    return EmulatorConfig(**(base | given))


def in_process(config: EmulatorConfig) -> EmulatorHandle:
    """A fresh emulator served through an ``httpx.ASGITransport`` (no socket, no thread)."""
    emulator = Emulator(config)
    return EmulatorHandle(emulator, emulator.base_url, httpx.ASGITransport(create_app(emulator)))


@contextmanager
def on_loopback(config: EmulatorConfig, *, host: str = "127.0.0.1") -> Iterator[EmulatorHandle]:
    """A fresh emulator on a free loopback port, served from a thread until the block ends."""
    with EmulatorServer(config, host=host) as server:
        yield EmulatorHandle(server.emulator, server.url)


def sqlite_url(folder: Path) -> str:
    """The database URL the ``zoho`` fixture uses in ``folder``."""
    return f"sqlite:///{folder / 'zohokit.db'}"
