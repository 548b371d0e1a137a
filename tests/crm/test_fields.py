"""Values by field type: what zohokit sends for each kind of CRM field, and what it refuses.

Pure functions of the field metadata, the tenant's time zone and the value: property tests
for the rules, named cases for Zoho's formats.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.crm import (
    FieldSpec,
    ModuleFields,
    Problem,
    closest,
    coerce_record,
    coerce_value,
    stale_metadata,
)

KOLKATA = ZoneInfo("Asia/Kolkata")

TAGS = FieldSpec("Tags", "multiselectpicklist", picklist=("Hot", "Cold", "VIP"))
SOURCE = FieldSpec("Lead_Source", "picklist", picklist=("-None-", "Web Download", "Partner"))
ACCOUNT = FieldSpec("Account_Name", "lookup", lookup_module="Accounts")
BIRTHDAY = FieldSpec("Date_of_Birth", "date")
CALL = FieldSpec("Call_Time", "datetime")
OPT_OUT = FieldSpec("Email_Opt_Out", "boolean")
EMPLOYEES = FieldSpec("No_of_Employees", "integer")
REVENUE = FieldSpec("Annual_Revenue", "currency")
PHONE = FieldSpec("Phone", "phone", length=30)
EMAIL = FieldSpec("Email", "email", length=100)
NAME = FieldSpec("Last_Name", "text", length=80, label="Last Name")

LEADS = ModuleFields(
    "Leads",
    {
        f.api_name: f
        for f in (TAGS, SOURCE, ACCOUNT, BIRTHDAY, CALL, OPT_OUT, EMPLOYEES, REVENUE, PHONE)
    }
    | {f.api_name: f for f in (EMAIL, NAME)},
)


def refused(spec: FieldSpec, value: Any, tz: Any = UTC) -> str:
    with pytest.raises(ValueError, match=f"^{spec.api_name}: expected ") as caught:
        coerce_value(spec, value, tz)
    return str(caught.value)


# --- multi-select picklists: always a list of the picklist's own values --------------------


@given(st.lists(st.sampled_from(TAGS.picklist), max_size=6))
def test_multiselect_lists_keep_their_values_once_in_order(chosen: list[str]) -> None:
    out = coerce_value(TAGS, chosen, UTC)
    assert out == list(dict.fromkeys(chosen))


@given(st.lists(st.sampled_from(TAGS.picklist), min_size=1, max_size=6))
def test_a_semicolon_cell_is_the_same_list_in_any_case(chosen: list[str]) -> None:
    cell = " ; ".join(v.upper() for v in chosen)
    assert coerce_value(TAGS, cell, UTC) == list(dict.fromkeys(chosen))


def test_multiselect_refuses_what_is_not_a_list_of_its_values() -> None:
    assert "a list of values, each one of 'Hot', 'Cold', 'VIP'" in refused(TAGS, ["Warm"])
    assert "got 3" in refused(TAGS, 3)
    assert coerce_value(TAGS, "", UTC) == []


def test_picklists_take_the_exact_value_whatever_the_case() -> None:
    assert coerce_value(SOURCE, "web download", UTC) == "Web Download"
    assert "one of '-None-', 'Web Download', 'Partner'" in refused(SOURCE, "Website")
    # A picklist Zoho listed no values for takes any text.
    assert coerce_value(FieldSpec("Free", "picklist"), "Anything", UTC) == "Anything"


# --- lookups: {"id": ...} ------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=10**19 - 1))
def test_lookups_become_an_id_object_from_any_spelling(record_id: int) -> None:
    expected = {"id": str(record_id)}
    for value in (record_id, str(record_id), {"id": record_id}, {"id": str(record_id)}):
        assert coerce_value(ACCOUNT, value, UTC) == expected


def test_a_lookup_by_name_is_refused_with_the_form_zoho_needs() -> None:
    message = refused(ACCOUNT, "Acme Ltd")
    assert message.startswith("Account_Name: expected a record id")
    assert '{"id": "..."}' in message
    assert "got 'Acme Ltd'" in message


# --- dates and date-times ------------------------------------------------------------------


@given(st.dates())
def test_dates_are_yyyy_mm_dd_from_a_date_or_its_text(day: date) -> None:
    assert coerce_value(BIRTHDAY, day, UTC) == day.isoformat()
    assert coerce_value(BIRTHDAY, day.isoformat(), UTC) == day.isoformat()


@pytest.mark.parametrize("value", ["31/12/1990", "1990-13-01", "Dec 31 1990", 19901231])
def test_other_date_spellings_are_refused(value: Any) -> None:
    assert "expected a date as YYYY-MM-DD" in refused(BIRTHDAY, value)


def test_a_datetime_for_a_date_field_is_refused_not_truncated() -> None:
    assert "YYYY-MM-DD" in refused(BIRTHDAY, datetime(1990, 12, 31, 23, 30, tzinfo=UTC))


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_datetimes_keep_their_instant_in_the_tenants_zone(moment: datetime, minutes: int) -> None:
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    out = coerce_value(CALL, aware, KOLKATA)
    parsed = datetime.fromisoformat(out)
    assert parsed == aware  # the same instant
    assert parsed.utcoffset() == timedelta(hours=5, minutes=30)  # written in the tenant's zone
    assert "." not in out  # Zoho's format has whole seconds
    assert coerce_value(CALL, aware.isoformat(), KOLKATA) == out


def test_a_time_without_offset_is_the_tenants_wall_clock() -> None:
    assert coerce_value(CALL, "2031-03-04 10:00", KOLKATA) == "2031-03-04T10:00:00+05:30"
    assert coerce_value(CALL, "2031-03-04T10:00:00Z", KOLKATA) == "2031-03-04T15:30:00+05:30"
    assert "2031-03-04T10:00:00+01:00" in refused(CALL, "2031-03-04")


# --- booleans and numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("yes", True), ("TRUE", True), ("1", True), (1, True), ("no", False),
     ("false", False), (0, False), ("", None)],
)  # fmt: skip
def test_booleans_from_a_spreadsheet(value: Any, expected: bool | None) -> None:
    assert coerce_value(OPT_OUT, value, UTC) is expected


def test_other_boolean_words_are_refused() -> None:
    assert "expected true or false, got 'maybe'" in refused(OPT_OUT, "maybe")
    assert "got 2" in refused(OPT_OUT, 2)


@given(st.integers(min_value=-(2**31) + 1, max_value=2**31 - 1))
def test_integers_from_text_or_whole_floats(number: int) -> None:
    for value in (number, str(number), f" {number} ", float(number)):
        assert coerce_value(EMPLOYEES, value, UTC) == number


@pytest.mark.parametrize("value", ["12.5", 12.5, "twelve", True, 2**31, "1,000"])
def test_what_is_not_a_whole_number_in_range_is_refused(value: Any) -> None:
    assert "expected a whole number" in refused(EMPLOYEES, value)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12))
def test_currency_from_text_is_the_same_number(amount: Any) -> None:
    assert coerce_value(REVENUE, str(amount), UTC) == pytest.approx(float(amount))


def test_currency_refuses_words_and_booleans() -> None:
    assert "a number such as 1234.5" in refused(REVENUE, "a lot")
    assert "a number" in refused(REVENUE, False)


# --- text, phone, email --------------------------------------------------------------------


def test_phones_and_emails_are_checked_and_numbers_become_text() -> None:
    assert coerce_value(PHONE, "+44 20 7946 0000 ext 12", UTC) == "+44 20 7946 0000 ext 12"
    assert coerce_value(PHONE, 5550100, UTC) == "5550100"
    assert "expected a phone number" in refused(PHONE, "call me")
    assert coerce_value(EMAIL, " a@example.com ", UTC) == "a@example.com"
    assert "expected an email address of at most 100 characters" in refused(EMAIL, "not-email")
    assert "at most 80 characters" in refused(NAME, "x" * 81)


@given(st.sampled_from([TAGS, SOURCE, ACCOUNT, BIRTHDAY, CALL, OPT_OUT, EMPLOYEES, PHONE]))
def test_blank_cells_clear_the_field(spec: FieldSpec) -> None:
    assert coerce_value(spec, "", UTC) in (None, [])
    assert coerce_value(spec, None, UTC) in (None, [])


# --- whole records -------------------------------------------------------------------------


def test_a_record_reports_each_bad_value_as_row_field_expected_got() -> None:
    record = {
        "Last_Name": "Ng",
        "Tags": "hot;vip",
        "Account_Name": "4242",
        "Date_of_Birth": "31/12/1990",
        "Emial": "a@example.com",
    }
    out, problems = coerce_record(LEADS, record, UTC, row=7)
    assert out == {"Last_Name": "Ng", "Tags": ["Hot", "VIP"], "Account_Name": {"id": "4242"}}
    assert problems == [
        Problem(7, "Date_of_Birth", "a date as YYYY-MM-DD", "'31/12/1990'"),
        Problem(7, "Emial", "a field of Leads (did you mean Email?)", "'a@example.com'"),
    ]
    assert str(problems[0]) == (
        "row 7: Date_of_Birth: expected a date as YYYY-MM-DD, got '31/12/1990'"
    )


def test_metadata_from_zohos_answer() -> None:
    fields = ModuleFields.from_zoho(
        "Deals",
        [
            {
                "api_name": "Stage",
                "data_type": "picklist",
                "field_label": "Stage",
                "length": 120,
                "pick_list_values": [
                    {"display_value": "Won", "actual_value": "Closed Won"},
                    {"display_value": "Lost", "actual_value": "Closed Lost"},
                ],
            },
            {
                "api_name": "Contact_Name",
                "data_type": "lookup",
                "lookup": {"module": {"api_name": "Contacts", "id": "1"}},
            },
            {"api_name": "Created_Time", "data_type": "datetime", "read_only": True},
        ],
    )
    assert fields.fields["Stage"].picklist == ("Closed Won", "Closed Lost")
    assert fields.fields["Contact_Name"].lookup_module == "Contacts"
    assert fields.unknown(["Stage", "Stagee", "id", "$approved"]) == ["Stagee"]
    assert fields.suggest("stage") == "Stage"
    # Zoho ignores values for read-only fields: passed on as they are.
    assert coerce_record(fields, {"Created_Time": "x"}, UTC)[1] == []


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("Contactz", ["Leads", "Contacts", "Accounts"], "Contacts"),
        ("email", ["Email", "Phone"], "Email"),
        ("last name", ["Last_Name", "First_Name"], "Last_Name"),
        ("Zebra", ["Leads", "Contacts"], None),
    ],
)
def test_closest_names(name: str, candidates: list[str], expected: str | None) -> None:
    assert closest(name, candidates) == expected


@pytest.mark.parametrize(
    ("code", "message", "details", "stale"),
    [
        ("INVALID_DATA", "the field api name given seems to be invalid", {"api_name": "X"}, True),
        ("INVALID_DATA", "invalid data", {"api_name": "Tags", "supported_values": ["A"]}, True),
        ("INVALID_DATA", "invalid data", {"api_name": "N", "expected_data_type": "integer"}, True),
        ("INVALID_DATA", "invalid data", {"api_name": "T", "maximum_length": 10}, True),
        # A lookup to a record that is not there: the metadata is right.
        ("INVALID_DATA", "invalid data", {"api_name": "A", "expected_data_type": "lookup"}, False),
        ("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "Last_Name"}, False),
        ("DUPLICATE_DATA", "duplicate data", {"api_name": "Email"}, False),
        ("INVALID_DATA", "invalid data", {}, False),
    ],
)
def test_which_answers_mean_the_metadata_changed(
    code: str, message: str, details: dict[str, Any], stale: bool
) -> None:
    assert stale_metadata(code, message, details) is stale
