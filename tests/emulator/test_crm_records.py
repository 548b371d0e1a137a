"""Record writes and reads: insert, get, update (bulk and one), upsert, delete; validation."""

from __future__ import annotations

import json
from typing import Any

import httpx

from zohokit.emulator import Emulator


async def _insert(
    client: httpx.AsyncClient, headers: dict[str, str], module: str, *records: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/crm/v8/{module}", json={"data": list(records)}, headers=headers)


async def test_insert_all_ok_is_201_with_zoho_details(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _insert(
        emu_client, auth_headers, "Leads", {"Last_Name": "Boyle", "Email": "b@abc.com"}
    )
    assert answer.status_code == 201
    [item] = answer.json()["data"]
    assert item["code"] == "SUCCESS"
    assert item["message"] == "record added"
    assert item["status"] == "success"
    details = item["details"]
    assert set(details) == {
        "Modified_Time",
        "Modified_By",
        "Created_Time",
        "id",
        "Created_By",
        "$approval_state",
    }
    assert details["id"].isdigit()
    assert len(details["id"]) == 19
    assert details["Created_By"] == {"name": "Patricia Boyle", "id": details["Modified_By"]["id"]}
    assert details["Created_Time"].endswith("+00:00")


async def test_mixed_insert_is_207_in_input_order(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _insert(
        emu_client,
        auth_headers,
        "Leads",
        {"First_Name": "No last name"},
        {"Last_Name": "Fine"},
        {"Last_Name": "Bad email", "Email": "not-an-email"},
    )
    assert answer.status_code == 207
    first, second, third = answer.json()["data"]
    assert first == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    assert second["status"] == "success"
    assert third["code"] == "INVALID_DATA"
    assert third["details"] == {
        "api_name": "Email",
        "json_path": "$.data[2].Email",
        "expected_data_type": "email",
    }


async def test_all_failed_insert_is_400(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _insert(emu_client, auth_headers, "Deals", {"Deal_Name": "No stage"})
    assert answer.status_code == 400
    assert answer.json()["data"][0]["details"]["api_name"] == "Stage"


async def test_type_length_and_picklist_errors(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _insert(
        emu_client,
        auth_headers,
        "Leads",
        {"Last_Name": "x" * 81},
        {"Last_Name": "Ok", "Lead_Status": "Excited"},
        {"Last_Name": "Ok", "No_of_Employees": "twelve"},
        {"Last_Name": "Ok", "Favourite_Colour": "blue"},
        {"Last_Name": "Ok", "Email_Opt_Out": "yes"},
    )
    assert answer.status_code == 400
    too_long, picklist, number, unknown, boolean = answer.json()["data"]
    assert too_long["details"]["maximum_length"] == 80
    assert "Contacted" in picklist["details"]["supported_values"]
    assert number["details"]["expected_data_type"] == "integer"
    assert unknown["code"] == "INVALID_DATA"
    assert unknown["details"]["api_name"] == "Favourite_Colour"
    assert boolean["details"]["expected_data_type"] == "boolean"


async def test_deal_with_date_currency_and_lookups(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [account] = emulator.crm.seed("Accounts", [{"Account_Name": "Zylker"}])
    answer = await _insert(
        emu_client,
        auth_headers,
        "Deals",
        {
            "Deal_Name": "Big one",
            "Stage": "Qualification",
            "Closing_Date": "2026-03-31",
            "Amount": 1200.5,
            "Account_Name": {"id": account},
        },
        {"Deal_Name": "Bad date", "Stage": "Qualification", "Closing_Date": "31/03/2026"},
        {
            "Deal_Name": "Bad account",
            "Stage": "Qualification",
            "Account_Name": {"id": "1234567890123456789"},
        },
    )
    assert answer.status_code == 207
    ok, bad_date, bad_lookup = answer.json()["data"]
    assert bad_date["details"]["expected_data_type"] == "date"
    assert bad_lookup["code"] == "INVALID_DATA"
    got = await emu_client.get(f"/crm/v8/Deals/{ok['details']['id']}", headers=auth_headers)
    deal = got.json()["data"][0]
    assert deal["Account_Name"] == {"name": "Zylker", "id": account}
    assert deal["Amount"] == 1200.5
    assert deal["Closing_Date"] == "2026-03-31"


async def test_unique_field_duplicate_is_duplicate_data(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [existing] = emulator.crm.seed("Contacts", [{"Last_Name": "One", "External_Id": "ext-1"}])
    answer = await _insert(
        emu_client, auth_headers, "Contacts", {"Last_Name": "Two", "External_Id": "EXT-1"}
    )
    assert answer.status_code == 400
    [item] = answer.json()["data"]
    assert item["code"] == "DUPLICATE_DATA"
    assert item["message"] == "duplicate data"
    details = item["details"]
    assert details["api_name"] == "External_Id"
    assert details["json_path"] == "$.data[0].External_Id"
    assert details["duplicate_record"]["id"] == existing
    assert details["duplicate_record"]["module"]["api_name"] == "Contacts"
    assert set(details["duplicate_record"]["Owner"]) == {"name", "id", "zuid"}


async def test_more_than_100_records_is_refused(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _insert(
        emu_client, auth_headers, "Leads", *[{"Last_Name": str(i)} for i in range(101)]
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "LIMIT_EXCEEDED"
    assert answer.json()["details"]["limit"] == 100


async def test_body_without_content_type_is_parsed_as_json(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    # The official SDK sends its JSON body with no Content-Type header at all.
    content = json.dumps({"data": [{"Last_Name": "Raw"}]}).encode()
    answer = await emu_client.post("/crm/v8/Leads", content=content, headers=auth_headers)
    assert "content-type" not in answer.request.headers
    assert answer.status_code == 201
    assert [r["Last_Name"] for r in emulator.crm.records("Leads")] == ["Raw"]


async def test_body_that_is_not_json_is_invalid_data(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.post(
        "/crm/v8/Leads",
        content=b"Last_Name=Boyle",
        headers={**auth_headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    assert answer.json()["status"] == "error"


async def test_get_one_and_unknown_or_deleted_is_204(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [rec_id] = emulator.crm.seed("Leads", [{"Last_Name": "Solo", "First_Name": "Han"}])
    got = await emu_client.get(f"/crm/v8/Leads/{rec_id}", headers=auth_headers)
    record = got.json()["data"][0]
    assert record["id"] == rec_id
    assert record["Full_Name"] == "Han Solo"
    assert record["Owner"] == {
        "name": "Patricia Boyle",
        "id": record["Owner"]["id"],
        "email": "owner@example.com",
    }
    assert "Phone" in record  # every field, null when unset
    emulator.crm.delete("Leads", rec_id)
    gone = await emu_client.get(f"/crm/v8/Leads/{rec_id}", headers=auth_headers)
    assert gone.status_code == 204
    assert gone.content == b""
    never = await emu_client.get("/crm/v8/Leads/5725767000009999999", headers=auth_headers)
    assert never.status_code == 204


async def test_bulk_update_accepts_numeric_and_string_ids(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", [{"Last_Name": "A"}, {"Last_Name": "B"}])
    # The official SDK sends the id of a bulk update as a JSON number, `zoho` as a string.
    content = (
        f'{{"data":[{{"id":{ids[0]},"Company":"Numeric"}},'
        f'{{"id":"{ids[1]}","Company":"String"}},{{"Company":"No id"}}]}}'
    )
    answer = await emu_client.put("/crm/v8/Leads", content=content.encode(), headers=auth_headers)
    assert answer.status_code == 207
    first, second, third = answer.json()["data"]
    assert first["message"] == "record updated"
    assert first["details"]["id"] == ids[0]
    assert second["details"]["id"] == ids[1]
    assert third["code"] == "MANDATORY_NOT_FOUND"
    assert third["details"] == {"api_name": "id", "json_path": "$.data[2].id"}
    assert [r["Company"] for r in emulator.crm.records("Leads")] == ["Numeric", "String"]


async def test_update_one_bumps_modified_time_and_keeps_created(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [rec_id] = emulator.crm.seed("Leads", [{"Last_Name": "Old"}])
    before = emulator.crm.records("Leads")[0]
    emulator.clock.advance(120)
    answer = await emu_client.put(
        f"/crm/v8/Leads/{rec_id}", json={"data": [{"Last_Name": "New"}]}, headers=auth_headers
    )
    assert answer.status_code == 200
    after = emulator.crm.records("Leads")[0]
    assert after["Last_Name"] == "New"
    assert after["Created_Time"] == before["Created_Time"]
    assert after["Modified_Time"] > before["Modified_Time"]
    cleared = await emu_client.put(
        f"/crm/v8/Leads/{rec_id}", json={"data": [{"Last_Name": None}]}, headers=auth_headers
    )
    assert cleared.status_code == 400
    assert cleared.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


async def test_if_unmodified_since_is_412_already_modified(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [rec_id] = emulator.crm.seed("Leads", [{"Last_Name": "Contested"}])
    seen = emulator.clock.utcnow().replace(microsecond=0).isoformat()
    emulator.clock.advance(30)
    emulator.crm.edit("Leads", rec_id, {"Company": "Salesperson was here"})
    answer = await emu_client.put(
        "/crm/v8/Leads",
        json={"data": [{"id": rec_id, "Company": "Integration"}]},
        headers={**auth_headers, "If-Unmodified-Since": seen},
    )
    assert answer.status_code == 412
    [item] = answer.json()["data"]
    assert item["code"] == "ALREADY_MODIFIED"
    assert item["details"]["id"] == rec_id
    assert emulator.crm.records("Leads")[0]["Company"] == "Salesperson was here"


async def test_salesperson_edit_changes_modified_by(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [rec_id] = emulator.crm.seed("Leads", [{"Last_Name": "Watched"}])
    emulator.crm.edit("Leads", rec_id, {"Phone": "+1 555 0100"})
    got = await emu_client.get(f"/crm/v8/Leads/{rec_id}", headers=auth_headers)
    record = got.json()["data"][0]
    assert record["Modified_By"]["name"] != record["Created_By"]["name"]
    assert record["Phone"] == "+1 555 0100"


async def test_upsert_updates_by_email_then_inserts(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [existing] = emulator.crm.seed("Leads", [{"Last_Name": "Known", "Email": "known@example.com"}])
    answer = await emu_client.post(
        "/crm/v8/Leads/upsert",
        json={
            "data": [
                {"Last_Name": "Known Again", "Email": "KNOWN@example.com"},
                {"Last_Name": "Fresh", "Email": "fresh@example.com"},
                {"Email": "nobody@example.com"},
            ]
        },
        headers=auth_headers,
    )
    assert answer.status_code == 207
    updated, inserted, failed = answer.json()["data"]
    assert updated["action"] == "update"
    assert updated["duplicate_field"] == "Email"
    assert updated["message"] == "record updated"
    assert updated["details"]["id"] == existing
    assert inserted["action"] == "insert"
    assert inserted["message"] == "record added"
    assert failed["code"] == "MANDATORY_NOT_FOUND"
    assert sorted(r["Last_Name"] for r in emulator.crm.records("Leads")) == ["Fresh", "Known Again"]


async def test_upsert_by_user_defined_unique_field(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [existing] = emulator.crm.seed("Contacts", [{"Last_Name": "Ext", "External_Id": "crm-42"}])
    answer = await emu_client.post(
        "/crm/v8/Contacts/upsert",
        json={
            "data": [{"Last_Name": "Ext 2", "External_Id": "crm-42"}],
            "duplicate_check_fields": ["External_Id"],
        },
        headers=auth_headers,
    )
    assert answer.status_code == 200
    [item] = answer.json()["data"]
    assert (item["action"], item["duplicate_field"], item["details"]["id"]) == (
        "update",
        "External_Id",
        existing,
    )
    bad = await emu_client.post(
        "/crm/v8/Contacts/upsert",
        json={"data": [{"Last_Name": "X"}], "duplicate_check_fields": ["Phone"]},
        headers=auth_headers,
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_DATA"


async def test_delete_many_mixed_and_missing_ids(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed("Leads", [{"Last_Name": "A"}, {"Last_Name": "B"}])
    answer = await emu_client.delete(
        "/crm/v8/Leads",
        params={"ids": f"{ids[0]},5725767000009999999,{ids[1]}"},
        headers=auth_headers,
    )
    assert answer.status_code == 207
    first, missing, last = answer.json()["data"]
    assert first == {
        "code": "SUCCESS",
        "details": {"id": ids[0]},
        "message": "record deleted",
        "status": "success",
    }
    assert missing == {
        "code": "INVALID_DATA",
        "details": {"id": "5725767000009999999"},
        "message": "record not deleted",
        "status": "error",
    }
    assert last["details"]["id"] == ids[1]
    assert emulator.crm.records("Leads") == []

    no_ids = await emu_client.delete("/crm/v8/Leads", headers=auth_headers)
    assert no_ids.status_code == 400
    assert no_ids.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert no_ids.json()["details"] == {"param_name": "ids"}

    too_many = await emu_client.delete(
        "/crm/v8/Leads",
        params={"ids": ",".join(str(10**18 + i) for i in range(101))},
        headers=auth_headers,
    )
    assert too_many.status_code == 400


async def test_delete_one(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    [rec_id] = emulator.crm.seed("Accounts", [{"Account_Name": "Gone Ltd"}])
    answer = await emu_client.delete(f"/crm/v8/Accounts/{rec_id}", headers=auth_headers)
    assert answer.status_code == 200
    assert answer.json()["data"][0]["message"] == "record deleted"
    again = await emu_client.delete(f"/crm/v8/Accounts/{rec_id}", headers=auth_headers)
    assert again.status_code == 400
