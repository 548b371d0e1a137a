"""Bulk Read and Bulk Write through the CRM client, against the emulator's bulk jobs.

The jobs move through Zoho's states on the emulator's clock; the client's wait is handed a
``sleep`` that moves that clock instead of sleeping, so a job of many seconds takes none.
The scale here is small (thousands, with the emulator's page size lowered to exercise
several job pages); ``bench/sync.py`` runs the 250,000-record read and 60,000-row push.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.http.support import CREDENTIALS
from zohokit import BulkJobFailed, Zoho
from zohokit.crm import BulkCallbacks, BulkPolicy, ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.errors import UnknownField

FIELDS = [
    "Last_Name",
    "Email",
    "Company",
    "No_of_Employees",
    "Annual_Revenue",
    "Email_Opt_Out",
    "Lead_Status",
    "Owner",
    "Created_Time",
    "Modified_Time",
]


def clocked(emulator: Emulator) -> BulkPolicy:
    """A wait that moves the emulator's clock by each delay instead of sleeping."""

    async def sleep(seconds: float) -> None:
        emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    return BulkPolicy(first_delay=1.0, max_delay=8.0, sleep=sleep)


def lead(n: int) -> dict[str, Any]:
    """Lead ``n`` with values of several field types."""
    return {
        "Last_Name": f"Last {n}",
        "Email": f"lead{n:06d}@example.com",
        "Company": f'Company, "{n}"\nLtd',  # a comma, quotes and a line break in a cell
        "No_of_Employees": n % 500,
        "Annual_Revenue": n * 10.5,
        "Email_Opt_Out": n % 3 == 0,
        "Lead_Status": "Contacted" if n % 2 else None,
    }


def as_bulk_sees(record: dict[str, Any]) -> dict[str, Any]:
    """A records API record as Bulk Read can give it back: lookups carry only their id."""
    return {
        key: {"id": value["id"]} if isinstance(value, dict) and "id" in value else value
        for key, value in record.items()
    }


async def test_bulk_read_returns_what_paging_returns_field_by_field(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    emulator.crm.seed("Leads", [lead(n) for n in range(2_500)])
    emulator.crm.bulk.page_size = 1_000  # three job pages
    before = emulator.stats.snapshot()["credits_used"]
    bulk = [r async for r in crm.bulk_read("Leads", FIELDS, policy=clocked(emulator))]
    bulk_credits = emulator.stats.snapshot()["credits_used"] - before
    paged = [as_bulk_sees(r) async for r in crm.list_records("Leads", fields=FIELDS)]
    assert len(bulk) == len(paged) == 2_500
    assert bulk == sorted(paged, key=lambda r: int(r["id"]))  # every field, with its type
    assert isinstance(bulk[7]["No_of_Employees"], int)
    assert bulk[7]["Company"] == 'Company, "7"\nLtd'
    assert bulk[3]["Email_Opt_Out"] is True
    jobs = list(emulator.crm.bulk.jobs.values())
    assert [j.request["query"]["page"] for j in jobs] == [1, 2, 3]
    # Three jobs of 50 credits, their polls and downloads: the credits show in the stats.
    assert 150 < bulk_credits < 200


async def test_bulk_read_filters_by_criteria_and_reads_multiselect_lists(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    emulator.crm.seed("Leads", [lead(n) for n in range(40)])
    criteria = {
        "group_operator": "and",
        "group": [
            {"field": {"api_name": "No_of_Employees"}, "comparator": "greater_equal", "value": 30},
            {"field": {"api_name": "Lead_Status"}, "comparator": "equal", "value": "Contacted"},
        ],
    }
    got = [r async for r in crm.bulk_read("Leads", FIELDS, criteria, policy=clocked(emulator))]
    assert sorted(r["No_of_Employees"] for r in got) == [31, 33, 35, 37, 39]


async def test_a_job_moves_through_zohos_states_over_the_emulators_clock(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    emulator.crm.seed("Leads", [lead(n) for n in range(10)])
    seen: list[str] = []
    policy = clocked(emulator)

    async def watch(seconds: float) -> None:
        await policy.sleep(seconds)
        seen.extend(j and emulator.crm.bulk.state(j) for j in emulator.crm.bulk.jobs.values())

    slow = BulkPolicy(first_delay=0.5, max_delay=0.5, sleep=watch)
    assert len([r async for r in crm.bulk_read("Leads", ["Last_Name"], policy=slow)]) == 10
    assert seen[0] == "ADDED"
    assert list(dict.fromkeys(seen)) == ["ADDED", "QUEUED", "IN PROGRESS", "COMPLETED"]


async def test_a_failed_job_raises_with_its_id(emulator: Emulator, crm: ZohoCRMService) -> None:
    emulator.crm.seed("Leads", [lead(n) for n in range(3)])
    emulator.crm.bulk.fail_next["read"] = 1
    with pytest.raises(BulkJobFailed) as failed:
        async for _ in crm.bulk_read("Leads", ["Last_Name"], policy=clocked(emulator)):
            pass
    job_id = next(iter(emulator.crm.bulk.jobs))
    assert failed.value.job_id == job_id
    assert job_id in str(failed.value)


async def test_a_misspelt_field_is_refused_before_any_job(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    with pytest.raises(UnknownField, match="Last_Name"):
        async for _ in crm.bulk_read("Leads", ["Last_Nmae"], policy=clocked(emulator)):
            pass
    assert not emulator.crm.bulk.jobs


async def test_bulk_write_upserts_and_reports_every_row_in_order(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    emulator.crm.seed("Leads", [lead(n) for n in range(5)])  # rows 0-4 exist already
    emulator.crm.bulk.max_rows = 4_000
    rows = [{k: v for k, v in lead(n).items() if v is not None} for n in range(6_000)]
    rows[17] = {"Email": "no-name@example.com"}  # no Last_Name: Zoho skips the row
    rows[18]["Email"] = "not an email"
    results = await crm.bulk_write(
        "Leads",
        rows,
        operation="upsert",
        find_by="Email",
        policy=clocked(emulator),
        chunk_size=4_000,
    )
    assert [r.index for r in results] == list(range(6_000))
    assert [r.action for r in results[:5]] == ["update"] * 5
    assert results[5].action == "insert"
    assert results[5].ok
    assert (results[17].ok, results[17].code) == (False, "MANDATORY_NOT_FOUND")
    assert results[17].details == {"api_name": "Last_Name"}
    assert (results[18].ok, results[18].code) == (False, "INVALID_DATA")
    assert sum(r.ok for r in results) == 5_998
    assert emulator.crm.count("Leads") == 5_998 - 5 + 5
    stored = {r["id"]: r for r in emulator.crm.records("Leads")}
    assert stored[str(results[42].id)]["Email"] == rows[42]["Email"]
    # The records API sees them at once: a bulk write makes real records.
    got = await crm.get_record("Leads", str(results[100].id))
    assert got["Last_Name"] == "Last 100"
    writes = [j for j in emulator.crm.bulk.jobs.values() if j.kind == "write"]
    assert len(writes) == 2  # 6,000 rows in chunks of 4,000


async def test_an_upload_past_the_row_limit_is_refused_as_zoho_refuses_it(
    emulator: Emulator, crm: ZohoCRMService
) -> None:
    emulator.crm.bulk.max_rows = 10
    with pytest.raises(Exception, match="LIMIT_EXCEEDED"):
        await crm.bulk_write("Leads", [lead(n) for n in range(11)], operation="insert")


async def test_update_and_upsert_need_find_by(crm: ZohoCRMService) -> None:
    with pytest.raises(ValueError, match="find_by"):
        await crm.bulk_write("Leads", [lead(1)], operation="update")


async def test_the_callback_wakes_the_wait_and_a_wrong_secret_does_not(
    emulator: Emulator, zoho: Zoho
) -> None:
    callbacks = BulkCallbacks("http://sync.test/zoho/bulk-callback")
    crm = zoho.crm("default", CREDENTIALS)
    crm.bulk_callbacks = callbacks
    emulator.crm.seed("Leads", [lead(n) for n in range(3)])

    def receive(request: httpx.Request) -> httpx.Response:
        key, secret = request.url.path.rsplit("/", 2)[-2:]
        assert not callbacks.deliver(key, secret + "x", {})  # a forged secret wakes nothing
        ok = callbacks.deliver(key, secret, json.loads(request.content))
        return httpx.Response(200 if ok else 403)

    emulator.crm.bulk.callback_transport = httpx.MockTransport(receive)

    async def time_passes() -> None:
        for _ in range(1_000):
            if emulator.crm.bulk.jobs:
                break
            await asyncio.sleep(0.01)
        emulator.clock.advance(10)  # the job is done in the emulator's time

    mover = asyncio.create_task(time_passes())
    # Polls an hour apart: only the callback can end this wait within the test's time.
    policy = BulkPolicy(first_delay=3600, max_delay=3600, timeout=7200)
    got = [r async for r in crm.bulk_read("Leads", ["Last_Name"], policy=policy)]
    await mover
    await emulator.crm.bulk.drain()
    assert len(got) == 3
    [(url, body, status)] = emulator.crm.bulk.callbacks
    assert status == 200
    assert body["state"] == "COMPLETED"
    assert url.startswith("http://sync.test/zoho/bulk-callback/")
