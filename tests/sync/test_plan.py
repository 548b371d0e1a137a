"""The pure decisions of the sync engine: change detection, send/skip, retry, split."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.crm import RecordResult
from zohokit.errors import RateLimited, ServerError, TransportError, ZohoAPIError
from zohokit.sync import (
    LedgerState,
    SyncMapping,
    classify_result,
    next_attempt,
    normalize_key,
    plan_row,
    row_hash,
    split,
)
from zohokit.sync._preflight import key_column_problem, missing_key, written_fields

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8))
def test_hash_ignores_key_order(record: dict[str, object]) -> None:
    reordered = dict(reversed(list(record.items())))
    assert row_hash(record) == row_hash(reordered)


def test_hash_sees_every_value_change_but_not_number_spelling() -> None:
    base = {"Email": "a@example.com", "Employees": 3, "Phone": None}
    assert row_hash(base) == row_hash({**base, "Employees": 3.0})
    assert row_hash(base) == row_hash({**base, "Employees": Decimal("3")})
    assert row_hash(base) != row_hash({**base, "Employees": 4})
    assert row_hash(base) != row_hash({**base, "Phone": ""})
    assert row_hash(base) != row_hash({k: v for k, v in base.items() if k != "Phone"})


def test_hashes_stay_those_of_earlier_versions() -> None:
    # A ledger written by an earlier zohokit must still find its rows unchanged: a new hash
    # for the same content would re-send every row once.
    flat = {"Email": "a@x.com", "Last_Name": "\u00dcnal", "No": 3, "Opt": True, "X": None}
    nested = {"B": 3.0, "A": [1, 2.5], "C": {"z": 1}}
    assert row_hash(flat) == "a3b163789acddbe11918c3c67896942e05644d2e3e12397fa30886344d603237"
    assert row_hash(nested) == "287ebee97b11071f6ed250f9afee07f0810eebd11f640db4879b221501499023"


@given(
    st.dictionaries(
        st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(), max_size=8
    )
)
def test_a_plain_rows_hash_is_that_of_its_sorted_compact_json(record: dict[str, object]) -> None:
    # Plain rows (a CSV's) take a faster encoder: it must write exactly the documented text.
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert row_hash(record) == hashlib.sha256(text.encode()).hexdigest()


def test_keys_match_the_way_zoho_deduplicates() -> None:
    assert normalize_key("  Ann@Example.COM ") == normalize_key("ann@example.com")
    assert normalize_key("") is None
    assert normalize_key(None) is None


@pytest.mark.parametrize(
    ("entry", "same_hash", "expected"),
    [
        (None, True, "send"),
        (LedgerState("synced", "h"), True, "unchanged"),
        (LedgerState("synced", "h"), False, "send"),
        (LedgerState("pending", "h"), True, "send"),  # a run died before it was answered
        (LedgerState("failed", "h", 2), True, "send"),
        (LedgerState("failed", "h", 3), True, "parked"),  # max_attempts lowered since
        (LedgerState("parked", "h", 3), True, "parked"),
        (LedgerState("parked", "h", 3), False, "send"),  # new content, new chances
        (LedgerState("deleted", None), True, "send"),  # the row came back
    ],
)
def test_plan_row(entry: LedgerState | None, same_hash: bool, expected: str) -> None:
    new_hash = "h" if same_hash else "other"
    assert plan_row(entry, new_hash, max_attempts=3) == expected


def test_attempts_count_failures_of_the_same_content() -> None:
    assert next_attempt(None, "h", 3) == ("failed", 1)
    assert next_attempt(LedgerState("failed", "h", 1), "h", 3) == ("failed", 2)
    assert next_attempt(LedgerState("failed", "h", 2), "h", 3) == ("parked", 3)
    assert next_attempt(LedgerState("failed", "old", 2), "h", 3) == ("failed", 1)
    assert next_attempt(None, "h", 1) == ("parked", 1)


def _whole(exc: Exception) -> RecordResult:
    return RecordResult.from_exception(0, exc)


@pytest.mark.parametrize(
    ("result", "size", "verdict"),
    [
        (RecordResult(0, True, "SUCCESS", id="1", action="insert"), 100, "synced"),
        (_whole(RateLimited("429", status=429)), 100, "retry"),
        (_whole(ServerError("502 page", status=502)), 100, "retry"),
        (_whole(TransportError("read timeout")), 100, "retry"),
        (_whole(ZohoAPIError("3 results for 4 records")), 4, "retry"),
        (_whole(ZohoAPIError("bad body", status=400, code="INVALID_DATA")), 100, "split"),
        (_whole(ZohoAPIError("bad body", status=400, code="INVALID_DATA")), 1, "failed"),
        (RecordResult(0, False, "MANDATORY_NOT_FOUND"), 100, "failed"),
        (RecordResult(0, False, "DUPLICATE_DATA"), 100, "failed"),
        (RecordResult(0, False, "RECORD_LOCKED"), 100, "retry"),
    ],
)
def test_classify_result(result: RecordResult, size: int, verdict: str) -> None:
    assert classify_result(result, size) == verdict


@given(st.lists(st.integers(), max_size=200))
def test_split_halves_keep_every_row_once_and_shrink(batch: list[int]) -> None:
    halves = split(batch)
    assert [row for half in halves for row in half] == batch
    if len(batch) > 1:
        assert len(halves) == 2
        assert all(0 < len(h) < len(batch) for h in halves)


def test_the_fields_a_push_writes_come_from_the_mapping_or_the_columns() -> None:
    mapped = SyncMapping.from_dict(
        {
            "module": "Contacts",
            "key": "Email",
            "fields": {"email": "Email", "last": "Last_Name"},
            "constants": {"Lead_Source": "Web"},
        }
    )
    assert written_fields(mapped, ["email", "last", "ignored"]) == [
        "Email",
        "Last_Name",
        "Lead_Source",
    ]
    identity = SyncMapping.from_dict({"module": "Leads", "key": "Email"})
    assert written_fields(identity, ["Last_Name", "Email"]) == ["Last_Name", "Email"]


@given(st.lists(st.text(min_size=1, max_size=8), max_size=5, unique=True))
def test_a_key_column_is_missing_exactly_when_no_column_carries_the_key(
    columns: list[str],
) -> None:
    mapping = SyncMapping.from_dict({"module": "Leads", "key": "Email"})
    problem = key_column_problem(mapping, dict.fromkeys(columns, "x"))
    assert (problem is None) == ("Email" in columns)
    if problem is not None:
        for column in columns:
            assert repr(column) in problem  # every column of the file is listed


def test_a_missing_key_names_the_empty_cell_or_the_closest_column() -> None:
    mapping = SyncMapping.from_dict(
        {"module": "Contacts", "key": "Email", "fields": {"mail": "Email", "last": "Last_Name"}}
    )
    assert missing_key(mapping, 3, {"mail": "", "last": "X"}) == (
        "row 3 has no Email (its 'mail' cell is empty)"
    )
    message = missing_key(mapping, 4, {"e-mail": "a@x.com", "last": "X"})
    assert message.startswith("row 4 has no Email (the file's columns: 'e-mail', 'last'")
    assert "did you mean 'e-mail'?" in message
