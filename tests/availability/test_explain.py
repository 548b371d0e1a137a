"""``explain``: one named case per rule, each removing a slot the same schedule offers without
that rule, and a property: explain offers exactly the engine's slots, whatever the inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from tests.availability.strategies import UTC, scenarios
from zohokit.scheduling import (
    BookingWindow,
    Busy,
    BusySource,
    DateOverride,
    Host,
    Rule,
    Schedule,
    TimeBlock,
    TimeOff,
    Verdict,
    explain,
    slots_between,
)

#: Tuesday 5 March 2024, 09:00-12:00 UTC, hour-long slots; "now" is the Monday before.
DAY = dt.date(2024, 3, 5)
NOW = dt.datetime(2024, 3, 4, 8, tzinfo=UTC)
BASE = Schedule.from_dict(
    {
        "time_zone": "UTC",
        "duration_minutes": 60,
        "weekly_hours": {d: ["09:00-12:00"] for d in ("monday", "tuesday", "wednesday")},
    }
)


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), UTC)


def why(
    schedule: Schedule, busy: list[Busy] | None = None, now: dt.datetime = NOW
) -> list[Verdict]:
    return explain(
        Host("ann", schedule, busy or []),
        start=at(0),
        end=at(0, DAY + dt.timedelta(days=1)),
        now=now,
    )


def removed(verdicts: list[Verdict]) -> dict[int, Rule | None]:
    """Slot start hour -> rule, for the day's candidate slots (not the stretches around them)."""
    return {v.start.hour: v.rule for v in verdicts if v.rule is not Rule.WORKING_HOURS}


def test_without_rules_the_three_slots_are_offered() -> None:
    verdicts = why(BASE)
    assert removed(verdicts) == {9: None, 10: None, 11: None}
    # Outside the hours: midnight to 09:00 and noon to midnight.
    hours = [(v.start.hour, v.end.hour) for v in verdicts if v.rule is Rule.WORKING_HOURS]
    assert hours == [(0, 9), (12, 0)]
    assert all(v.host == "ann" for v in verdicts)


def test_working_hours_names_an_override_that_shortens_the_day() -> None:
    short = replace(BASE, overrides=(DateOverride(DAY, (TimeBlock(dt.time(9), dt.time(10, 30)),)),))
    verdicts = why(short)
    assert removed(verdicts) == {9: None}
    gaps = [(v.start, v.end) for v in verdicts if v.rule is Rule.WORKING_HOURS]
    assert (at(10), at(0, DAY + dt.timedelta(days=1))) in gaps  # 10:30 leaves no room for a slot


def test_time_off() -> None:
    verdicts = why(replace(BASE, time_off=(TimeOff(DAY, DAY, "dentist"),)))
    assert removed(verdicts) == {9: Rule.TIME_OFF, 10: Rule.TIME_OFF, 11: Rule.TIME_OFF}
    assert "dentist" in verdicts[1].detail


def test_busy() -> None:
    meeting = Busy(at(10), at(10) + dt.timedelta(minutes=20))
    verdicts = why(BASE, [meeting])
    assert removed(verdicts) == {9: None, 10: Rule.BUSY, 11: None}
    assert "Zoho Calendar event 2024-03-05 10:00-10:20 UTC" in verdicts[2].detail


def test_all_day_event_is_busy() -> None:
    assert set(removed(why(BASE, [Busy.all_day_event(DAY, DAY)])).values()) == {Rule.BUSY}


def test_buffer() -> None:
    # A booking ends at 11:00 sharp: 11:00 would be free, but 15 minutes before it is not.
    booking = Busy(at(10), at(11), BusySource.BOOKING)
    verdicts = why(replace(BASE, buffer_before=dt.timedelta(minutes=15)), [booking])
    assert removed(verdicts) == {9: None, 10: Rule.BUSY, 11: Rule.BUFFER}


def test_notice() -> None:
    now = at(9, DAY) + dt.timedelta(minutes=10)
    verdicts = why(replace(BASE, minimum_notice=dt.timedelta(minutes=60)), now=now)
    assert removed(verdicts) == {9: Rule.NOTICE, 10: Rule.NOTICE, 11: None}
    assert verdicts[1].detail == "starts in the past"
    assert "60 minutes" in verdicts[2].detail


def test_window() -> None:
    verdicts = why(replace(BASE, booking_window=BookingWindow(1)))  # today (Monday) only
    assert set(removed(verdicts).values()) == {Rule.WINDOW}


def test_daily_limit() -> None:
    booked = [Busy(at(15), at(16), BusySource.BOOKING)]  # outside hours, still counts
    verdicts = why(replace(BASE, max_bookings_per_day=1), booked)
    assert set(removed(verdicts).values()) == {Rule.DAILY_LIMIT}


def test_weekly_limit() -> None:
    monday = dt.date(2024, 3, 4)
    booked = [Busy(at(10, monday), at(11, monday), BusySource.HOLD)]
    verdicts = why(replace(BASE, max_bookings_per_week=1), booked)
    assert set(removed(verdicts).values()) == {Rule.WEEKLY_LIMIT}


def test_each_host_of_a_team_gets_its_own_verdicts() -> None:
    bo = Host("bo", BASE, [Busy(at(9), at(12))])
    ann = Host("ann", BASE)
    verdicts = explain([ann, bo], start=at(9), end=at(12), now=NOW)
    assert [(v.host, v.start.hour, v.rule) for v in verdicts] == [
        ("ann", 9, None),
        ("ann", 10, None),
        ("ann", 11, None),
        ("bo", 9, Rule.BUSY),
        ("bo", 10, Rule.BUSY),
        ("bo", 11, Rule.BUSY),
    ]
    assert verdicts[3].to_dict()["rule"] == "busy"


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        explain(Host("ann", BASE), start=at(9), end=at(9), now=NOW)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=80)
@given(scenarios())
def test_explain_offers_exactly_the_engines_slots(scenario: tuple) -> None:  # type: ignore[type-arg]
    schedule, busy, now, lo, hi = scenario
    verdicts = explain(Host("h", schedule, busy), start=lo, end=hi, now=now)
    offered = [(v.start, v.end) for v in verdicts if v.offered]
    engine = slots_between(schedule, busy, range_start=lo, range_end=hi, now=now)
    assert offered == [(s.start_utc, s.end_utc) for s in engine]
    assert all(v.detail for v in verdicts)
