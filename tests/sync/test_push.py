"""Push against the emulator: faults, no-op reruns, single-call changes, splits, parking,
mirror deletes, and the saved report."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.support import CREDENTIALS, zoho_for
from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, EmulatorServer, create_app
from zohokit.errors import TokenError
from zohokit.sync import Ledger, SyncMapping, push

MAPPING = SyncMapping.from_dict(CONTACTS_MAPPING)
UPSERT = "/crm/v8/Contacts/upsert"


def upsert_calls(emulator: Emulator) -> int:
    """CRM writes the emulator has seen (every write of a push is an upsert)."""
    return emulator.stats.counts["crm_write_requests"]


@pytest.fixture
async def served_crm(
    tmp_path: Path, emulator_server: EmulatorServer
) -> AsyncIterator[ZohoCRMService]:
    """The CRM service over real loopback sockets, where stalls become read timeouts."""
    async with zoho_for(
        tmp_path / "tokens.db",
        accounts_url=emulator_server.url,
        timeout=httpx.Timeout(0.5, connect=2.0),
    ) as zoho:
        yield zoho.crm("default", CREDENTIALS)


async def test_ten_thousand_rows_through_5xx_timeouts_and_429_bursts(
    served_crm: ZohoCRMService, emulator_server: EmulatorServer, sqlite_ledger: Ledger
) -> None:
    emulator = emulator_server.emulator
    emulator.faults.configure(
        {
            "rules": [
                # A burst: the first 25 upserts are all throttled.
                {"route": "/crm/v8/Contacts/upsert", "throttle_rate": 1.0, "count": 25},
                {
                    "route": "crm",
                    "error_rate": 0.10,
                    "stall_rate": 0.05,
                    "stall_ms": 1500,
                    "throttle_rate": 0.05,
                    "when": "random",
                },
            ]
        }
    )
    bad = set(range(7, 10_000, 1000))  # ten rows Zoho refuses: no Last_Name
    rows = [contact(n, last="" if n in bad else f"Last{n}") for n in range(10_000)]
    reports = []
    for _ in range(3):
        report = await push(
            served_crm, sqlite_ledger, rows, MAPPING, max_attempts=2, retry_delay=0.01
        )
        reports.append(report)
        if report.failed == 0:
            break
    assert emulator.stats.counts["faults_injected"] > 40

    entries = {e.external_id: e for e in await sqlite_ledger.all_entries("default", "Contacts")}
    assert len(entries) == 10_000
    parked = {k for k, e in entries.items() if e.status == "parked"}
    assert parked == {contact(n)["email"] for n in bad}
    assert {entries[k].last_error_code for k in parked} == {"MANDATORY_NOT_FOUND"}
    synced = {k: e for k, e in entries.items() if e.status == "synced"}
    assert len(synced) == 10_000 - len(bad)

    records = emulator.crm.records("Contacts")
    by_email = {}
    for record in records:
        assert record["Email"] not in by_email, "a row became two records"
        by_email[record["Email"]] = record
    assert len(records) == len(synced)
    assert {k: e.zoho_id for k, e in synced.items()} == {k: r["id"] for k, r in by_email.items()}
    assert by_email[contact(42)["email"]]["Last_Name"] == "Last42"
    # Rows given up on stay skipped, at no cost.
    emulator.faults.configure({"rules": []})
    before = upsert_calls(emulator)
    final = await push(served_crm, sqlite_ledger, rows, MAPPING, max_attempts=2)
    assert (final.parked, final.unchanged, final.api_calls) == (len(bad), len(synced), 0)
    assert upsert_calls(emulator) == before


async def test_rerun_costs_nothing_and_100_changes_cost_one_call(
    sync_crm: ZohoCRMService, emulator: Emulator, ledger: Ledger
) -> None:
    rows = [contact(n) for n in range(1000)]
    first = await push(sync_crm, ledger, rows, MAPPING)
    assert (first.created, first.api_calls) == (1000, 11)  # the field metadata, 10 upserts
    assert upsert_calls(emulator) == 10

    before = upsert_calls(emulator)
    again = await push(sync_crm, ledger, rows, MAPPING)
    assert (again.unchanged, again.api_calls, again.credits) == (1000, 0, 0)
    assert upsert_calls(emulator) == before

    changed = list(range(3, 1000, 10))  # 100 rows spread over the whole file
    for n in changed:
        rows[n] = contact(n, phone="+44 20 7946 0000")
    third = await push(sync_crm, ledger, rows, MAPPING)
    assert upsert_calls(emulator) == before + 1
    assert (third.updated, third.unchanged, third.api_calls, third.credits) == (100, 900, 1, 10)
    phones = {r["Email"]: r["Phone"] for r in emulator.crm.records("Contacts")}
    assert phones[contact(13)["email"]] == "+44 20 7946 0000"
    assert phones[contact(14)["email"]] == contact(14)["phone"]


async def test_a_batch_rejected_whole_is_split_until_the_rows_go_through(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    # Zoho refuses the request itself (a 400 with no per-record answer) three times running.
    emulator.faults.configure(
        {"rules": [{"route": UPSERT, "error_rate": 1.0, "error_status": 400, "count": 3}]}
    )
    report = await push(sync_crm, sqlite_ledger, [contact(n) for n in range(8)], MAPPING)
    # 8 rejected, its first half (4) rejected, its first half (2) rejected; then 1, 1, 2, 4 ok.
    assert upsert_calls(emulator) == 7
    assert (report.created, report.failed, report.api_calls) == (8, 0, 8)  # + the metadata
    assert len(emulator.crm.records("Contacts")) == 8


async def test_a_lone_row_rejected_whole_is_recorded_with_zohos_code(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    emulator.faults.configure(
        {"rules": [{"route": UPSERT, "error_rate": 1.0, "error_status": 400, "count": 1}]}
    )
    report = await push(sync_crm, sqlite_ledger, [contact(1)], MAPPING, max_attempts=3)
    assert report.failed == 1
    assert set(report.errors) == {"INTERNAL_ERROR"}
    (entry,) = await sqlite_ledger.all_entries("default", "Contacts")
    assert (entry.status, entry.attempts, entry.last_error_code) == ("failed", 1, "INTERNAL_ERROR")
    # The next run retries it (the fault is spent) and it goes through.
    retried = await push(sync_crm, sqlite_ledger, [contact(1)], MAPPING, max_attempts=3)
    assert (retried.created, retried.failed) == (1, 0)


async def test_failed_rows_are_retried_on_later_runs_then_parked(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [contact(1), contact(2, last=""), contact(3)]
    first = await push(sync_crm, sqlite_ledger, rows, MAPPING, max_attempts=3)
    assert (first.created, first.failed, first.parked) == (2, 1, 0)
    assert first.errors["MANDATORY_NOT_FOUND"].example_key == contact(2)["email"]
    second = await push(sync_crm, sqlite_ledger, rows, MAPPING, max_attempts=3)
    assert (second.unchanged, second.failed, second.api_calls) == (2, 1, 1)
    third = await push(sync_crm, sqlite_ledger, rows, MAPPING, max_attempts=3)
    assert (third.parked, third.failed) == (1, 0)
    before = upsert_calls(emulator)
    fourth = await push(sync_crm, sqlite_ledger, rows, MAPPING, max_attempts=3)
    assert (fourth.parked, fourth.api_calls) == (1, 0)
    assert upsert_calls(emulator) == before
    entries = {e.external_id: e for e in await sqlite_ledger.all_entries("default", "Contacts")}
    parked = entries[contact(2)["email"]]
    assert (parked.status, parked.attempts, parked.last_error_code) == (
        "parked",
        3,
        "MANDATORY_NOT_FOUND",
    )
    assert parked.last_error_details
    assert parked.last_error_details["api_name"] == "Last_Name"
    # Fixing the row gives it new chances.
    fixed = await push(sync_crm, sqlite_ledger, [contact(1), contact(2), contact(3)], MAPPING)
    assert (fixed.created, fixed.parked) == (1, 0)


async def test_rows_without_a_key_or_with_a_repeated_key_are_reported(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [contact(1), contact(2, email=""), contact(3, email=contact(1)["email"].upper())]
    report = await push(sync_crm, sqlite_ledger, rows, MAPPING)
    assert (report.created, report.failed) == (1, 2)
    assert set(report.errors) == {"MISSING_KEY", "DUPLICATE_KEY"}
    assert len(emulator.crm.records("Contacts")) == 1


async def test_mirror_deletes_records_whose_rows_disappeared(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    rows = [contact(n) for n in range(150)]
    await push(sync_crm, sqlite_ledger, rows, MAPPING)
    kept = rows[:100]
    plain = await push(sync_crm, sqlite_ledger, kept, MAPPING)
    assert plain.deleted == 0
    assert len(emulator.crm.records("Contacts")) == 150
    emulator.crm.delete("Contacts", emulator.crm.records("Contacts")[-1]["id"])  # gone already
    mirrored = await push(sync_crm, sqlite_ledger, kept, MAPPING, mirror=True)
    assert (mirrored.deleted, mirrored.failed, mirrored.unchanged) == (50, 0, 100)
    assert {r["Email"] for r in emulator.crm.records("Contacts")} == {r["email"] for r in kept}
    statuses = {e.status for e in await sqlite_ledger.all_entries("default", "Contacts")}
    assert statuses == {"synced", "deleted"}
    again = await push(sync_crm, sqlite_ledger, kept, MAPPING, mirror=True)
    assert (again.deleted, again.api_calls) == (0, 0)


async def test_the_report_is_saved_and_listed(
    sync_crm: ZohoCRMService, sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    report = await push(sync_crm, sqlite_ledger, [contact(1), contact(2, last="")], MAPPING)
    (saved,) = await sqlite_ledger.runs("default")
    assert saved == report
    assert saved.status == "completed_with_errors"  # a row failed: not "completed"
    assert saved.seconds is not None
    data = json.loads(saved.to_json())
    assert data["errors"]["MANDATORY_NOT_FOUND"]["count"] == 1
    assert await sqlite_ledger.runs("someone-else") == []


def _broken_source() -> Iterator[dict[str, Any]]:
    raise RuntimeError("source broke")
    yield {}  # pragma: no cover (makes this a generator: it raises when first read)


async def test_the_ledger_and_its_reports_keep_the_time_of_the_clock_they_are_given(
    sync_crm: ZohoCRMService, tmp_path: Path
) -> None:
    ticks = iter(datetime(2031, 3, 3, 8, minute, tzinfo=UTC) for minute in range(60))
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'clocked.db'}", clock=lambda: next(ticks))
    try:
        report = await push(sync_crm, ledger, [contact(1)], MAPPING)
        with pytest.raises(RuntimeError, match="source broke"):
            await push(sync_crm, ledger, _broken_source(), MAPPING)
        failed, done = await ledger.runs("default")
        (entry,) = await ledger.all_entries("default", "Contacts")
    finally:
        await ledger.close()
    # Started, row written, finished; then the second run started and failed.
    assert (report.started_at, report.finished_at) == (
        "2031-03-03T08:00:00+00:00",
        "2031-03-03T08:02:00+00:00",
    )
    assert done == report
    assert entry.last_pushed_at == datetime(2031, 3, 3, 8, 1, tzinfo=UTC)
    assert (failed.status, failed.started_at) == ("failed", "2031-03-03T08:03:00+00:00")
    assert failed.finished_at == "2031-03-03T08:04:00+00:00"
    assert failed.seconds == 60


async def test_a_run_stopped_by_a_token_error_is_reported_and_resumed(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    emulator.faults.configure({"token_throttle": True})  # Zoho: "Access Denied"
    rows = [contact(n) for n in range(120)]
    with pytest.raises(TokenError):
        await push(sync_crm, sqlite_ledger, rows, MAPPING)
    (failed_run,) = await sqlite_ledger.runs()
    assert failed_run.status == "failed"
    assert "TokenRefresh" in failed_run.message
    # Nothing was answered: no row is recorded as sent (new rows are written with their
    # outcome), so the next run sends every one of them.
    assert await sqlite_ledger.all_entries("default", "Contacts") == []
    emulator.faults.configure({"token_throttle": False})
    # Another worker of the fleet, whose tokens are not in cooldown, picks the push up.
    async with zoho_for(
        tmp_path / "other.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
    ) as other:
        resumed = await push(other.crm("default", CREDENTIALS), sqlite_ledger, rows, MAPPING)
    assert (resumed.created, resumed.failed) == (120, 0)
    assert len(emulator.crm.records("Contacts")) == 120
