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


# --------------------------------------------------------------------------- CRM search, COQL


async def test_deeply_nested_criteria_is_invalid_query_not_500(
    lenient_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    criteria = "(" * 600 + "Last_Name:equals:Boyle" + ")" * 600  # under the 3000-char limit
    answer = await lenient_client.get(
        "/crm/v8/Leads/search", params={"criteria": criteria}, headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_QUERY"


async def test_redundant_parentheses_in_criteria_still_work(
    lenient_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    await lenient_client.post(
        "/crm/v8/Leads", json={"data": [{"Last_Name": "Boyle"}]}, headers=auth_headers
    )
    criteria = "(" * 5 + "Last_Name:equals:Boyle" + ")" * 5
    answer = await lenient_client.get(
        "/crm/v8/Leads/search", params={"criteria": criteria}, headers=auth_headers
    )
    assert answer.status_code == 200
    assert [r["Last_Name"] for r in answer.json()["data"]] == ["Boyle"]


@pytest.mark.parametrize(
    "query",
    [
        "select Last_Name from Leads where " + "(" * 2000 + "Last_Name = 'a'" + ")" * 2000,
        "select Last_Name from Leads where Last_Name = 'a' limit " + "9" * 5000,
        "select Last_Name from Leads where Last_Name = 'a' limit 1 offset " + "9" * 5000,
    ],
    ids=["nested", "huge-limit", "huge-offset"],
)
async def test_coql_odd_queries_are_400_not_500(
    lenient_client: httpx.AsyncClient, auth_headers: dict[str, str], query: str
) -> None:
    answer = await lenient_client.post(
        "/crm/v8/coql", json={"select_query": query}, headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] in ("SYNTAX_ERROR", "LIMIT_EXCEEDED")
