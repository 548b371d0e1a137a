"""A push past its bulk threshold goes through Bulk Write, and the ledger stays exact.

The suite runs a tenth of the issue's scale, 6,000 rows in jobs of 2,500 (the emulator's row
limit lowered to match), so the job structure is the same as 60,000 rows in Zoho's 25,000:
two full jobs and a smaller last one. ``bench/sync.py --bulk`` runs the full 60,000 (about
20 s here). The emulator's jobs run on its clock, which the wait moves instead of sleeping.
A run is killed while its second job runs; the rerun settles that job from its result file
and sends only the rest.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest

from tests.http.support import CREDENTIALS, zoho_for
from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit.crm import BulkPolicy, ZohoCRMService
from zohokit.emulator import Emulator, create_app
from zohokit.sync import Ledger, RunReport, SyncMapping, push

MAPPING = SyncMapping.from_dict(CONTACTS_MAPPING)
ROWS = 6_000
CHUNK = 2_500


class Killed(BaseException):
    """The process dying: nothing of zohokit's catches it."""


@pytest.fixture
async def bulk_crm(tmp_path: Path, emulator: Emulator) -> AsyncIterator[ZohoCRMService]:
    """The CRM service in process, with a read timeout long enough for a job's 25,000 rows
    (the emulator does a job's work inside the request that first sees it done)."""
    async with zoho_for(
        tmp_path / "tokens.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        timeout=httpx.Timeout(60.0),
    ) as zoho:
        emulator.crm.bulk.max_rows = CHUNK
        yield zoho.crm("default", CREDENTIALS)


def clocked(emulator: Emulator, kill_at_job: int | None = None) -> BulkPolicy:
    """A wait that moves the emulator's clock; ``kill_at_job``: the process dies while
    waiting for that (1-based) write job."""

    async def sleep(seconds: float) -> None:
        writes = [j for j in emulator.crm.bulk.jobs.values() if j.kind == "write"]
        if kill_at_job is not None and len(writes) >= kill_at_job:
            raise Killed
        emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    return BulkPolicy(first_delay=1.0, max_delay=4.0, sleep=sleep)


def rows() -> list[dict[str, str]]:
    source = [contact(n) for n in range(ROWS)]
    for n in (11, 3_011, 5_999):
        source[n] = {**source[n], "last": ""}  # Zoho skips a contact with no Last_Name
    return source


async def bulk_push(
    emulator: Emulator,
    crm: ZohoCRMService,
    ledger: Ledger,
    source: Iterable[dict[str, str]],
    kill_at_job: int | None = None,
) -> RunReport:
    """A push with a bulk threshold of 1,000 rows and jobs of :data:`CHUNK` rows."""
    policy = clocked(emulator, kill_at_job)
    return await push(
        crm, ledger, source, MAPPING, bulk_threshold=1_000, bulk_policy=policy, bulk_chunk=CHUNK
    )


def emails(emulator: Emulator) -> Counter[str]:
    return Counter(r["Email"] for r in emulator.crm.records("Contacts"))


async def test_a_push_past_the_threshold_goes_through_bulk_write_exactly_and_not_twice(
    emulator: Emulator, bulk_crm: ZohoCRMService, sqlite_ledger: Ledger
) -> None:
    report = await bulk_push(emulator, bulk_crm, sqlite_ledger, rows())
    writes = [j for j in emulator.crm.bulk.jobs.values() if j.kind == "write"]
    assert len(writes) == 3  # 2,500 + 2,500 + 1,000
    assert (report.created, report.failed) == (ROWS - 3, 3)
    assert emulator.stats.counts["crm_write_requests"] == 6  # 3 uploads + 3 jobs, no upsert
    failed = {code: g.count for code, g in report.errors.items()}
    assert failed == {"MANDATORY_NOT_FOUND": 3}
    counts = await sqlite_ledger.status_counts("default")
    assert counts == {
        ("default", "Contacts", "synced"): ROWS - 3,
        ("default", "Contacts", "failed"): 3,
    }
    entry = (await sqlite_ledger.entries("default", "Contacts", ["customer00042@example.com"]))[
        "customer00042@example.com"
    ]
    stored = {r["id"]: r for r in emulator.crm.records("Contacts")}
    assert stored[str(entry.zoho_id)]["Last_Name"] == "Last42"
    bad = await sqlite_ledger.entries("default", "Contacts", ["customer03011@example.com"])
    assert bad["customer03011@example.com"].last_error_code == "MANDATORY_NOT_FOUND"

    before = emulator.stats.counts["crm_requests"]
    again = await bulk_push(
        emulator, bulk_crm, sqlite_ledger, rows()[:11] + rows()[12:3_011] + rows()[3_012:5_999]
    )
    assert again.unchanged == ROWS - 3
    assert again.api_calls == 0
    assert emulator.stats.counts["crm_requests"] == before


async def test_a_push_killed_halfway_and_rerun_leaves_every_record_once(
    emulator: Emulator, bulk_crm: ZohoCRMService, sqlite_ledger: Ledger
) -> None:
    source = [contact(n) for n in range(ROWS)]
    with pytest.raises(Killed):
        await bulk_push(emulator, bulk_crm, sqlite_ledger, source, kill_at_job=2)
    assert emulator.crm.count("Contacts") == CHUNK  # the second job has not run yet
    report = await bulk_push(emulator, bulk_crm, sqlite_ledger, source)
    # The rerun waited for the killed run's second job and read its result; it sent only
    # the 1,000 rows no job had carried.
    writes = [j for j in emulator.crm.bulk.jobs.values() if j.kind == "write"]
    assert len(writes) == 3
    assert writes[-1].counts["total"] == ROWS - 2 * CHUNK
    assert report.unchanged == 2 * CHUNK
    assert emulator.crm.count("Contacts") == ROWS
    assert max(emails(emulator).values()) == 1  # no duplicates
    counts = await sqlite_ledger.status_counts("default")
    assert counts == {("default", "Contacts", "synced"): ROWS}


async def test_below_the_threshold_the_records_api_sends(
    emulator: Emulator, bulk_crm: ZohoCRMService, sqlite_ledger: Ledger
) -> None:
    report = await bulk_push(
        emulator, bulk_crm, sqlite_ledger, iter([contact(n) for n in range(300)])
    )
    assert report.created == 300
    assert not emulator.crm.bulk.jobs
    assert emulator.stats.counts["crm_write_requests"] == 3  # three upserts of 100
