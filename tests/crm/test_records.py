"""ZohoCRMService against the emulator: every records method, as a user sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.http.support import both_apis
from zohokit.crm import RecordResult, ZohoCRMService, where
from zohokit.emulator import Emulator
from zohokit.errors import NotFound, RecordError, ZohoAPIError


def leads(n: int, start: int = 0) -> list[dict[str, str]]:
    return [
        {"Last_Name": f"Lead {i}", "Company": f"Co {i}", "Email": f"lead{i}@example.com"}
        for i in range(start, start + n)
    ]


@both_apis
async def test_insert_then_get_returns_the_record(crm: ZohoCRMService) -> None:
    [result] = await crm.insert_records("Leads", leads(1))
    assert result.ok
    assert result.code == "SUCCESS"
    assert result.id
    record = await crm.get_record("Leads", result.id, fields=["Last_Name", "Email"])
    assert record["Last_Name"] == "Lead 0"
    assert record["Email"] == "lead0@example.com"


@both_apis
async def test_bulk_insert_returns_one_result_per_record_in_order(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    batch = leads(250)
    batch[120] = {"Company": "no last name"}  # Zoho requires Last_Name on Leads
    results = await crm.insert_records("Leads", batch)
    assert [r.index for r in results] == list(range(250))
    assert [r.ok for r in results].count(False) == 1
    failed = results[120]
    assert failed.code == "MANDATORY_NOT_FOUND"
    assert failed.details["api_name"] == "Last_Name"
    with pytest.raises(RecordError) as caught:
        failed.raise_for_error()
    assert caught.value.code == "MANDATORY_NOT_FOUND"
    assert emulator.stats.snapshot()["crm_requests"] >= 3  # 100 + 100 + 50
    assert len(emulator.crm.records("Leads")) == 249


@both_apis
async def test_a_batch_where_every_record_fails_still_reports_each(crm: ZohoCRMService) -> None:
    results = await crm.insert_records("Leads", [{"Company": "x"}, {"Company": "y"}])
    assert [r.ok for r in results] == [False, False]
    assert {r.code for r in results} == {"MANDATORY_NOT_FOUND"}


@both_apis
async def test_upsert_inserts_then_updates_by_email(crm: ZohoCRMService) -> None:
    first = await crm.upsert_records("Leads", leads(3), duplicate_check_fields=["Email"])
    assert {r.action for r in first} == {"insert"}
    changed = [{**lead, "Company": "Renamed"} for lead in leads(3)]
    second = await crm.upsert_records("Leads", changed, duplicate_check_fields=["Email"])
    assert {r.action for r in second} == {"update"}
    assert [r.id for r in first] == [r.id for r in second]
    record = await crm.get_record("Leads", second[0].id or "")
    assert record["Company"] == "Renamed"


@both_apis
async def test_update_and_delete(crm: ZohoCRMService) -> None:
    ids = [r.id for r in await crm.insert_records("Leads", leads(2))]
    updated = await crm.update_records("Leads", [{"id": ids[0], "Company": "New Co"}])
    assert updated[0].ok
    assert updated[0].id == ids[0]
    assert (await crm.get_record("Leads", ids[0] or ""))["Company"] == "New Co"
    deleted = await crm.delete_records("Leads", [i for i in ids if i])
    assert all(r.ok for r in deleted)
    with pytest.raises(NotFound):
        await crm.get_record("Leads", ids[0] or "")
    gone = [entry async for entry in crm.deleted_records("Leads")]
    assert {entry["id"] for entry in gone} == set(ids)


@both_apis
async def test_update_needs_ids(crm: ZohoCRMService) -> None:
    with pytest.raises(ValueError, match="id"):
        await crm.update_records("Leads", [{"Company": "x"}])


@both_apis
async def test_list_pages_past_2000_with_page_token(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    emulator.crm.seed("Leads", leads(2450))
    seen = [r["id"] async for r in crm.list_records("Leads", fields=["Last_Name"])]
    assert len(seen) == 2450
    assert len(set(seen)) == 2450  # no record twice across the switch to page_token


@both_apis
async def test_list_of_an_empty_module_yields_nothing(crm: ZohoCRMService) -> None:
    assert [r async for r in crm.list_records("Contacts", fields=["Last_Name"])] == []


@both_apis
async def test_list_modified_since_sees_only_newer_records(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    await crm.insert_records("Leads", leads(2))
    later = datetime.now(UTC) + timedelta(hours=1)
    assert [
        r async for r in crm.list_records("Leads", fields=["Email"], modified_since=later)
    ] == []
    earlier = datetime.now(UTC) - timedelta(hours=1)
    found = [r async for r in crm.list_records("Leads", fields=["Email"], modified_since=earlier)]
    assert len(found) == 2


@both_apis
async def test_search_escapes_values(crm: ZohoCRMService) -> None:
    await crm.insert_records(
        "Leads",
        [
            {"Last_Name": "Burns", "Company": "Smith (EU), Ltd", "Email": "b@example.com"},
            {"Last_Name": "Other", "Company": "Smith", "Email": "o@example.com"},
        ],
    )
    criteria = where("Company", "starts_with", "Smith (EU), Ltd")
    found = [r async for r in crm.search_records("Leads", criteria)]
    assert [r["Last_Name"] for r in found] == ["Burns"]
    both = where("Email", "in", ["b@example.com", "o@example.com"])
    assert len([r async for r in crm.search_records("Leads", both)]) == 2
    assert [r async for r in crm.search_records("Leads", email="nobody@example.com")] == []


@both_apis
async def test_coql(crm: ZohoCRMService) -> None:
    await crm.insert_records("Leads", leads(3))
    result = await crm.coql("select Last_Name, Email from Leads where Email like '%lead1%'")
    assert [row["Email"] for row in result.data] == ["lead1@example.com"]
    assert result.more_records is False


@both_apis
async def test_bad_coql_is_an_api_error(crm: ZohoCRMService) -> None:
    with pytest.raises(ZohoAPIError) as caught:
        await crm.coql("select from")
    assert caught.value.status == 400
    assert caught.value.code in {"SYNTAX_ERROR", "INVALID_QUERY"}


@both_apis
async def test_metadata(crm: ZohoCRMService) -> None:
    modules = await crm.modules()
    assert "Leads" in {m["api_name"] for m in modules}
    fields = await crm.fields("Leads")
    assert {"Last_Name", "Email"} <= {f["api_name"] for f in fields}


@both_apis
async def test_unknown_module_is_an_api_error(crm: ZohoCRMService) -> None:
    with pytest.raises(ZohoAPIError) as caught:
        await crm.get_record("Nope", "1")
    assert caught.value.code == "INVALID_MODULE"


def test_record_result_from_a_lost_batch_keeps_the_error() -> None:
    error = ZohoAPIError("boom", status=500, code="INTERNAL_ERROR")
    result = RecordResult.from_exception(7, error)
    assert not result.ok
    assert result.index == 7
    assert result.code == "INTERNAL_ERROR"
    assert result.error is error
