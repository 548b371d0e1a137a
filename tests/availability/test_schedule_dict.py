"""The stored form of a schedule: TOML/dict in, the same dict out, errors that name the key."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import zohokit.scheduling as scheduling
from tests.availability.strategies import schedules
from zohokit.errors import ZohoError
from zohokit.scheduling import (
    BookingWindow,
    FreeBusyUnavailable,
    InvalidSchedule,
    Schedule,
    TimeBlock,
    TimeOff,
)

EXAMPLE = """
time_zone = "Europe/Berlin"
duration_minutes = 45
interval_minutes = 15
buffer_before_minutes = 5
buffer_after_minutes = 10
minimum_notice_minutes = 240
max_bookings_per_day = 6
all_day_events_block_day = false

[booking_window]
days = 10
kind = "business"

[weekly_hours]
monday = ["09:00-12:00", "13:00-17:30"]
friday = ["09:00-24:00"]

[overrides]
2024-12-24 = ["09:00-12:00"]
2024-12-25 = []

[[time_off]]
first_day = 2024-08-01
last_day = 2024-08-14
reason = "summer"
"""


def test_a_toml_file_reads_into_the_schedule_it_describes() -> None:
    s = Schedule.from_dict(tomllib.loads(EXAMPLE))
    assert s.time_zone == "Europe/Berlin"
    assert s.weekly_hours[0] == (TimeBlock.parse("09:00-12:00"), TimeBlock.parse("13:00-17:30"))
    assert s.weekly_hours[4][0].ends_at_midnight
    assert s.weekly_hours[1] == ()
    assert s.hours_on(dt.date(2024, 12, 23)) == s.weekly_hours[0]
    assert s.hours_on(dt.date(2024, 12, 24)) == (TimeBlock.parse("09:00-12:00"),)
    assert s.hours_on(dt.date(2024, 12, 25)) == ()
    assert s.hours_on(dt.date(2024, 8, 5)) == ()  # a Monday in the time off
    assert s.time_off == (TimeOff(dt.date(2024, 8, 1), dt.date(2024, 8, 14), "summer"),)
    assert s.slot_duration == dt.timedelta(minutes=45)
    assert s.step == dt.timedelta(minutes=15)
    assert s.minimum_notice == dt.timedelta(hours=4)
    assert s.booking_window == BookingWindow(10, "business")
    assert s.max_bookings_per_day == 6
    assert s.max_bookings_per_week is None
    assert not s.all_day_events_block_day


def test_the_dict_form_is_json_ready_and_reads_back_equal() -> None:
    s = Schedule.from_dict(tomllib.loads(EXAMPLE))
    stored = json.loads(json.dumps(s.to_dict()))
    assert stored["weekly_hours"]["friday"] == ["09:00-24:00"]
    assert stored["overrides"] == {"2024-12-24": ["09:00-12:00"], "2024-12-25": []}
    assert Schedule.from_dict(stored) == s


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_every_schedule_survives_a_round_trip(s: Schedule) -> None:
    assert Schedule.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_defaults_need_only_a_time_zone() -> None:
    s = Schedule.from_dict({"time_zone": "UTC"})
    assert s.slot_duration == s.step == dt.timedelta(minutes=30)
    assert all(day == () for day in s.weekly_hours)
    assert s.all_day_events_block_day


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({}, "time_zone", "missing"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone"),
        # A folder of the tz database: ZoneInfo itself raises IsADirectoryError for it.
        ({"time_zone": "Europe"}, "time_zone", "unknown time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "unknown time zone"),
        ({"time_zone": "UTC", "slot_minutes": 30}, "slot_minutes", "unknown key"),
        ({"time_zone": "UTC", "weekly_hours": {"mon": []}}, "weekly_hours.mon", "weekday"),
        (
            {"time_zone": "UTC", "weekly_hours": {"monday": ["09:00-12:00", "9-17"]}},
            "weekly_hours.monday[1]",
            "HH:MM",
        ),
        (
            {"time_zone": "UTC", "weekly_hours": {"tuesday": ["09:00-12:00", "11:00-13:00"]}},
            "weekly_hours.tuesday[1]",
            "overlaps",
        ),
        (
            {"time_zone": "UTC", "weekly_hours": {"friday": ["22:00-02:00"]}},
            "weekly_hours.friday[0]",
            "crosses midnight",
        ),
        (
            {"time_zone": "UTC", "weekly_hours": {"friday": ["24:00-24:00"]}},
            "weekly_hours.friday[0]",
            "no such time",
        ),
        ({"time_zone": "UTC", "overrides": {"24/12/2024": []}}, "overrides.24/12/2024", "date"),
        ({"time_zone": "UTC", "duration_minutes": 0}, "duration_minutes", "positive"),
        ({"time_zone": "UTC", "duration_minutes": True}, "duration_minutes", "whole number"),
        ({"time_zone": "UTC", "buffer_after_minutes": -5}, "buffer_after_minutes", "negative"),
        ({"time_zone": "UTC", "booking_window": {"days": 0}}, "booking_window.days", "at least"),
        (
            {"time_zone": "UTC", "booking_window": {"days": 5, "kind": "weekdays"}},
            "booking_window.kind",
            "business",
        ),
        ({"time_zone": "UTC", "max_bookings_per_week": 0}, "max_bookings_per_week", "at least"),
        (
            {"time_zone": "UTC", "time_off": [{"first_day": "2024-08-01"}]},
            "time_off[0].last_day",
            "missing",
        ),
        (
            {
                "time_zone": "UTC",
                "time_off": [{"first_day": "2024-08-09", "last_day": "2024-08-01"}],
            },
            "time_off[0]",
            "before",
        ),
        (
            {"time_zone": "UTC", "all_day_events_block_day": "yes"},
            "all_day_events_block_day",
            "true or false",
        ),
    ],
)
def test_errors_name_the_bad_key(data: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(InvalidSchedule, match=problem) as caught:
        Schedule.from_dict(data)
    assert caught.value.key == key
    assert key in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_dataclass_checks_the_same_rules_as_the_dict_form() -> None:
    with pytest.raises(InvalidSchedule) as caught:
        Schedule("UTC", slot_interval=dt.timedelta(seconds=90))
    assert caught.value.key == "interval_minutes"


def test_free_busy_failure_is_caught_as_a_zoho_error_that_says_why() -> None:
    # The calendar layer raises this; callers that catch ZohoError must see it, with the cause.
    def read_free_busy() -> None:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as exc:
            raise FreeBusyUnavailable(
                "free/busy timed out", reason="timeout", tenant="acme"
            ) from exc

    with pytest.raises(ZohoError, match="tenant=acme") as caught:
        read_free_busy()
    assert isinstance(caught.value, FreeBusyUnavailable)
    assert caught.value.reason == "timeout"
    assert caught.value.provider == "zoho_calendar"
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_a_booker_zone_that_is_not_a_zone_is_a_clear_error() -> None:
    schedule = Schedule.from_dict({"time_zone": "Europe/Berlin"})
    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with pytest.raises(scheduling.UnknownTimeZone, match="IANA name"):
        scheduling.available_slots(
            schedule,
            [],
            now=now,
            start=dt.date(2026, 3, 2),
            end=dt.date(2026, 3, 3),
            booker_zone="Europe",
        )


def test_public_names_are_exactly_all() -> None:
    public = {n for n in dir(scheduling) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in public if type(getattr(scheduling, n)).__name__ == "module"}
    assert public - modules == set(scheduling.__all__)
