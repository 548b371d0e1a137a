"""Pure functions of the Calendar emulator: compact formats, ranges, recurrence, free/busy."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.emulator.calendar._freebusy import Busy, eventbased, merge, timebased
from zohokit.emulator.calendar._recurrence import (
    RecurrenceError,
    occurrence_starts,
    parse_rrule,
    wall_clock_to_utc,
)
from zohokit.emulator.calendar._times import (
    TimeFormatError,
    Window,
    format_local,
    format_utc,
    parse_date,
    parse_freebusy_bound,
    parse_instant,
    parse_range,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- formats


def test_parse_instant_reads_gmt_and_offsets() -> None:
    assert parse_instant("20241028T103000Z") == utc(2024, 10, 28, 10, 30)
    # cal.com sends local time with an offset; it is the same instant.
    assert parse_instant("20241028T160000+0530") == utc(2024, 10, 28, 10, 30)


@pytest.mark.parametrize(
    "text", ["2024-10-28T10:30:00Z", "20241028T1030Z", "20241328T103000Z", "20241028", ""]
)
def test_parse_instant_rejects_other_shapes(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_instant(text)


def test_instant_without_zone_needs_permission() -> None:
    with pytest.raises(TimeFormatError):
        parse_instant("20241028T103000")
    assert parse_instant("20241028T103000", zone_required=False) == utc(2024, 10, 28, 10, 30)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_format_and_parse_round_trip(moment: datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=UTC)
    assert parse_instant(format_utc(aware)) == aware
    local = format_local(aware, ZoneInfo("Asia/Kolkata"))
    assert local.endswith("+0530")
    assert parse_instant(local) == aware


def test_parse_date_rejects_impossible_days() -> None:
    assert parse_date("20240229") == date(2024, 2, 29)
    with pytest.raises(TimeFormatError):
        parse_date("20230229")


# ---------------------------------------------------------------------------- ranges


def test_range_with_dates_includes_the_end_day() -> None:
    window = parse_range('{"start":"20250101","end":"20250131"}')
    assert window == Window(utc(2025, 1, 1), utc(2025, 2, 1))


def test_range_longer_than_31_days_is_rejected() -> None:
    parse_range('{"start":"20250101T000000Z","end":"20250201T000000Z"}')
    with pytest.raises(TimeFormatError, match="31 days"):
        parse_range('{"start":"20250101T000000Z","end":"20250201T000001Z"}')
    with pytest.raises(TimeFormatError, match="31 days"):
        parse_range('{"start":"20250101","end":"20250201"}')


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "{not json",
        '["20250101","20250102"]',
        '{"start":"20250101"}',
        '{"start":"20250105","end":"20250101"}',
    ],
)
def test_bad_ranges_are_rejected(raw: str | None) -> None:
    with pytest.raises(TimeFormatError):
        parse_range(raw)


def test_freebusy_bounds_are_utc_with_or_without_z() -> None:
    assert parse_freebusy_bound("20170419T080000", "sdate") == utc(2017, 4, 19, 8)
    assert parse_freebusy_bound("20170419T080000Z", "sdate") == utc(2017, 4, 19, 8)
    with pytest.raises(TimeFormatError, match="sdate is required"):
        parse_freebusy_bound(None, "sdate")


# ------------------------------------------------------------------------ recurrence


def starts(rule: str, first: datetime, until: datetime, zone: str = "UTC") -> list[datetime]:
    tz = ZoneInfo(zone)
    local = first.astimezone(tz).replace(tzinfo=None)
    return list(occurrence_starts(parse_rrule(rule), local, wall_clock_to_utc(tz), until=until))


def test_daily_count() -> None:
    got = starts("FREQ=DAILY;COUNT=3", utc(2025, 1, 1, 9), utc(2026, 1, 1))
    assert got == [utc(2025, 1, 1, 9), utc(2025, 1, 2, 9), utc(2025, 1, 3, 9)]


def test_daily_interval_until_is_inclusive() -> None:
    got = starts(
        "FREQ=DAILY;INTERVAL=2;UNTIL=20250105T090000Z", utc(2025, 1, 1, 9), utc(2026, 1, 1)
    )
    assert got == [utc(2025, 1, 1, 9), utc(2025, 1, 3, 9), utc(2025, 1, 5, 9)]


def test_weekly_byday_with_interval() -> None:
    # 2025-01-06 is a Monday; every other week on Monday and Wednesday.
    got = starts(
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO;COUNT=5", utc(2025, 1, 6, 9), utc(2026, 1, 1)
    )
    assert [d.date() for d in got] == [
        date(2025, 1, 6),
        date(2025, 1, 8),
        date(2025, 1, 20),
        date(2025, 1, 22),
        date(2025, 2, 3),
    ]


def test_weekly_byday_skips_days_before_the_first_start() -> None:
    # Starts on a Wednesday: that week's Monday is not an occurrence.
    got = starts("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3", utc(2025, 1, 8, 9), utc(2026, 1, 1))
    assert [d.date() for d in got] == [date(2025, 1, 8), date(2025, 1, 13), date(2025, 1, 15)]


def test_daily_byday_means_weekdays_only() -> None:
    got = starts("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", utc(2025, 1, 9, 9), utc(2025, 1, 15))
    assert [d.day for d in got] == [9, 10, 13, 14]


def test_unbounded_rule_stops_at_the_window() -> None:
    got = starts("FREQ=DAILY", utc(2025, 1, 1, 9), utc(2025, 1, 4))
    assert len(got) == 3


def test_monthly_skips_months_without_the_day() -> None:
    got = starts("FREQ=MONTHLY;COUNT=3", utc(2025, 1, 31, 9), utc(2026, 1, 1))
    assert [d.month for d in got] == [1, 3, 5]


def test_wall_clock_is_kept_across_daylight_saving() -> None:
    # 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer (DST began 2025-03-30).
    got = starts("FREQ=DAILY;COUNT=3", utc(2025, 3, 29, 8), utc(2026, 1, 1), "Europe/Berlin")
    assert [d.hour for d in got] == [8, 7, 7]


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "COUNT=3",
        "FREQ=HOURLY",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=2;UNTIL=20250101",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=MO",
        "FREQ=DAILY;BYSETPOS=1",
        "FREQ=DAILY;;X",
    ],
)
def test_unsupported_rules_are_rejected(rule: str) -> None:
    with pytest.raises(RecurrenceError):
        parse_rrule(rule)


def test_impossible_rule_ends() -> None:
    # Every 7 days from a Monday never lands on a Tuesday: expansion must still finish.
    got = starts("FREQ=DAILY;INTERVAL=7;BYDAY=TU", utc(2025, 1, 6, 9), utc(2025, 2, 1))
    assert got == []


# ------------------------------------------------------------------------- free/busy


def test_merge_joins_overlapping_and_touching_blocks() -> None:
    blocks = [
        Busy(utc(2025, 1, 1, 10), utc(2025, 1, 1, 11)),
        Busy(utc(2025, 1, 1, 10, 30), utc(2025, 1, 1, 12)),
        Busy(utc(2025, 1, 1, 12), utc(2025, 1, 1, 13)),
        Busy(utc(2025, 1, 1, 15), utc(2025, 1, 1, 16)),
    ]
    assert merge(blocks) == [
        Busy(utc(2025, 1, 1, 10), utc(2025, 1, 1, 13)),
        Busy(utc(2025, 1, 1, 15), utc(2025, 1, 1, 16)),
    ]


def test_eventbased_formats_timed_and_allday_blocks() -> None:
    body = eventbased(
        [
            Busy(utc(2025, 1, 2), utc(2025, 1, 3), True),
            Busy(utc(2025, 1, 1, 9), utc(2025, 1, 1, 10)),
        ]
    )
    assert body == {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20250101T090000Z", "endTime": "20250101T100000Z"},
            {"fbtype": "busy", "startTime": "20250102Z", "endTime": "20250103Z"},
        ]
    }


def test_timebased_groups_by_day_and_splits_at_midnight() -> None:
    window = Window(utc(2025, 1, 1), utc(2025, 1, 4))
    body = timebased(
        [
            Busy(utc(2025, 1, 1, 22), utc(2025, 1, 2, 1, 30)),
            Busy(utc(2025, 1, 3), utc(2025, 1, 4), True),
            Busy(utc(2025, 1, 3, 9, 15), utc(2025, 1, 3, 9, 40, 10)),
        ],
        window,
    )
    assert body == {
        "freebusy": {
            "20250101": [None, ["22:00-24:00"]],
            "20250102": [None, ["00:00-01:30"]],
            "20250103": [{"allday": True}, ["09:15-09:41"]],
        }
    }


@given(
    st.lists(
        st.tuples(st.integers(0, 2000), st.integers(1, 300)).map(
            lambda t: Busy(
                utc(2025, 1, 1) + timedelta(minutes=t[0]),
                utc(2025, 1, 1) + timedelta(minutes=t[0] + t[1]),
            )
        ),
        max_size=12,
    )
)
def test_merge_keeps_busy_time_and_leaves_gaps(blocks: list[Busy]) -> None:
    merged = merge(blocks)
    for earlier, later in itertools.pairwise(merged):
        assert earlier.end < later.start
    minute = timedelta(minutes=1)
    for block in blocks:
        moment = block.start
        while moment < block.end:
            assert any(m.start <= moment < m.end for m in merged)
            moment += minute * 37
