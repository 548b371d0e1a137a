"""Pull against the emulator: exactly the salesperson's changes, no echoes of our pushes,
the overlap window, page_token past 2,000, field groups, and a cursor kept in the database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sync.conftest import CONTACTS_MAPPING, contact
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.sync import MAX_FIELDS_PER_CALL, Change, Ledger, SyncMapping, field_groups, pull, push

MAPPING = SyncMapping.from_dict(CONTACTS_MAPPING)


async def collect(crm: ZohoCRMService, ledger: Ledger, **options: object) -> list[Change]:
    changes: list[Change] = []
    await pull(crm, ledger, "Contacts", on_change=changes.append, **options)  # type: ignore[arg-type]
    return changes


async def test_a_pull_returns_exactly_the_changes_made_in_zoho(
    sync_crm: ZohoCRMService, emulator: Emulator, ledger: Ledger, tmp_path: Path
) -> None:
    rows = [contact(n) for n in range(300)]
    await push(sync_crm, ledger, rows, MAPPING)
    first = await pull(sync_crm, ledger, "Contacts", out=tmp_path / "first.jsonl")
    assert (first.echoes, first.created, first.updated) == (300, 0, 0)
    assert (tmp_path / "first.jsonl").read_text() == ""

    emulator.clock.advance(10)
    ids = {r["Email"]: r["id"] for r in emulator.crm.records("Contacts")}
    edited = [ids[contact(n)["email"]] for n in (5, 50, 150, 299)]
    for record_id in edited:
        emulator.crm.edit("Contacts", record_id, {"Title": "Head of Sales"})
    deleted = [ids[contact(n)["email"]] for n in (7, 8, 200)]
    for record_id in deleted:
        emulator.crm.delete("Contacts", record_id)
    created = emulator.crm.seed("Contacts", [{"Last_Name": "Walk-in", "Email": "new@x.com"}])

    out = tmp_path / "changes.jsonl"
    report = await pull(sync_crm, ledger, "Contacts", out=out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((c["op"], c["id"]) for c in lines) == sorted(
        [("updated", i) for i in edited]
        + [("deleted", i) for i in deleted]
        + [("created", i) for i in created]
    )
    assert all(c["record"]["Title"] == "Head of Sales" for c in lines if c["op"] == "updated")
    assert (report.updated, report.deleted, report.created) == (4, 3, 1)

    # Read again right away: the overlap window re-reads them, the cursor filters them out.
    assert await collect(sync_crm, ledger) == []

    # Our own push is not echoed back; a later salesperson edit of the same record is.
    emulator.clock.advance(10)
    rows[5] = contact(5, phone="+1 999 0000000")
    await push(sync_crm, ledger, rows, MAPPING)
    assert await collect(sync_crm, ledger) == []
    emulator.clock.advance(10)
    emulator.crm.edit("Contacts", ids[contact(5)["email"]], {"Phone": "+1 222 0000000"})
    (change,) = await collect(sync_crm, ledger)
    assert (change.op, change.id) == ("updated", ids[contact(5)["email"]])


async def test_the_overlap_window_catches_a_change_stamped_before_the_cursor(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    (a, b) = emulator.crm.seed("Contacts", [{"Last_Name": "A"}, {"Last_Name": "B"}])
    assert {c.id for c in await collect(sync_crm, sqlite_ledger)} == {a, b}
    # A write that Zoho committed late, with a Modified_Time 60 s before what we last saw.
    emulator.clock.advance(-60)
    emulator.crm.edit("Contacts", b, {"Title": "late"})
    (change,) = await collect(sync_crm, sqlite_ledger)
    assert (change.op, change.id, change.record and change.record["Title"]) == (
        "updated",
        b,
        "late",
    )


async def test_past_2000_records_the_pull_pages_with_page_token(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    ids = emulator.crm.seed("Contacts", [{"Last_Name": f"L{n}"} for n in range(2300)])
    report = await pull(
        sync_crm, sqlite_ledger, "Contacts", fields=["Last_Name"], on_change=lambda c: None
    )
    assert report.created == 2300
    # 12 pages of 200, the deleted-records call and the record count a first pull asks for
    # (too few for Bulk Read); Zoho would refuse page 11.
    assert report.api_calls == 14
    changes = await collect(sync_crm, sqlite_ledger, fields=["Last_Name"])
    assert changes == []
    assert len(set(ids)) == 2300


async def test_fields_are_read_in_groups_and_merged(
    sync_crm: ZohoCRMService, emulator: Emulator, sqlite_ledger: Ledger
) -> None:
    emulator.crm.seed(
        "Contacts",
        [
            {"Last_Name": f"L{n}", "First_Name": f"F{n}", "Title": "T", "Phone": "1", "Email": e}
            for n, e in enumerate(["a@x.com", "b@x.com", "c@x.com"])
        ],
    )
    wanted = ["Last_Name", "First_Name", "Title", "Phone", "Email", "Department"]
    changes = await collect(sync_crm, sqlite_ledger, fields=wanted, group_size=4)
    assert len(changes) == 3
    for change in changes:
        assert change.record is not None
        assert set(wanted) <= set(change.record)
        assert change.record["Title"] == "T"
        assert change.record["Email"].endswith("@x.com")


def test_field_groups_stay_within_zohos_limit_and_cover_every_field() -> None:
    fields = [f"Field_{n}" for n in range(120)] + ["Modified_Time", "id"]
    groups = field_groups(fields)
    assert all(len(g) <= MAX_FIELDS_PER_CALL for g in groups)
    assert all("Modified_Time" in g for g in groups)
    assert {f for g in groups for f in g} == {*fields, "Created_Time"} - {"id"}
    assert len(groups) == 3


async def test_the_cursor_lives_in_the_database(
    sync_crm: ZohoCRMService, emulator: Emulator, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cursor.db'}"
    emulator.crm.seed("Contacts", [{"Last_Name": "A"}])
    first = await Ledger.open(url)
    assert len(await collect(sync_crm, first)) == 1
    await first.close()
    emulator.clock.advance(5)
    (b,) = emulator.crm.seed("Contacts", [{"Last_Name": "B"}])
    second = await Ledger.open(url)
    assert [c.id for c in await collect(sync_crm, second)] == [b]
    runs = await second.runs()
    assert [r.direction for r in runs] == ["pull", "pull"]
    await second.close()
