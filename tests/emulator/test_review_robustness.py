"""Odd inputs a client (or a test) can send must get Zoho's 4xx, never a 500 or a traceback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from zohokit.emulator import Emulator, create_app


@pytest.fixture
async def lenient_client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``emu_client``, but an app exception comes back as a 500 instead of raising."""
    transport = httpx.ASGITransport(app=create_app(emulator), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=emulator.base_url) as client:
        yield client


def _events_url(emulator: Emulator) -> str:
    return f"/api/v1/calendars/{emulator.calendar.primary_uid}/events"


def _eventdata(**data: Any) -> dict[str, str]:
    return {"eventdata": json.dumps(data)}


# --------------------------------------------------------------------------- control routes


@pytest.mark.parametrize("body", [b'{"advance": 1e18}', b'{"advance": 1e308}', b'{"advance": NaN}'])
async def test_clock_refuses_advances_it_cannot_represent_and_stays_usable(
    lenient_client: httpx.AsyncClient, body: bytes
) -> None:
    answer = await lenient_client.post("/_emulator/clock", content=body)
    assert answer.status_code == 400
    # The refused advance left the clock alone: it still answers, at the real time.
    after = await lenient_client.get("/_emulator/clock")
    assert after.status_code == 200
    assert after.json()["offset"] == 0
