"""The ledger's many-row writes read back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from zohokit.sync import Ledger, LedgerState, Outcome


async def test_outcomes_and_pending_marks_read_back_exactly(ledger: Ledger) -> None:
    stamped = datetime(2031, 3, 4, 10, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with_micro = datetime(2031, 3, 4, 4, 30, 0, 123456, tzinfo=UTC)
    await ledger.record(
        "acme",
        "Contacts",
        [
            Outcome("a@x.com", "synced", "h1", zoho_id="1001", zoho_modified_time=stamped),
            Outcome("b@x.com", "synced", "h2", zoho_id="1002", zoho_modified_time=with_micro),
            Outcome(
                "c@x.com",
                "failed",
                "h3",
                attempts=2,
                error_code="INVALID_DATA",
                error_details={"api_name": "Phone", "message": "invalid data"},
            ),
        ],
    )
    before = datetime.now(UTC)
    # a: same content again (attempts kept); c: new content (attempts start over).
    await ledger.mark_pending("acme", "Contacts", [("c@x.com", "h3"), ("a@x.com", "h9")])
    entries = await ledger.entries("acme", "Contacts", ["a@x.com", "b@x.com", "c@x.com", "zz"])
    assert set(entries) == {"a@x.com", "b@x.com", "c@x.com"}
    a, b, c = entries["a@x.com"], entries["b@x.com"], entries["c@x.com"]
    assert (a.status, a.content_hash, a.attempts, a.zoho_id) == ("pending", "h9", 0, "1001")
    assert a.zoho_modified_time == stamped  # the same instant, read back in UTC
    assert b.zoho_modified_time == with_micro
    assert (c.status, c.attempts, c.last_error_code) == ("pending", 2, "INVALID_DATA")
    assert c.last_error_details == {"api_name": "Phone", "message": "invalid data"}
    assert b.last_pushed_at is not None
    assert b.last_pushed_at.tzinfo is not None
    assert b.last_pushed_at <= before
    # A later failure keeps the record id the row already had.
    await ledger.record("acme", "Contacts", [Outcome("a@x.com", "failed", "h9", attempts=1)])
    again = await ledger.entries("acme", "Contacts", ["a@x.com"])
    assert (again["a@x.com"].status, again["a@x.com"].zoho_id) == ("failed", "1001")
    assert again["a@x.com"].zoho_modified_time == stamped
    assert await ledger.entries("other", "Contacts", ["a@x.com"]) == {}
    # What a push reads: the same states and record ids, without the rest.
    states = await ledger.states("acme", "Contacts", ["a@x.com", "b@x.com", "c@x.com", "zz"])
    full = await ledger.entries("acme", "Contacts", ["a@x.com", "b@x.com", "c@x.com"])
    assert states == {k: (e.state, e.zoho_id) for k, e in full.items()}
    assert states["c@x.com"] == (LedgerState("pending", "h3", 2), None)
    assert await ledger.states("other", "Contacts", ["a@x.com"]) == {}


async def test_a_synced_outcome_is_the_outcome_a_push_writes_for_a_record_zoho_took(
    ledger: Ledger,
) -> None:
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    made = Outcome.synced("a@x.com", "h1", "5001", when)

    assert made == Outcome("a@x.com", "synced", "h1", zoho_id="5001", zoho_modified_time=when)
    await ledger.record("t", "Leads", [made])
    entry = (await ledger.entries("t", "Leads", ["a@x.com"]))["a@x.com"]
    assert (entry.status, entry.zoho_id, entry.attempts, entry.last_error_code) == (
        "synced",
        "5001",
        0,
        None,
    )
