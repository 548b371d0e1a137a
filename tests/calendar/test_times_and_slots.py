"""Calendar's pure helpers: compact times, 31-day windows, free/busy parsing into the
engine's busy type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from zohokit.availability import Busy
from zohokit.calendar import format_utc, parse_zoho_time, split_range
from zohokit.calendar._times import busy_of_event, parse_eventbased, parse_timebased


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_time_forms() -> None:
    assert (
        format_utc(datetime(2031, 1, 2, 8, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))))
        == "20310102T030000Z"
    )
    assert parse_zoho_time("20191101T143000+0530") == utc(2019, 11, 1, 9)
    assert parse_zoho_time("20191101T090000Z") == utc(2019, 11, 1, 9)
    assert parse_zoho_time("20191101") == utc(2019, 11, 1)
    assert parse_zoho_time("20191101Z") == utc(2019, 11, 1)


@given(st.integers(min_value=1, max_value=400))
def test_split_range_covers_exactly_with_31_day_windows(days: int) -> None:
    start = utc(2031, 1, 1)
    windows = split_range(start, start + timedelta(days=days, hours=3))
    assert windows[0][0] == start
    assert windows[-1][1] == start + timedelta(days=days, hours=3)
    assert all(hi - lo <= timedelta(days=31) for lo, hi in windows)
    assert all(a[1] == b[0] for a, b in pairwise(windows))


def test_freebusy_formats() -> None:
    eventbased = {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20231002T083000Z", "endTime": "20231002T090000Z"},
            {"fbtype": "free", "startTime": "20231002T090000Z", "endTime": "20231002T100000Z"},
            {"fbtype": "busy", "startTime": "20231003Z", "endTime": "20231004Z"},
        ]
    }
    assert parse_eventbased(eventbased) == [
        Busy(utc(2023, 10, 2, 8, 30), utc(2023, 10, 2, 9)),
        Busy(utc(2023, 10, 3), utc(2023, 10, 4), all_day=True),
    ]
    timebased = {"20211215": [{"allday": True}, []], "20211214": [None, ["00:30-01:00"]]}
    expected = [
        Busy(utc(2021, 12, 14, 0, 30), utc(2021, 12, 14, 1)),
        Busy(utc(2021, 12, 15), utc(2021, 12, 16), all_day=True),
    ]
    assert parse_timebased(timebased) == expected
    assert parse_timebased({"freebusy": timebased}) == expected  # wrapped or bare


def test_events_become_busy_time_in_their_own_zone_and_all_day_as_dates() -> None:
    timed = {
        "dateandtime": {
            "timezone": "Asia/Kolkata",
            "start": "20310101T090000",
            "end": "20310101T100000",
        }
    }
    assert busy_of_event(timed, UTC) == Busy(utc(2031, 1, 1, 3, 30), utc(2031, 1, 1, 4, 30))
    all_day = {"isallday": True, "dateandtime": {"start": "20310102", "end": "20310103"}}
    busy = busy_of_event(all_day, UTC)
    assert busy.all_day
    assert busy.all_day_dates() == [utc(2031, 1, 2).date(), utc(2031, 1, 3).date()]
    backwards = {"dateandtime": {"start": "20310101T100000Z", "end": "20310101T090000Z"}}
    assert busy_of_event(backwards, UTC).end == utc(2031, 1, 1, 10)  # empty, not an error
