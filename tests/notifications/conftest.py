"""A service (``create_app``, lifespan running) whose Zoho is the in-process emulator, and
an emulator that delivers its notifications to that service in process: the whole loop,
on a SQLite file or a private PostgreSQL database. The service's clock *is* the emulator's,
so moving the emulator's time moves both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tests.fixtures.emulator import REFRESH_TOKEN
from tests.server.support import SERVICE_URL, settings_for
from zohokit import Zoho
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.events import read_events
from zohokit.notifications import RecordChange
from zohokit.server import ServerSettings, create_app

NOTIFY_URL = f"{SERVICE_URL}/zoho/notifications"
TENANT = "acme"


@dataclass
class Loop:
    """Everything a notification test touches."""

    emulator: Emulator
    app: FastAPI
    service: httpx.AsyncClient
    settings: ServerSettings
    #: What the registered handler received, in order.
    changes: list[RecordChange] = field(default_factory=list)

    @property
    def zoho(self) -> Zoho:
        """The service's root object."""
        root: Zoho = self.app.state.zohokit.zoho
        return root

    def advance(self, seconds: float) -> None:
        """Move Zoho's time (and with it the service's)."""
        self.emulator.clock.advance(seconds)

    async def events(self, record_id: str | None = None) -> list[dict[str, Any]]:
        """The ``crm.record.changed`` events in the outbox (of one record when given)."""
        found = await read_events(self.zoho.engine, type="crm.record.changed", limit=10_000)
        data = [e.data for e in found]
        return [d for d in data if record_id is None or d["record_id"] == record_id]

    def other_root(self) -> Zoho:
        """A second root on the same database and keys (another worker process)."""
        transport = httpx.ASGITransport(app=create_emulator_app(self.emulator))
        return Zoho.from_settings(
            self.settings, transport=transport, clock=self.emulator.clock.utcnow
        )

    async def settle(self) -> None:
        """Wait until every notification sent so far was received and processed."""
        await self.emulator.watch.drain()
        notifications = self.zoho.notifications
        for task in list(notifications._running.values()):
            await task


@pytest.fixture
async def loop(tmp_path: Path, emulator: Emulator, db_url: str) -> AsyncIterator[Loop]:
    """The service on ``db_url`` over the emulator, the emulator notifying the service."""
    settings = settings_for(
        tmp_path,
        db_url,
        zoho_api_url=emulator.base_url,
        zoho_refresh_token=SecretStr(REFRESH_TOKEN),
    )
    app = create_app(
        settings,
        transport=httpx.ASGITransport(app=create_emulator_app(emulator)),
        clock=emulator.clock.utcnow,
    )
    emulator.notify_transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=SERVICE_URL) as service:
            world = Loop(emulator, app, service, settings)
            world.zoho.notifications.on_change(world.changes.append)
            yield world
            await emulator.watch.drain()
