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


# --------------------------------------------------------------------------- Calendar


@pytest.mark.parametrize(
    "rrule",
    ["FREQ=DAILY;COUNT=\u00b2", "FREQ=DAILY;INTERVAL=" + "9" * 5000, "FREQ=WEEKLY;COUNT=\u0663"],
    ids=["superscript-count", "5000-digit-interval", "arabic-indic-count"],
)
async def test_rrule_numbers_that_are_not_plain_integers_are_400(
    lenient_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    rrule: str,
) -> None:
    answer = await lenient_client.post(
        _events_url(emulator),
        params=_eventdata(
            dateandtime={"start": "20250106T100000Z", "end": "20250106T110000Z"}, rrule=rrule
        ),
        headers=auth_headers,
    )
    assert answer.status_code == 400
    assert answer.json()["details"]["key"] == "rrule"


@pytest.mark.parametrize(
    "rrule", ["FREQ=DAILY;INTERVAL=100000000", "FREQ=WEEKLY;INTERVAL=100000000"]
)
async def test_a_series_with_a_huge_interval_does_not_break_listings_or_freebusy(
    lenient_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    rrule: str,
) -> None:
    created = await lenient_client.post(
        _events_url(emulator),
        params=_eventdata(
            dateandtime={"start": "20250106T100000Z", "end": "20250106T110000Z"}, rrule=rrule
        ),
        headers=auth_headers,
    )
    if created.status_code == 400:
        return  # refusing the rule up front is as good as serving it
    assert created.status_code == 201
    listed = await lenient_client.get(
        _events_url(emulator),
        params={"range": json.dumps({"start": "20250101", "end": "20250131"})},
        headers=auth_headers,
    )
    assert listed.status_code == 200
    [event] = listed.json()["events"]
    assert event["rrule"] == rrule
    busy = await lenient_client.get(
        "/api/v1/calendars/freebusy",
        params={
            "uemail": emulator.config.user_email,
            "sdate": "20250101T000000",
            "edate": "20250131T000000",
        },
        headers=auth_headers,
    )
    assert busy.status_code == 200
    assert busy.json()["freebusy"] == [
        {"fbtype": "busy", "startTime": "20250106T100000Z", "endTime": "20250106T110000Z"}
    ]


@pytest.mark.parametrize(
    "eventdata",
    [
        {"dateandtime": {"start": "00010101T000000+0100", "end": "00010101T010000+0100"}},
        {"dateandtime": {"start": "99991231T220000-0100", "end": "99991231T230000-0100"}},
        {
            "dateandtime": {
                "start": "99991231T220000Z",
                "end": "99991231T230000Z",
                "timezone": "Pacific/Kiritimati",
            }
        },
        {"isallday": True, "dateandtime": {"start": "99991231", "end": "99991231"}},
        {
            "dateandtime": {"start": "20250106T100000Z", "end": "20250106T110000Z"},
            "rrule": "FREQ=DAILY;UNTIL=00010101T000000+0100",
        },
    ],
    ids=["year-1", "year-10000", "year-9999-kiritimati", "allday-9999-12-31", "until-year-1"],
)
async def test_events_at_the_edge_of_representable_time_are_400(
    lenient_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    eventdata: dict[str, Any],
) -> None:
    answer = await lenient_client.post(
        _events_url(emulator), params=_eventdata(**eventdata), headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    # Nothing half-stored poisons later listings.
    assert emulator.calendar.events(emulator.calendar.primary_uid) == []


@pytest.mark.parametrize(
    "window",
    [
        {"start": "99991201", "end": "99991231"},
        {"start": "00010101T000000+0100", "end": "00010102T000000Z"},
    ],
)
async def test_ranges_at_the_edge_of_representable_time_are_400(
    lenient_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    window: dict[str, str],
) -> None:
    answer = await lenient_client.get(
        _events_url(emulator), params={"range": json.dumps(window)}, headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["details"] == {"param_name": "range"}


@pytest.mark.parametrize(
    ("sdate", "edate"),
    [("99991231T000000", "99991231T235959"), ("00010101T000000+0100", "00010102")],
)
async def test_freebusy_at_the_edge_of_representable_time_is_400(
    lenient_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    sdate: str,
    edate: str,
) -> None:
    answer = await lenient_client.get(
        "/api/v1/calendars/freebusy",
        params={
            "uemail": emulator.config.user_email,
            "sdate": sdate,
            "edate": edate,
            "ftype": "timebased",
        },
        headers=auth_headers,
    )
    assert answer.status_code == 400


# --------------------------------------------------------------------------- more control routes


@pytest.mark.parametrize(
    "body",
    [
        b'{"records": [1]}',
        b'{"events": {"primary": [1]}}',
        b'{"events": {"no-such-calendar": [{"dateandtime": {}}]}}',
        b'{"events": [1]}',
    ],
)
async def test_seed_with_bad_input_is_400(lenient_client: httpx.AsyncClient, body: bytes) -> None:
    answer = await lenient_client.post("/_emulator/seed", content=body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"


@pytest.mark.parametrize(
    "body", [b'{"token_ttl": Infinity}', b'{"token_ttl": 1e400}', b'{"latency_ms": NaN}']
)
async def test_config_refuses_non_finite_numbers(
    lenient_client: httpx.AsyncClient, emulator: Emulator, body: bytes
) -> None:
    answer = await lenient_client.post("/_emulator/config", content=body)
    assert answer.status_code == 400
    assert emulator.config.token_ttl == 3600
    assert emulator.config.latency_ms == 0.0


async def test_max_refresh_tokens_zero_does_not_break_token_grants(
    lenient_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await lenient_client.post("/_emulator/config", json={"max_refresh_tokens": 0})
    if answer.status_code == 400:
        return  # refusing the setting is as good as honouring it
    seeded = await lenient_client.post(
        "/_emulator/seed",
        json={"refresh_tokens": [{"client_id": emulator.config.client_id}]},
    )
    assert seeded.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"rules": [{"latency_ms": Infinity}]}',
        b'{"rules": [{"stall_ms": 1e400}]}',
        b'{"rules": [{"error_rate": NaN}]}',
    ],
)
async def test_fault_rules_refuse_non_finite_numbers(
    lenient_client: httpx.AsyncClient, body: bytes
) -> None:
    answer = await lenient_client.post("/_emulator/faults", content=body)
    assert answer.status_code == 400
    assert (await lenient_client.get("/_emulator/faults")).json()["rules"] == []


async def test_consent_with_an_unparseable_redirect_uri_is_an_error_page(
    lenient_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await lenient_client.get(
        "/oauth/v2/auth",
        params={
            "client_id": emulator.config.client_id,
            "response_type": "code",
            "redirect_uri": "http://[::1/callback",
        },
    )
    assert answer.status_code == 400
    assert "Invalid Redirect Uri" in answer.text


# --------------------------------------------------------------------------- fault middleware


async def test_a_counted_fault_is_not_used_up_by_a_request_rejected_for_credits(
    lenient_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    await lenient_client.post(
        "/_emulator/faults", json={"rules": [{"route": "crm", "error_rate": 1.0, "count": 1}]}
    )
    emulator.config.daily_credits = 0
    rejected = await lenient_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name"}, headers=auth_headers
    )
    assert rejected.status_code == 429
    emulator.config.daily_credits = 1_000_000
    struck = await lenient_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name"}, headers=auth_headers
    )
    assert struck.status_code == 500  # the one injected error is still to come
    assert emulator.stats.snapshot()["faults_injected"] == 1
