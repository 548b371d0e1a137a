"""Authentication, URL and module errors, metadata, users, org, and deleted records."""

from __future__ import annotations

import httpx

from zohokit.emulator import Emulator

DATA_TYPES = {
    "text", "email", "phone", "picklist", "lookup", "ownerlookup", "datetime", "date",
    "boolean", "integer", "bigint", "currency", "double", "website", "textarea",
}  # fmt: skip


async def test_missing_and_unknown_tokens_are_401(emu_client: httpx.AsyncClient) -> None:
    missing = await emu_client.get("/crm/v8/Leads", params={"fields": "Last_Name"})
    assert missing.status_code == 401
    assert missing.json()["code"] == "AUTHENTICATION_FAILURE"
    unknown = await emu_client.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name"},
        headers={"Authorization": "Zoho-oauthtoken 1000.nope.nope"},
    )
    assert unknown.status_code == 401
    assert unknown.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    # Even an unknown path asks for a token first, as Zoho does.
    assert (await emu_client.get("/crm/v8/Leads/1/2/3")).status_code == 401


async def test_unknown_module_is_invalid_module(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/crm/v8/Widgets"), ("POST", "/crm/v8/Widgets/upsert")):
        answer = await emu_client.request(
            method, path, params={"fields": "Name"}, headers=auth_headers, json={"data": [{}]}
        )
        assert answer.status_code == 400
        assert answer.json() == {
            "code": "INVALID_MODULE",
            "details": {"resource_path_index": 0},
            "message": "the module name given seems to be invalid",
            "status": "error",
        }


async def test_module_names_are_case_insensitive(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Case"}])
    answer = await emu_client.get(
        "/crm/v8/leads", params={"fields": "Last_Name"}, headers=auth_headers
    )
    assert answer.status_code == 200


async def test_bad_paths_are_invalid_url_pattern(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    for path in ("/crm/v8/Leads/1/2/3", "/crm/v9/Leads", "/crm/", "/crm/v8/Leads/not-an-id"):
        answer = await emu_client.get(path, headers=auth_headers)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "INVALID_URL_PATTERN", path


async def test_wrong_method_is_invalid_request_method(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.delete("/crm/v8/settings/modules", headers=auth_headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST_METHOD"


async def test_settings_modules(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get("/crm/v8/settings/modules", headers=auth_headers)
    modules = {m["api_name"]: m for m in answer.json()["modules"]}
    assert {"Leads", "Contacts", "Accounts", "Deals"} <= set(modules)
    leads = modules["Leads"]
    assert leads["api_supported"] is True
    assert leads["generated_type"] == "default"
    assert leads["singular_label"] == "Lead"
    assert leads["plural_label"] == "Leads"
    assert leads["id"].isdigit()


async def test_settings_fields_describe_types_lookups_and_picklists(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    seen_types: set[str] = set()
    for module in ("Leads", "Contacts", "Accounts", "Deals"):
        answer = await emu_client.get(
            "/crm/v8/settings/fields", params={"module": module}, headers=auth_headers
        )
        fields = {f["api_name"]: f for f in answer.json()["fields"]}
        assert fields, module
        for f in fields.values():
            assert {"api_name", "data_type", "field_label", "length", "system_mandatory"} <= set(f)
            assert {"unique", "read_only", "pick_list_values", "lookup", "id"} <= set(f)
            seen_types.add(f["data_type"])
        assert fields["Owner"]["data_type"] == "ownerlookup"
    assert seen_types == DATA_TYPES

    leads = await emu_client.get(
        "/crm/v8/settings/fields", params={"module": "Leads"}, headers=auth_headers
    )
    by_name = {f["api_name"]: f for f in leads.json()["fields"]}
    assert by_name["Last_Name"]["system_mandatory"] is True
    assert by_name["External_Id"]["unique"]
    statuses = by_name["Lead_Status"]["pick_list_values"]
    assert {"display_value": "Contacted", "actual_value": "Contacted"}.items() <= next(
        p for p in statuses if p["actual_value"] == "Contacted"
    ).items()

    contacts = await emu_client.get(
        "/crm/v8/settings/fields", params={"module": "Contacts"}, headers=auth_headers
    )
    account = next(f for f in contacts.json()["fields"] if f["api_name"] == "Account_Name")
    assert account["data_type"] == "lookup"
    assert account["lookup"]["module"]["api_name"] == "Accounts"

    unknown = await emu_client.get(
        "/crm/v8/settings/fields", params={"module": "Nope"}, headers=auth_headers
    )
    assert unknown.json()["code"] == "INVALID_MODULE"


async def test_current_user_and_org(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    users = await emu_client.get(
        "/crm/v8/users", params={"type": "CurrentUser"}, headers=auth_headers
    )
    [me] = users.json()["users"]
    assert me["email"] == emulator.config.user_email
    assert me["full_name"] == emulator.config.user_name
    assert me["id"].isdigit()
    assert me["zuid"]
    org = await emu_client.get("/crm/v8/org", headers=auth_headers)
    [company] = org.json()["org"]
    assert company["zgid"]
    assert {"id", "company_name", "time_zone", "currency"} <= set(company)


async def test_deleted_records_log(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    ids = emulator.crm.seed(
        "Leads", [{"Last_Name": "Api", "First_Name": "By"}, {"Last_Name": "Ui"}]
    )
    await emu_client.delete(f"/crm/v8/Leads/{ids[0]}", headers=auth_headers)
    emulator.clock.advance(10)
    mark = emulator.clock.utcnow().replace(microsecond=0).isoformat()
    emulator.clock.advance(10)
    emulator.crm.delete("Leads", ids[1])

    answer = await emu_client.get(
        "/crm/v8/Leads/deleted", params={"type": "all"}, headers=auth_headers
    )
    assert answer.status_code == 200
    newest, oldest = answer.json()["data"]
    assert newest["id"] == ids[1]
    assert newest["type"] == "recycle"
    assert newest["display_name"] == "Ui"
    assert newest["deleted_by"]["name"] != emulator.config.user_name  # the salesperson
    assert oldest["display_name"] == "By Api"
    assert oldest["deleted_by"] == {
        "name": emulator.config.user_name,
        "id": oldest["deleted_by"]["id"],
    }
    assert set(answer.json()["info"]) >= {"per_page", "count", "page", "more_records"}

    since = await emu_client.get(
        "/crm/v8/Leads/deleted", headers={**auth_headers, "If-Modified-Since": mark}
    )
    assert [d["id"] for d in since.json()["data"]] == [ids[1]]

    permanent = await emu_client.get(
        "/crm/v8/Leads/deleted", params={"type": "permanent"}, headers=auth_headers
    )
    assert permanent.status_code == 204


async def test_seed_through_the_control_api(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.post(
        "/_emulator/seed", json={"records": {"Accounts": [{"Account_Name": "Seeded"}]}}
    )
    [rec_id] = answer.json()["records"]["Accounts"]
    got = await emu_client.get(f"/crm/v8/Accounts/{rec_id}", headers=auth_headers)
    assert got.json()["data"][0]["Account_Name"] == "Seeded"
    refused = await emu_client.post(
        "/_emulator/seed", json={"records": {"Deals": [{"Deal_Name": "x"}]}}
    )
    assert refused.status_code == 400
