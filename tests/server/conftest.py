"""Fixtures: the service in process, talking to the in-process emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.support import SERVICE_URL, Clock, settings_for
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app


@pytest.fixture
def clock() -> Clock:
    """The service's clock."""
    return Clock()


@pytest.fixture
async def app(
    tmp_path: Path, emulator: Emulator, clock: Callable[[], float]
) -> AsyncIterator[FastAPI]:
    """The service with its lifespan running; Zoho is the in-process emulator."""
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    service = create_app(settings_for(tmp_path), transport=transport, clock=clock)
    async with service.router.lifespan_context(service):
        yield service


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the service, in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SERVICE_URL) as http:
        yield http


# The Chromium harness: one served 5,000-tenant console and browser per test module.
from tests.server.console import console  # noqa: E402, F401
