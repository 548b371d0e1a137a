"""A first pull past its bulk threshold reads through Bulk Read; later pulls page.

The suite runs 5,000 records with the emulator's job page lowered to 2,000 (three jobs);
``bench/sync.py --bulk`` pulls the issue's 250,000 with Zoho's 200,000-record page and prints
both paths' credits and times at 50 ms latency.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from zohokit.crm import BulkPolicy, ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.sync import Change, Ledger, pull

RECORDS = 5_000


def clocked(emulator: Emulator) -> BulkPolicy:
    async def sleep(seconds: float) -> None:
        emulator.clock.advance(seconds)
        await asyncio.sleep(0)

    return BulkPolicy(first_delay=1.0, max_delay=4.0, sleep=sleep)


def contact(n: int) -> dict[str, Any]:
    return {
        "Last_Name": f"Last {n}",
        "First_Name": f"First {n}",
        "Email": f"c{n:06d}@example.com",
        "Email_Opt_Out": n % 4 == 0,
        "Date_of_Birth": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
    }


def id_only(record: dict[str, Any]) -> dict[str, Any]:
    """A record as Bulk Read gives it: lookups carry only their id."""
    return {k: {"id": v["id"]} if isinstance(v, dict) else v for k, v in record.items()}


async def collect(crm: ZohoCRMService, ledger: Ledger, **options: Any) -> list[Change]:
    changes: list[Change] = []
    await pull(crm, ledger, "Contacts", on_change=changes.append, deletions=False, **options)
    return changes


async def test_a_first_bulk_pull_gives_what_paging_gives_then_increments_page(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    emulator.crm.seed("Contacts", [contact(n) for n in range(RECORDS)])
    emulator.crm.bulk.page_size = 2_000
    credits = emulator.stats.counts["credits_used"]
    by_bulk = await collect(
        sync_crm, sqlite_ledger, bulk_threshold=1_000, bulk_policy=clocked(emulator)
    )
    bulk_credits = emulator.stats.counts["credits_used"] - credits
    assert len(emulator.crm.bulk.jobs) == 3
    paging_ledger = await Ledger.open(f"sqlite:///{tmp_path / 'paging.db'}")
    try:
        credits = emulator.stats.counts["credits_used"]
        by_paging = await collect(sync_crm, paging_ledger, bulk_threshold=None)
        paging_credits = emulator.stats.counts["credits_used"] - credits
    finally:
        await paging_ledger.close()
    assert len(by_bulk) == len(by_paging) == RECORDS
    paged = {c.id: (c.op, c.time, id_only(c.record or {})) for c in by_paging}
    bulked = {c.id: (c.op, c.time, c.record) for c in by_bulk}
    assert bulked == paged  # every record, every field, the same types
    assert paging_credits == 25 + 1  # 25 pages of 200 and the field list
    assert bulk_credits > 3 * 50  # three jobs of 50 credits, their polls and downloads

    # The next pull reads only what changed, through the records API: no new job.
    emulator.clock.advance(60)
    some = next(iter(emulator.crm.records("Contacts")))["id"]
    emulator.crm.edit("Contacts", some, {"Title": "Buyer"})
    later = await collect(sync_crm, sqlite_ledger, bulk_threshold=1_000)
    assert [(c.op, c.id) for c in later] == [("updated", some)]
    assert len(emulator.crm.bulk.jobs) == 3
