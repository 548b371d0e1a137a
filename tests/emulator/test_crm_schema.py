"""The user's own schema: custom modules and fields from a file, checked as Zoho checks them,
and ``zohokit emulator snapshot`` of one emulator served identically by a second."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.fixtures.emulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    emulator_config,
    mint_access_token,
    user_env,
)
from zohokit.cli import app
from zohokit.emulator import (
    Emulator,
    EmulatorServer,
    SchemaError,
    create_app,
    schema_from_json,
)

ALL_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")

SCHEMA: dict[str, Any] = {
    "modules": [
        {
            "api_name": "Projects",
            "singular_label": "Project",
            "plural_label": "Projects",
            "display_field": "Name",
            "fields": [
                {"api_name": "Name", "data_type": "text", "length": 20, "system_mandatory": True},
                {"api_name": "Code", "data_type": "text", "unique": True},
                {"api_name": "Number", "data_type": "autonumber",
                 "auto_number": {"prefix": "PRJ-", "start_number": 1001}},
                {"api_name": "Account", "data_type": "lookup",
                 "lookup": {"module": {"api_name": "Accounts"}}},
                {"api_name": "Stage", "data_type": "picklist", "mandatory": True,
                 "pick_list_values": [{"actual_value": "Open"}, {"actual_value": "Done"}]},
                {"api_name": "Tags", "data_type": "multiselectpicklist",
                 "pick_list_values": ["Red", "Green", "Blue"]},
                {"api_name": "Budget", "data_type": "currency"},
                {"api_name": "Rate", "data_type": "double", "decimal_place": 3},
                {"api_name": "Hours", "data_type": "integer"},
                {"api_name": "Starts", "data_type": "date"},
                {"api_name": "Reviewed_At", "data_type": "datetime"},
                {"api_name": "Billable", "data_type": "boolean"},
                {"api_name": "Contact_Email", "data_type": "email"},
                {"api_name": "Hotline", "data_type": "phone"},
                {"api_name": "Site", "data_type": "website"},
                {"api_name": "Notes", "data_type": "textarea"},
                {"api_name": "Big_Number", "data_type": "bigint"},
                {"api_name": "Manager", "data_type": "userlookup"},
                {"api_name": "Margin", "data_type": "formula",
                 "formula": {"return_type": "double", "expression": "Budget * 0.2"}},
                {"api_name": "Team", "data_type": "multiselectlookup",
                 "multiselectlookup": {"connected_module": {"api_name": "Contacts"}}},
                {"api_name": "Items", "data_type": "subform",
                 "subform": {"module": "Project_Items"}},
            ],
        },
        {
            "api_name": "Project_Items",
            "singular_label": "Project Item",
            "plural_label": "Project Items",
            "generated_type": "subform",
            "fields": [
                {"api_name": "Item", "data_type": "text", "system_mandatory": True},
                {"api_name": "Qty", "data_type": "integer"},
            ],
        },
        {
            "api_name": "Leads",
            "fields": [{"api_name": "Segment", "data_type": "picklist",
                        "pick_list_values": ["SMB", "Enterprise"]}],
        },
    ]
}  # fmt: skip


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    return path


@pytest.fixture
def custom(schema_file: Path) -> Emulator:
    return Emulator(emulator_config(schema_file=str(schema_file)))


@pytest.fixture
async def client(custom: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(custom))
    async with httpx.AsyncClient(transport=transport, base_url=custom.base_url) as http:
        token = await mint_access_token(http)
        http.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        yield http


async def _fields(client: httpx.AsyncClient, module: str, version: str = "v8") -> dict[str, Any]:
    answer = await client.get(f"/crm/{version}/settings/fields", params={"module": module})
    assert answer.status_code == 200, answer.text
    return {f["api_name"]: f for f in answer.json()["fields"]}


async def test_a_schema_with_a_custom_module_a_lookup_and_a_multiselect_loads(
    client: httpx.AsyncClient,
) -> None:
    modules = (await client.get("/crm/v8/settings/modules")).json()["modules"]
    by_name = {m["api_name"]: m for m in modules}
    assert by_name["Projects"]["generated_type"] == "custom"
    assert by_name["Projects"]["api_supported"] is True
    assert by_name["Project_Items"]["api_supported"] is False  # subform rows
    assert [m["api_name"] for m in modules][:4] == ["Leads", "Contacts", "Accounts", "Deals"]

    fields = await _fields(client, "Projects")
    assert fields["Account"]["lookup"]["module"]["api_name"] == "Accounts"
    assert fields["Tags"]["json_type"] == "jsonarray"
    assert [p["actual_value"] for p in fields["Tags"]["pick_list_values"]] == [
        "Red",
        "Green",
        "Blue",
    ]
    assert fields["Code"]["unique"] == {"case_sensitive": False}
    assert fields["Name"]["system_mandatory"] is True
    assert {"id", "Owner", "Created_Time", "Modified_By"} <= set(fields)  # added for the user
    leads = await _fields(client, "Leads")
    assert {"Last_Name", "Email", "Segment"} <= set(leads)  # a standard module keeps its own


async def test_every_field_type_carries_the_keys_zoho_documents_for_it(
    client: httpx.AsyncClient,
) -> None:
    fields = await _fields(client, "Projects")
    assert (fields["Budget"]["decimal_place"], fields["Rate"]["decimal_place"]) == (2, 3)
    assert fields["Budget"]["currency"] == {"rounding_option": "normal", "precision": 2}
    assert fields["Number"]["auto_number"] == {"prefix": "PRJ-", "suffix": "", "start_number": 1001}
    assert fields["Margin"]["formula"] == {"return_type": "double", "expression": "Budget * 0.2"}
    assert fields["Margin"]["json_type"] == "double"
    assert fields["Team"]["multiselectlookup"]["connected_module"]["api_name"] == "Contacts"
    assert fields["Items"]["associated_module"]["module"] == "Project_Items"
    older = await _fields(client, "Projects", "v5")
    assert older["Items"]["subform"]["module"] == "Project_Items"
    for f in fields.values():
        for key in ("decimal_place", "auto_number", "json_type", "lookup", "pick_list_values",
                    "formula", "multiselectlookup", "unique", "length", "read_only"):  # fmt: skip
            assert key in f, (f["api_name"], key)
    layout = (await client.get("/crm/v8/settings/layouts", params={"module": "Projects"})).json()
    required = {
        f["api_name"] for f in layout["layouts"][0]["sections"][0]["fields"] if f["required"]
    }
    assert required == {"Name", "Stage"}
    one = (await client.get("/crm/v8/settings/modules/projects")).json()["modules"][0]
    assert (one["api_name"], one["display_field"]) == ("Projects", "Name")


async def _account(client: httpx.AsyncClient) -> str:
    answer = await client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Zylker"}]})
    rec_id: str = answer.json()["data"][0]["details"]["id"]
    return rec_id


async def test_a_good_record_is_stored_with_computed_and_resolved_values(
    custom: Emulator, client: httpx.AsyncClient
) -> None:
    account = await _account(client)
    [contact] = custom.crm.seed("Contacts", [{"Last_Name": "Chen"}])
    record = {
        "Name": "Apollo", "Stage": "Open", "Tags": ["Red", "Blue"], "Account": {"id": account},
        "Team": [{"id": contact}], "Items": [{"Item": "Bolt", "Qty": 3}], "Number": "ignored",
        "Budget": "1200.50", "Billable": True, "Starts": "2026-01-05",
    }  # fmt: skip
    answer = await client.post("/crm/v8/Projects", json={"data": [record, {**record}]})
    assert answer.status_code == 201, answer.text
    first, second = custom.crm.records("Projects")
    assert (first["Number"], second["Number"]) == ("PRJ-1001", "PRJ-1002")
    assert first["Tags"] == ["Red", "Blue"]
    assert first["Account"] == {"name": "Zylker", "id": account}
    assert first["Team"] == [{"name": "Chen", "id": contact}]
    assert first["Items"][0]["Item"] == "Bolt"
    assert first["Items"][0]["id"].isdigit()
    assert first["Budget"] == 1200.5
    assert first["Margin"] is None  # formulas are not evaluated
    unset = (await client.get(f"/crm/v2/Projects/{first['id']}")).json()["data"][0]
    assert unset["Hours"] is None


BAD = [
    ({"Stage": "Open"}, "MANDATORY_NOT_FOUND", {"api_name": "Name"}),
    ({"Name": "x"}, "MANDATORY_NOT_FOUND", {"api_name": "Stage"}),
    ({"Name": "x" * 21, "Stage": "Open"}, "INVALID_DATA", {"maximum_length": 20}),
    ({"Name": "x", "Stage": "Later"}, "INVALID_DATA", {"supported_values": ["Open", "Done"]}),
    ({"Name": "x", "Stage": "Open", "Tags": ["Pink"]}, "INVALID_DATA",
     {"api_name": "Tags", "supported_values": ["Red", "Green", "Blue"]}),
    ({"Name": "x", "Stage": "Open", "Tags": "Red"}, "INVALID_DATA",
     {"expected_data_type": "multiselectpicklist"}),
    ({"Name": "x", "Stage": "Open", "Hours": "many"}, "INVALID_DATA",
     {"expected_data_type": "integer"}),
    ({"Name": "x", "Stage": "Open", "Starts": "05/01/2026"}, "INVALID_DATA",
     {"expected_data_type": "date"}),
    ({"Name": "x", "Stage": "Open", "Contact_Email": "nope"}, "INVALID_DATA",
     {"expected_data_type": "email"}),
    ({"Name": "x", "Stage": "Open", "Account": {"id": "5725767000009999999"}}, "INVALID_DATA",
     {"api_name": "Account", "expected_data_type": "lookup"}),
    ({"Name": "x", "Stage": "Open", "Manager": {"id": "1"}}, "INVALID_DATA",
     {"expected_data_type": "userlookup"}),
    ({"Name": "x", "Stage": "Open", "Items": [{"Qty": 1}]}, "MANDATORY_NOT_FOUND",
     {"api_name": "Item", "json_path": "$.data[0].Items[0].Item"}),
    ({"Name": "x", "Stage": "Open", "Items": [{"Item": "a", "Qty": "lots"}]}, "INVALID_DATA",
     {"json_path": "$.data[0].Items[0].Qty", "expected_data_type": "integer"}),
    ({"Name": "x", "Stage": "Open", "Colour": "red"}, "INVALID_DATA", {"api_name": "Colour"}),
]  # fmt: skip


@pytest.mark.parametrize(("record", "code", "details"), BAD)
async def test_a_record_that_breaks_the_schema_gets_zohos_error(
    client: httpx.AsyncClient, record: dict[str, Any], code: str, details: dict[str, Any]
) -> None:
    answer = await client.post("/crm/v8/Projects", json={"data": [record]})
    assert answer.status_code == 400
    [result] = answer.json()["data"]
    assert (result["status"], result["code"]) == ("error", code)
    assert details.items() <= result["details"].items()
    assert result["details"]["json_path"].startswith("$.data[0]")


async def test_a_unique_custom_field_refuses_a_duplicate_naming_the_holder(
    client: httpx.AsyncClient,
) -> None:
    first = {"Name": "One", "Stage": "Open", "Code": "P-1"}
    created = await client.post("/crm/v8/Projects", json={"data": [first]})
    holder = created.json()["data"][0]["details"]["id"]
    again = await client.post("/crm/v8/Projects", json={"data": [{**first, "Name": "Two"}]})
    [result] = again.json()["data"]
    assert result["code"] == "DUPLICATE_DATA"
    assert result["details"]["api_name"] == "Code"
    assert result["details"]["duplicate_record"]["id"] == holder
    assert result["details"]["duplicate_record"]["module"]["api_name"] == "Projects"


async def test_subform_rows_are_not_a_records_module(client: httpx.AsyncClient) -> None:
    answer = await client.get("/crm/v2/Project_Items")
    assert answer.json()["code"] == "INVALID_MODULE"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data_type": "colour"}, "data_type must be one of"),
        ({"data_type": "lookup", "lookup": {"module": {"api_name": "Nowhere"}}}, "Nowhere"),
        ({"data_type": "picklist"}, "needs pick_list_values"),
        ({"api_name": "1st"}, "api_name must be a valid API name"),
        ({"length": 0}, "length must be a positive integer"),
    ],
)
def test_a_bad_schema_names_the_module_and_field_to_fix(
    change: dict[str, Any], message: str
) -> None:
    field = {"api_name": "Broken", "data_type": "text", **change}
    doc = {"modules": [{"api_name": "Widgets", "fields": [field]}]}
    with pytest.raises(SchemaError, match=message) as caught:
        schema_from_json(doc)
    assert "modules[0] (Widgets).fields[0]" in str(caught.value)


def test_the_cli_refuses_a_bad_schema_file_naming_the_option(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{"modules": [{"api_name": "W", "fields": [{"api_name": "X"}]}]}')
    result = CliRunner().invoke(app, ["emulator", "--schema", str(path), "--port", "0"])
    assert result.exit_code == 2
    assert "--schema" in result.output
    assert "data_type" in result.output


async def _metadata(http: httpx.AsyncClient, version: str) -> dict[str, Any]:
    """Every metadata answer of one version: modules, and per module its detail, fields, layouts."""
    listing = (await http.get(f"/crm/{version}/settings/modules")).json()
    out: dict[str, Any] = {"modules": listing}
    for module in listing["modules"]:
        name = module["api_name"]
        for path, params in (
            (f"settings/modules/{name}", {}),
            ("settings/fields", {"module": name}),
            ("settings/layouts", {"module": name}),
        ):
            answer = await http.get(f"/crm/{version}/{path}", params=params)
            assert answer.status_code == 200, (version, path, answer.text)
            out[f"{path}?{params}"] = answer.json()
    return out


@pytest.mark.slow
async def test_a_snapshot_of_one_emulator_loaded_into_a_second_gives_identical_metadata(
    schema_file: Path, tmp_path: Path
) -> None:
    with EmulatorServer(emulator_config(schema_file=str(schema_file))) as first:
        out = tmp_path / "snapshot.json"
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "zohokit", "emulator", "snapshot", "--tenant", "acme",
             "--out", str(out)],
            env=user_env(first, tmp_path / "cli"), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Projects" in done.stderr
        document = json.loads(out.read_text())
        assert document["source"] == "snapshot"

        second = Emulator(emulator_config(schema_file=str(out)))
        transport = httpx.ASGITransport(app=create_app(second))
        async with (
            httpx.AsyncClient(base_url=first.url) as a,
            httpx.AsyncClient(transport=transport, base_url=second.base_url) as b,
        ):
            for http in (a, b):
                http.headers["Authorization"] = f"Zoho-oauthtoken {await mint_access_token(http)}"
            for version in ALL_VERSIONS:
                assert await _metadata(a, version) == await _metadata(b, version), version


async def test_custom_modules_are_granted_by_zohos_custom_scope(
    custom: Emulator, client: httpx.AsyncClient
) -> None:
    refresh = custom.accounts.grant_refresh_token(
        CLIENT_ID, scopes=("ZohoCRM.modules.custom.READ",)
    ).token
    answer = await client.post(
        "/oauth/v2/token",
        data={"grant_type": "refresh_token", "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET, "refresh_token": refresh},
    )  # fmt: skip
    headers = {"Authorization": f"Zoho-oauthtoken {answer.json()['access_token']}"}
    projects = await client.get("/crm/v3/Projects", params={"fields": "Name"}, headers=headers)
    assert projects.status_code == 204  # allowed; nothing stored yet
    leads = await client.get("/crm/v3/Leads", params={"fields": "Email"}, headers=headers)
    assert leads.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_auto_numbers_go_on_after_a_restart_with_data(schema_file: Path, tmp_path: Path) -> None:
    config = {"schema_file": str(schema_file), "data": str(tmp_path / "emulator.db")}
    first = Emulator(emulator_config(**config))
    first.crm.seed("Projects", [{"Name": "One", "Stage": "Open"}])
    first.close()
    second = Emulator(emulator_config(**config))
    second.crm.seed("Projects", [{"Name": "Two", "Stage": "Open"}])
    assert [r["Number"] for r in second.crm.records("Projects")] == ["PRJ-1001", "PRJ-1002"]
    second.close()


def test_a_real_orgs_snapshot_loads_with_the_types_the_emulator_does_not_model() -> None:
    # Trimmed from the shape of Zoho's v8 field metadata: a type the emulator does not model,
    # a lookup to a module the snapshot left out, keys it does not read.
    document = {
        "source": "snapshot",
        "modules": [
            {
                "api_name": "Vendors_X",
                "id": "4832675000000002175",
                "generated_type": "custom",
                "display_field": "Vendor_Name",
                "singular_label": "Vendor",
                "plural_label": "Vendors",
                "fields": [
                    {"api_name": "Vendor_Name", "data_type": "text", "json_type": "string",
                     "field_label": "Vendor Name", "length": 120, "system_mandatory": True,
                     "unique": {}, "ui_type": 1, "operation_type": {"api_create": True}},
                    {"api_name": "Record_Image", "data_type": "profileimage",
                     "json_type": "string", "field_label": "", "length": None},
                    {"api_name": "Campaign", "data_type": "lookup", "json_type": "jsonobject",
                     "lookup": {"module": {"api_name": "Campaigns", "id": "1"}}},
                ],
            }
        ],
    }  # fmt: skip
    schema = schema_from_json(document)
    vendors = schema.modules["Vendors_X"]
    image = vendors.field_map["Record_Image"]
    assert (image.checked, image.label, image.length) == (False, "Record Image", 255)
    assert vendors.id == "4832675000000002175"
    emulator = Emulator(emulator_config(), schema=schema)
    [rec_id] = emulator.crm.seed(
        "Vendors_X", [{"Vendor_Name": "Acme", "Record_Image": "abc", "Campaign": {"id": "9"}}]
    )
    stored = emulator.crm.records("Vendors_X")[0]
    assert (stored["id"], stored["Record_Image"], stored["Campaign"]) == (
        rec_id,
        "abc",
        {"id": "9"},
    )
    with pytest.raises(SchemaError, match="data_type must be one of"):
        schema_from_json({**document, "source": "hand-written"})
