"""Calendar's pure helpers: compact times, 31-day windows, free/busy parsing, slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.calendar import BusyInterval, format_utc, free_slots, parse_zoho_time, split_range
from zohokit.calendar._times import parse_eventbased, parse_timebased


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
        BusyInterval(utc(2023, 10, 2, 8, 30), utc(2023, 10, 2, 9)),
        BusyInterval(utc(2023, 10, 3), utc(2023, 10, 4), all_day=True),
    ]
    timebased = {"20211215": [{"allday": True}, []], "20211214": [None, ["00:30-01:00"]]}
    expected = [
        BusyInterval(utc(2021, 12, 14, 0, 30), utc(2021, 12, 14, 1)),
        BusyInterval(utc(2021, 12, 15), utc(2021, 12, 16), all_day=True),
    ]
    assert parse_timebased(timebased) == expected
    assert parse_timebased({"freebusy": timebased}) == expected  # wrapped or bare


def test_slots_avoid_busy_time_and_fit_the_window() -> None:
    busy = [BusyInterval(utc(2031, 1, 1, 10), utc(2031, 1, 1, 10, 45))]
    slots = free_slots(utc(2031, 1, 1, 9), utc(2031, 1, 1, 12), busy, timedelta(minutes=30))
    assert [s.start.hour * 60 + s.start.minute for s in slots] == [540, 570, 660, 690]
    with pytest.raises(ValueError, match="positive"):
        free_slots(utc(2031, 1, 1), utc(2031, 1, 2), [], timedelta(0))


@given(
    st.lists(st.tuples(st.integers(0, 600), st.integers(1, 180)), max_size=8),
    st.integers(10, 120),
)
def test_no_slot_ever_overlaps_busy_time(blocks: list[tuple[int, int]], minutes: int) -> None:
    day = utc(2031, 1, 1, 8)
    busy = [
        BusyInterval(day + timedelta(minutes=s), day + timedelta(minutes=s + d)) for s, d in blocks
    ]
    end = day + timedelta(hours=10)
    for slot in free_slots(day, end, busy, timedelta(minutes=minutes)):
        assert day <= slot.start < slot.end <= end
        assert not any(b.start < slot.end and b.end > slot.start for b in busy)
