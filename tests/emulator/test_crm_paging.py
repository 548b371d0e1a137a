"""Get Records: ``fields``, ``per_page``, the 2,000-record ``page`` window, ``page_token``
binding, expiry and cap, sorting, ``ids``, ``converted`` and ``If-Modified-Since``."""

from __future__ import annotations

from email.utils import format_datetime

import httpx

from zohokit.emulator import Emulator

INFO_KEYS = {
    "per_page",
    "count",
    "page",
    "more_records",
    "next_page_token",
    "previous_page_token",
    "page_token_expiry",
    "sort_by",
    "sort_order",
    "call",
    "email",
}


def _leads(n: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"Last_Name": f"Lead {i}", "Email": f"lead{i}@example.com"} for i in range(start, start + n)
    ]


async def test_list_needs_fields(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get("/crm/v8/Leads", headers=auth_headers)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "fields"},
        "message": "required param is missing",
        "status": "error",
    }


async def test_more_than_50_fields_is_limit_exceeded(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    fields = ",".join(["Last_Name"] * 51)
    answer = await emu_client.get("/crm/v8/Leads", params={"fields": fields}, headers=auth_headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "LIMIT_EXCEEDED"
    assert answer.json()["details"] == {"limit": 50, "param_name": "fields"}


async def test_unknown_field_is_invalid_data(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name,Favourite_Colour"}, headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    assert answer.json()["details"]["api_name"] == "Favourite_Colour"


async def test_empty_module_is_204_with_empty_body(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name"}, headers=auth_headers
    )
    assert answer.status_code == 204
    assert answer.content == b""


async def test_list_shows_id_and_requested_fields_with_full_info(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(3))
    # The `zoho` package URL-encodes the commas; raw URL keeps %2C on the wire.
    answer = await emu_client.get(
        "/crm/v8/Leads?fields=Last_Name%2CEmail&per_page=2&page=1", headers=auth_headers
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    body = answer.json()
    assert body["data"] == [
        {"id": ids[2], "Last_Name": "Lead 2", "Email": "lead2@example.com"},
        {"id": ids[1], "Last_Name": "Lead 1", "Email": "lead1@example.com"},
    ]
    assert set(body["info"]) == INFO_KEYS
    assert body["info"]["more_records"] is True
    assert body["info"]["sort_by"] == "id"
    assert body["info"]["sort_order"] == "desc"
    assert body["info"]["next_page_token"]
    assert body["info"]["page_token_expiry"]


async def test_per_page_outside_1_to_200_is_refused(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    for per_page in ("0", "201", "many"):
        answer = await emu_client.get(
            "/crm/v8/Leads",
            params={"fields": "Last_Name", "per_page": per_page},
            headers=auth_headers,
        )
        assert answer.status_code == 400, per_page
        assert answer.json()["code"] == "INVALID_DATA"
        assert answer.json()["details"]["param_name"] == "per_page"


async def test_page_beyond_2000_records_needs_page_token(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", _leads(2050))
    last_window = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "page": 10}, headers=auth_headers
    )
    assert last_window.status_code == 200
    assert last_window.json()["info"]["count"] == 200
    assert last_window.json()["info"]["more_records"] is True

    beyond = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "page": 11}, headers=auth_headers
    )
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    assert beyond.json()["details"] == {"limit": 2000}

    token = last_window.json()["info"]["next_page_token"]
    rest = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "page_token": token}, headers=auth_headers
    )
    assert rest.status_code == 200
    assert rest.json()["info"]["count"] == 50
    assert rest.json()["info"]["more_records"] is False
    assert rest.json()["info"]["previous_page_token"] == token
    # Descending by id: the last 50 are the oldest 50 leads.
    assert rest.json()["data"][-1]["Last_Name"] == "Lead 0"


async def test_page_tokens_walk_every_record_exactly_once(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(25))
    params = {"fields": "Last_Name", "per_page": "10", "sort_order": "asc"}
    seen: list[str] = []
    answer = await emu_client.get("/crm/v8/Leads", params=params, headers=auth_headers)
    while True:
        body = answer.json()
        seen += [r["id"] for r in body["data"]]
        if not body["info"]["more_records"]:
            break
        answer = await emu_client.get(
            "/crm/v8/Leads",
            params={**params, "page_token": body["info"]["next_page_token"]},
            headers=auth_headers,
        )
    assert seen == ids


async def test_page_token_is_bound_to_the_other_params(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", _leads(5))
    first = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "per_page": 2}, headers=auth_headers
    )
    token = first.json()["info"]["next_page_token"]
    changed = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name,Email", "per_page": 2, "page_token": token},
        headers=auth_headers,
    )
    assert changed.status_code == 400
    assert changed.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"

    both = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name", "per_page": 2, "page_token": token, "page": 2},
        headers=auth_headers,
    )
    assert both.status_code == 400
    assert both.json()["code"] == "AMBIGUITY_DURING_PROCESSING"

    forged = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name", "per_page": 2, "page_token": "not-a-token"},
        headers=auth_headers,
    )
    assert forged.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"


async def test_page_token_expires_after_a_day(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", _leads(3))
    params = {"fields": "Last_Name", "per_page": "1"}
    first = await emu_client.get("/crm/v8/Leads", params=params, headers=auth_headers)
    token = first.json()["info"]["next_page_token"]
    emulator.clock.advance(86400 + 1)
    # The access token died too; mint a fresh one through the token endpoint.
    fresh = await emu_client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emulator.config.client_id,
            "client_secret": emulator.config.client_secret,
            "refresh_token": emulator.config.refresh_token,
        },
    )
    headers = {"Authorization": f"Zoho-oauthtoken {fresh.json()['access_token']}"}
    expired = await emu_client.get(
        "/crm/v8/Leads", params={**params, "page_token": token}, headers=headers
    )
    assert expired.status_code == 400
    assert expired.json()["code"] == "EXPIRED_VALUE"
    assert expired.json()["details"] == {
        "api_name": "page_token",
        "json_path": "$.query.page_token",
    }


async def test_page_token_reach_is_capped(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    # Zoho's cap is 100,000 records; lowered here so the test stores 30, not 100,001.
    emulator.crm.page_token_limit = 20
    emulator.crm.seed("Leads", _leads(30))
    params = {"fields": "Last_Name", "per_page": "10"}
    answer = await emu_client.get("/crm/v8/Leads", params=params, headers=auth_headers)
    for _ in range(2):
        token = answer.json()["info"]["next_page_token"]
        answer = await emu_client.get(
            "/crm/v8/Leads", params={**params, "page_token": token}, headers=auth_headers
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == "PAGINATION_LIMIT_EXCEEDED"


async def test_sort_by_modified_time_and_bad_sort_by(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(3))
    emulator.clock.advance(60)
    emulator.crm.edit("Leads", ids[0], {"Company": "Touched"})
    answer = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Company", "sort_by": "Modified_Time", "sort_order": "desc"},
        headers=auth_headers,
    )
    assert [r["id"] for r in answer.json()["data"]] == [ids[0], ids[2], ids[1]]
    bad = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Company", "sort_by": "Email"}, headers=auth_headers
    )
    assert bad.status_code == 400
    assert bad.json()["details"]["supported_values"] == ["id", "Created_Time", "Modified_Time"]


async def test_ids_filter(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(4))
    answer = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name", "ids": f"{ids[1]},{ids[3]}"},
        headers=auth_headers,
    )
    assert sorted(r["id"] for r in answer.json()["data"]) == [ids[1], ids[3]]


async def test_converted_leads_hidden_by_default(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(3))
    emulator.crm.mark_converted("Leads", ids[1])
    default = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name"}, headers=auth_headers
    )
    assert sorted(r["id"] for r in default.json()["data"]) == [ids[0], ids[2]]
    only = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "converted": "true"}, headers=auth_headers
    )
    assert [r["id"] for r in only.json()["data"]] == [ids[1]]
    both = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name", "converted": "both"}, headers=auth_headers
    )
    assert len(both.json()["data"]) == 3


async def test_if_modified_since_iso_and_rfc1123(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", _leads(3))
    mark = emulator.clock.utcnow()
    emulator.clock.advance(5)
    emulator.crm.edit("Leads", ids[1], {"Company": "Changed"})

    for header in (mark.isoformat(timespec="seconds"), format_datetime(mark, usegmt=True)):
        answer = await emu_client.get(
            "/crm/v8/Leads",
            params={"fields": "Company"},
            headers={**auth_headers, "If-Modified-Since": header},
        )
        assert answer.status_code == 200, header
        assert answer.json()["data"] == [{"id": ids[1], "Company": "Changed"}]

    later = emulator.clock.utcnow().replace(microsecond=0)
    emulator.clock.advance(5)
    unchanged = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Company"},
        headers={**auth_headers, "If-Modified-Since": later.isoformat()},
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""
