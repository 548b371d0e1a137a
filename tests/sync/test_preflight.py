"""Writes checked before they are sent: a push (and the CRM client with ``check=True``) reads
the tenant's field metadata from the emulator, refuses a misspelt module or field and values
that do not fit their field before any write, and a dry run writes nothing at all. Write
calls are read from the emulator's own counters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.emulator import emulator_config
from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, schema_from_json
from zohokit.errors import InvalidRecords, UnknownField, UnknownModule, WriteRefused
from zohokit.sync import Ledger, SyncMapping, push

#: Leads with two custom fields of the kinds integrations get wrong most.
SCHEMA = {
    "modules": [
        {
            "api_name": "Leads",
            "fields": [
                {
                    "api_name": "Tags",
                    "data_type": "multiselectpicklist",
                    "pick_list_values": [{"actual_value": v} for v in ("Hot", "Cold", "VIP")],
                },
                {"api_name": "Next_Call", "data_type": "datetime"},
            ],
        }
    ]
}


@pytest.fixture
def emulator() -> Emulator:
    """The emulator with the custom Leads fields above."""
    return Emulator(emulator_config(), schema=schema_from_json(SCHEMA))


def writes(emulator: Emulator) -> int:
    """Write calls (POST/PUT/PATCH/DELETE but COQL) the emulator has answered."""
    return emulator.stats.snapshot()["crm_write_requests"]


def lead(n: int, **changes: Any) -> dict[str, Any]:
    """One Leads row whose columns are the fields' API names."""
    return {"Email": f"lead{n}@example.com", "Last_Name": f"Lead {n}", **changes}


LEADS = SyncMapping.from_dict({"module": "Leads", "key": "Email"})


async def test_a_misspelt_module_makes_no_write_and_names_the_closest(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    mapping = SyncMapping.from_dict({**CONTACTS_MAPPING, "module": "Contactz"})
    with pytest.raises(UnknownModule) as refused:
        await push(sync_crm, sqlite_ledger, [contact(n) for n in range(5)], mapping)
    assert refused.value.suggestion == "Contacts"
    assert "did you mean Contacts?" in str(refused.value)
    assert writes(emulator) == 0
    (run,) = await sqlite_ledger.runs()
    assert run.status == "failed"
    assert "Contactz" in run.message
    assert "did you mean Contacts?" in run.message
    assert await sqlite_ledger.all_entries("default", "Contactz") == []


async def test_an_unknown_field_makes_no_write_and_names_the_closest(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [lead(n, Phone_Nmuber="+1 555 0100") for n in range(3)]
    with pytest.raises(UnknownField) as refused:
        await push(sync_crm, sqlite_ledger, rows, LEADS)
    assert (refused.value.field, refused.value.suggestion) == ("Phone_Nmuber", "Phone")
    assert "Leads has no field 'Phone_Nmuber'; did you mean Phone?" in str(refused.value)
    assert writes(emulator) == 0
    assert emulator.crm.records("Leads") == []


async def test_wrong_typed_values_make_no_write_and_say_row_field_expected_got(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [lead(1, Tags="Warm"), lead(2, Email_Opt_Out="maybe"), lead(3, No_of_Employees="ten")]
    report = await push(sync_crm, sqlite_ledger, rows, LEADS)
    assert writes(emulator) == 0
    assert (report.invalid, report.created, report.failed) == (3, 0, 0)
    assert report.status == "completed_with_errors"
    assert report.problems == [
        {
            "row": 1,
            "field": "Tags",
            "expected": "a list of values, each one of 'Hot', 'Cold', 'VIP'",
            "got": "'Warm'",
        },
        {"row": 2, "field": "Email_Opt_Out", "expected": "true or false", "got": "'maybe'"},
        {
            "row": 3,
            "field": "No_of_Employees",
            "expected": "a whole number (at most 2,147,483,647)",
            "got": "'ten'",
        },
    ]
    assert report.errors["INVALID_VALUE"].count == 3
    # Nothing was sent, so nothing is in the ledger: fixing the file sends the rows.
    assert await sqlite_ledger.all_entries("default", "Leads") == []
    (saved,) = await sqlite_ledger.runs()
    assert saved.problems == report.problems


async def test_values_reach_zoho_in_its_form_and_bad_rows_stay_behind(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [
        lead(1, Tags="hot; VIP", Email_Opt_Out="yes", No_of_Employees="12"),
        lead(2, Next_Call="2031-03-04 10:00", Lead_Source="web download"),
        lead(3, Next_Call="next tuesday"),
    ]
    report = await push(sync_crm, sqlite_ledger, rows, LEADS)
    assert (report.created, report.invalid, writes(emulator)) == (2, 1, 1)
    assert report.problems[0]["row"] == 3
    assert report.problems[0]["field"] == "Next_Call"
    stored = {r["Email"]: r for r in emulator.crm.records("Leads")}
    assert set(stored) == {"lead1@example.com", "lead2@example.com"}
    first, second = stored["lead1@example.com"], stored["lead2@example.com"]
    assert (first["Tags"], first["Email_Opt_Out"], first["No_of_Employees"]) == (
        ["Hot", "VIP"],
        True,
        12,
    )
    # The org's time zone (the emulator's is UTC) reads a time written without an offset.
    assert second["Next_Call"] == "2031-03-04T10:00:00+00:00"
    assert second["Lead_Source"] == "Web Download"


async def test_a_lookup_is_sent_as_an_id_object(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    [account] = await sync_crm.insert_records("Accounts", [{"Account_Name": "Acme"}])
    assert account.id is not None
    mapping = SyncMapping.from_dict(
        {**CONTACTS_MAPPING, "fields": {**CONTACTS_MAPPING["fields"], "account": "Account_Name"}}
    )
    report = await push(sync_crm, sqlite_ledger, [contact(1, account=account.id)], mapping)
    assert (report.created, report.invalid) == (1, 0)
    (stored,) = emulator.crm.records("Contacts")
    assert stored["Account_Name"]["id"] == account.id
    assert stored["Account_Name"]["name"] == "Acme"


async def test_a_dry_run_counts_the_plan_and_writes_nothing(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    await push(sync_crm, sqlite_ledger, [lead(n) for n in range(4)], LEADS)
    before, runs = writes(emulator), await sqlite_ledger.runs()
    ledger_before = await sqlite_ledger.all_entries("default", "Leads")
    rows = [
        lead(0),  # unchanged
        lead(1),  # unchanged
        lead(2, Company="New Co"),  # update
        lead(5),  # create
        lead(6),  # create
        lead(7, Date_of_Birth="31/12/1990"),  # invalid: Leads has no date of birth
        lead(8, Email_Opt_Out="maybe"),  # invalid
    ]
    plan = await push(sync_crm, sqlite_ledger, rows, LEADS, dry_run=True)
    assert (plan.created, plan.updated, plan.unchanged, plan.invalid) == (2, 1, 2, 2)
    assert plan.status == "planned"
    assert plan.samples == {
        "update": ["lead2@example.com"],
        "create": ["lead5@example.com", "lead6@example.com"],
    }
    assert [p["field"] for p in plan.problems] == ["Date_of_Birth", "Email_Opt_Out"]
    assert plan.problems[0]["expected"] == "a field of Leads"
    assert writes(emulator) == before
    assert await sqlite_ledger.runs() == runs  # a dry run is not a run
    assert await sqlite_ledger.all_entries("default", "Leads") == ledger_before


async def test_a_lowercase_key_column_lists_the_files_columns(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [{"email": f"a{n}@example.com", "Last_Name": "A"} for n in range(3)]
    with pytest.raises(WriteRefused) as refused:
        await push(sync_crm, sqlite_ledger, rows, LEADS)
    message = str(refused.value)
    assert "the rows have no column 'Email' for the key Email" in message
    assert "the file's columns: 'email', 'Last_Name'" in message
    assert "did you mean 'email'?" in message
    assert '[fields] email = "Email"' in message
    assert writes(emulator) == 0
    # A row whose key cell is empty is reported on its own, the others go through.
    report = await push(sync_crm, sqlite_ledger, [lead(1), lead(2, Email="")], LEADS)
    assert (report.created, report.failed) == (1, 1)
    assert report.errors["MISSING_KEY"].example_message == (
        "row 2 has no Email (its 'Email' cell is empty)"
    )


async def test_field_metadata_is_read_once_per_module(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    await push(sync_crm, sqlite_ledger, [lead(1)], LEADS)
    reads = emulator.stats.snapshot()["crm_get_requests"]
    second = await push(sync_crm, sqlite_ledger, [lead(1, Company="B"), lead(2)], LEADS)
    assert (second.updated, second.created, second.api_calls) == (1, 1, 1)
    assert emulator.stats.snapshot()["crm_get_requests"] == reads
    # Nothing to send: not even the metadata is asked for. Another service of the tenant on
    # the same request path (as a root object hands out) shares what was read.
    fresh = ZohoCRMService(
        sync_crm.credentials,
        http=sync_crm.http,
        base_url=sync_crm.base_url,
    )
    again = await push(fresh, sqlite_ledger, [lead(1, Company="B"), lead(2)], LEADS)
    assert (again.unchanged, again.api_calls) == (2, 0)
    changed = await push(fresh, sqlite_ledger, [lead(1, Company="C"), lead(2)], LEADS)
    assert (changed.updated, changed.api_calls) == (1, 1)
    assert emulator.stats.snapshot()["crm_get_requests"] == reads


async def test_the_crm_client_checks_writes_on_request(
    sync_crm: ZohoCRMService, emulator: Emulator
) -> None:
    with pytest.raises(InvalidRecords) as refused:
        await sync_crm.upsert_records(
            "Leads",
            [lead(1, Tags=["Hot"]), lead(2, Tags="VIP;Nope"), lead(3, No_of_Employees="x")],
            check=True,
        )
    assert [(p.row, p.field) for p in refused.value.problems] == [
        (2, "Tags"),
        (3, "No_of_Employees"),
    ]
    assert "row 2: Tags: expected a list of values" in str(refused.value)
    with pytest.raises(UnknownModule, match="did you mean Leads"):
        await sync_crm.insert_records("Leadz", [lead(1)], check=True)
    with pytest.raises(UnknownField, match="did you mean Date_of_Birth"):
        await sync_crm.insert_records("Contacts", [{"Date_Of_Brith": "1990-12-31"}], check=True)
    assert writes(emulator) == 0
    [ok] = await sync_crm.upsert_records("Leads", [lead(1, Tags="hot")], check=True)
    assert ok.ok
    assert emulator.crm.records("Leads")[0]["Tags"] == ["Hot"]


async def test_metadata_zoho_no_longer_agrees_with_is_read_again(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    await push(sync_crm, sqlite_ledger, [lead(1, Tags="Hot")], LEADS)  # metadata now cached
    # An admin edits the org in Zoho: Tags loses "VIP" and gains "Warm".
    changed = {"modules": [{**SCHEMA["modules"][0]}]}
    changed["modules"][0]["fields"] = [
        {
            "api_name": "Tags",
            "data_type": "multiselectpicklist",
            "pick_list_values": [{"actual_value": v} for v in ("Hot", "Warm")],
        }
    ]
    emulator.schema = schema_from_json(changed)
    emulator.reset()
    stale = await push(sync_crm, sqlite_ledger, [lead(2, Tags="VIP")], LEADS)
    assert (stale.failed, stale.invalid) == (1, 0)  # checked against the old list: Zoho said no
    assert stale.errors["INVALID_DATA"].example_message == "invalid data (Tags)"
    reads = emulator.stats.snapshot()["crm_get_requests"]
    before = writes(emulator)
    fresh = await push(sync_crm, sqlite_ledger, [lead(2, Tags="VIP"), lead(3, Tags="warm")], LEADS)
    assert emulator.stats.snapshot()["crm_get_requests"] == reads + 1  # the fields, read again
    assert (fresh.invalid, fresh.created, writes(emulator)) == (1, 1, before + 1)
    assert fresh.problems[0]["expected"] == "a list of values, each one of 'Hot', 'Warm'"
