"""Named cases from scheduling tools' bug trackers: DST days, odd offsets, midnight, all-day.

Each test states the slots a person would expect to see, as wall-clock times with offsets.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from zohokit.scheduling import (
    WEEKDAYS,
    Busy,
    BusySource,
    Schedule,
    Slot,
    available_slots,
    is_bookable,
    slots_between,
)

UTC = dt.UTC
LONG_AGO = dt.datetime(2024, 1, 1, tzinfo=UTC)


def schedule(zone: str, hours: dict[str, list[str]], **extra: object) -> Schedule:
    return Schedule.from_dict({"time_zone": zone, "weekly_hours": hours, **extra})


def every_day(*blocks: str) -> dict[str, list[str]]:
    return {day: list(blocks) for day in WEEKDAYS}


def shown(slots: list[Slot]) -> list[str]:
    """Slots as the booker sees them: local start with its UTC offset."""
    return [s.local_start.strftime("%H:%M%z") for s in slots]


def on(sched: Schedule, day: dt.date, busy: list[Busy] | None = None, **kw: object) -> list[Slot]:
    now = kw.pop("now", LONG_AGO)
    assert isinstance(now, dt.datetime)
    zone = kw.pop("booker_zone", None)
    assert zone is None or isinstance(zone, str)
    return available_slots(sched, busy or [], start=day, end=day, now=now, booker_zone=zone)


# --- daylight saving: Europe/Berlin (02:00 -> 03:00 on 31 March, 03:00 -> 02:00 on 27 October)


def test_berlin_spring_morning_block_loses_the_missing_hour() -> None:
    sched = schedule("Europe/Berlin", every_day("01:00-04:00"), duration_minutes=60)
    assert shown(on(sched, dt.date(2024, 3, 31))) == ["01:00+0100", "03:00+0200"]


def test_berlin_spring_block_starting_inside_the_gap_starts_when_the_gap_ends() -> None:
    sched = schedule("Europe/Berlin", every_day("02:30-05:00"), duration_minutes=30)
    slots = on(sched, dt.date(2024, 3, 31))
    assert shown(slots) == ["03:00+0200", "03:30+0200", "04:00+0200", "04:30+0200"]
    assert slots[0].start_utc == dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


def test_berlin_spring_evening_block_keeps_its_wall_clock_times() -> None:
    sched = schedule("Europe/Berlin", every_day("18:00-20:00"), duration_minutes=60)
    before = on(sched, dt.date(2024, 3, 30))
    after = on(sched, dt.date(2024, 3, 31))
    assert shown(before) == ["18:00+0100", "19:00+0100"]
    assert shown(after) == ["18:00+0200", "19:00+0200"]
    assert [s.start_utc.hour for s in before] == [17, 18]
    assert [s.start_utc.hour for s in after] == [16, 17]


def test_berlin_autumn_morning_block_offers_the_repeated_hour_twice() -> None:
    sched = schedule("Europe/Berlin", every_day("01:00-04:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 10, 27))
    assert shown(slots) == ["01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100"]
    assert slots[-1].end_utc - slots[0].start_utc == dt.timedelta(hours=4)


def test_berlin_autumn_evening_block_moves_one_hour_in_utc() -> None:
    sched = schedule("Europe/Berlin", every_day("17:00-18:00"), duration_minutes=60)
    assert [s.start_utc.hour for s in on(sched, dt.date(2024, 10, 26))] == [15]
    assert [s.start_utc.hour for s in on(sched, dt.date(2024, 10, 27))] == [16]


# --- daylight saving: America/New_York (10 March 2024 spring, 3 November 2024 autumn)


def test_new_york_spring_morning_block_skips_two_oclock() -> None:
    sched = schedule("America/New_York", every_day("00:00-04:00"), duration_minutes=60)
    assert shown(on(sched, dt.date(2024, 3, 10))) == ["00:00-0500", "01:00-0500", "03:00-0400"]


def test_new_york_spring_evening_block_in_the_new_offset() -> None:
    sched = schedule("America/New_York", every_day("17:00-19:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 3, 10))
    assert shown(slots) == ["17:00-0400", "18:00-0400"]
    assert slots[0].start_utc == dt.datetime(2024, 3, 10, 21, 0, tzinfo=UTC)


def test_new_york_autumn_block_ending_inside_the_fold_covers_both_passes() -> None:
    # 00:00-01:30 happens as 00:00-01:30 EDT and again as 01:00-01:30 EST.
    sched = schedule("America/New_York", every_day("00:00-01:30"), duration_minutes=30)
    slots = on(sched, dt.date(2024, 11, 3))
    assert shown(slots) == ["00:00-0400", "00:30-0400", "01:00-0400", "01:00-0500"]
    # No slot covers 01:30-02:00 EDT: that wall time is outside the block.
    assert dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC) not in [s.start_utc for s in slots]


def test_new_york_autumn_evening_block_and_a_booker_in_berlin() -> None:
    sched = schedule("America/New_York", every_day("17:00-18:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 11, 3), booker_zone="Europe/Berlin")
    # 17:00 EST is 22:00 UTC, which is 23:00 in Berlin (already on winter time).
    assert shown(slots) == ["23:00+0100"]
    assert slots[0].start_utc == dt.datetime(2024, 11, 3, 22, 0, tzinfo=UTC)


def test_booker_dates_decide_the_range_not_the_schedule_dates() -> None:
    # A New York evening is the next morning in Kolkata: asking for Kolkata's 4 November
    # returns New York's 3 November evening.
    sched = schedule("America/New_York", every_day("17:00-18:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 11, 4), booker_zone="Asia/Kolkata")
    assert shown(slots) == ["03:30+0530"]
    assert slots[0].local_start.date() == dt.date(2024, 11, 4)


# --- half-hour offsets


def test_kolkata_schedule_lands_on_half_hours_in_utc() -> None:
    sched = schedule("Asia/Kolkata", every_day("09:00-11:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 6, 10))
    assert shown(slots) == ["09:00+0530", "10:00+0530"]
    assert [s.start_utc.strftime("%H:%M") for s in slots] == ["03:30", "04:30"]


def test_adelaide_spring_forward_gap() -> None:
    # Adelaide goes from +09:30 to +10:30 at 02:00 on 6 October 2024.
    sched = schedule("Australia/Adelaide", every_day("01:00-04:00"), duration_minutes=60)
    assert shown(on(sched, dt.date(2024, 10, 6))) == ["01:00+0930", "03:00+1030"]


def test_adelaide_autumn_fold() -> None:
    # Adelaide goes back from +10:30 to +09:30 at 03:00 on 7 April 2024.
    sched = schedule("Australia/Adelaide", every_day("01:00-04:00"), duration_minutes=60)
    assert shown(on(sched, dt.date(2024, 4, 7))) == [
        "01:00+1030",
        "02:00+1030",
        "02:00+0930",
        "03:00+0930",
    ]


def test_adelaide_morning_is_the_previous_day_in_utc() -> None:
    sched = schedule("Australia/Adelaide", every_day("09:00-10:00"), duration_minutes=60)
    (slot,) = on(sched, dt.date(2024, 6, 10))
    assert slot.start_utc == dt.datetime(2024, 6, 9, 23, 30, tzinfo=UTC)


# --- midnight and 23:59


def test_block_ending_at_midnight_offers_its_last_hour() -> None:
    sched = schedule("Europe/Berlin", every_day("22:00-24:00"), duration_minutes=60)
    slots = on(sched, dt.date(2024, 6, 10))
    assert shown(slots) == ["22:00+0200", "23:00+0200"]
    assert slots[-1].local_end == dt.datetime(2024, 6, 11, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_block_ending_at_2359_cannot_hold_a_slot_ending_at_midnight() -> None:
    sched = schedule("Europe/Berlin", every_day("22:00-23:59"), duration_minutes=60)
    assert shown(on(sched, dt.date(2024, 6, 10))) == ["22:00+0200"]


def test_no_slot_spans_midnight_between_two_days_blocks() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("00:00-01:00", "22:00-24:00"),
        duration_minutes=60,
        interval_minutes=30,
    )
    slots = available_slots(
        sched, [], start=dt.date(2024, 6, 10), end=dt.date(2024, 6, 11), now=LONG_AGO
    )
    assert shown(slots) == [
        "00:00+0200", "22:00+0200", "22:30+0200", "23:00+0200", "00:00+0200", "22:00+0200",
        "22:30+0200", "23:00+0200",
    ]  # fmt: skip


def test_whole_day_block_in_a_dst_change_day_is_23_hours() -> None:
    sched = schedule("America/New_York", every_day("00:00-24:00"), duration_minutes=60)
    assert len(on(sched, dt.date(2024, 3, 10))) == 23
    assert len(on(sched, dt.date(2024, 11, 3))) == 25
    assert len(on(sched, dt.date(2024, 6, 10))) == 24


# --- all-day events


def test_all_day_event_closes_the_whole_local_day_when_the_setting_is_on() -> None:
    sched = schedule("Asia/Kolkata", every_day("03:00-05:00", "20:00-22:00"), duration_minutes=60)
    holiday = [Busy.all_day_event(dt.date(2024, 6, 10), dt.date(2024, 6, 10))]
    assert on(sched, dt.date(2024, 6, 10), holiday) == []
    # The day before and after are untouched, although UTC midnight falls at 05:30 local.
    assert len(on(sched, dt.date(2024, 6, 9), holiday)) == 4
    assert len(on(sched, dt.date(2024, 6, 11), holiday)) == 4


def test_all_day_event_is_ignored_when_the_setting_is_off() -> None:
    sched = schedule(
        "Asia/Kolkata",
        every_day("09:00-11:00"),
        duration_minutes=60,
        all_day_events_block_day=False,
    )
    holiday = [Busy.all_day_event(dt.date(2024, 6, 10), dt.date(2024, 6, 12))]
    assert shown(on(sched, dt.date(2024, 6, 11), holiday)) == ["09:00+0530", "10:00+0530"]


def test_multi_day_all_day_event_closes_every_date_it_covers() -> None:
    sched = schedule("Europe/Berlin", every_day("09:00-10:00"), duration_minutes=60)
    trip = [Busy.all_day_event(dt.date(2024, 6, 10), dt.date(2024, 6, 12))]
    slots = available_slots(
        sched, trip, start=dt.date(2024, 6, 9), end=dt.date(2024, 6, 13), now=LONG_AGO
    )
    assert [s.local_start.day for s in slots] == [9, 13]


# --- recurring events, as free/busy returns them (one busy interval per occurrence)


def test_weekly_recurring_meeting_across_a_dst_change_blocks_its_local_hour() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    mondays = [dt.date(2024, 3, 18) + dt.timedelta(weeks=i) for i in range(4)]
    # Zoho expands the series in the organiser's zone and returns UTC instants:
    # 09:00 UTC before the change, 08:00 UTC after it, both 10:00 in Berlin.
    meetings = [
        Busy(
            dt.datetime.combine(day, dt.time(10), berlin).astimezone(UTC),
            dt.datetime.combine(day, dt.time(11), berlin).astimezone(UTC),
        )
        for day in mondays
    ]
    assert {m.start.hour for m in meetings} == {8, 9}
    sched = schedule("Europe/Berlin", {"monday": ["09:00-12:00"]}, duration_minutes=60)
    slots = available_slots(sched, meetings, start=mondays[0], end=mondays[-1], now=LONG_AGO)
    assert [s.local_start.strftime("%m-%d %H:%M") for s in slots] == [
        f"{d:%m-%d} {h}" for d in mondays for h in ("09:00", "11:00")
    ]


def test_daily_recurring_standup_blocks_every_day() -> None:
    standups = [
        Busy(
            dt.datetime(2024, 6, 10 + i, 7, 0, tzinfo=UTC),
            dt.datetime(2024, 6, 10 + i, 7, 15, tzinfo=UTC),
        )
        for i in range(5)
    ]
    sched = schedule("Europe/Berlin", every_day("09:00-10:00"), duration_minutes=30)
    slots = available_slots(
        sched, standups, start=dt.date(2024, 6, 10), end=dt.date(2024, 6, 14), now=LONG_AGO
    )
    assert set(shown(slots)) == {"09:30+0200"}
    assert len(slots) == 5


# --- buffers, notice, window, overrides, time off, limits


def test_buffers_stack_with_an_existing_bookings_own_buffer() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-13:00"),
        duration_minutes=30,
        interval_minutes=5,
        buffer_before_minutes=10,
        buffer_after_minutes=5,
    )
    berlin = ZoneInfo("Europe/Berlin")
    booking = Busy(
        dt.datetime(2024, 6, 10, 10, 0, tzinfo=berlin),
        dt.datetime(2024, 6, 10, 11, 0, tzinfo=berlin),
        BusySource.BOOKING,
        buffer_before=dt.timedelta(minutes=20),
        buffer_after=dt.timedelta(minutes=15),
    )
    starts = shown(on(sched, dt.date(2024, 6, 10), [booking]))
    # Before: slot end + 5 min after-buffer must not reach 09:40 (10:00 - 20 min).
    assert [s for s in starts if s < "10"][-1] == "09:05+0200"
    # After: 11:00 + 15 min booking buffer + 10 min slot buffer = 11:25.
    assert "11:20+0200" not in starts
    assert "11:25+0200" in starts


def test_minimum_notice_moves_the_first_slot_to_the_next_grid_point() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-12:00"),
        duration_minutes=30,
        interval_minutes=15,
        minimum_notice_minutes=60,
    )
    now = dt.datetime(2024, 6, 10, 9, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    assert shown(on(sched, dt.date(2024, 6, 10), now=now))[0] == "10:15+0200"


def test_business_day_window_asked_on_friday_reaches_monday() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-10:00"),
        duration_minutes=60,
        booking_window={"days": 2, "kind": "business"},
    )
    friday = dt.datetime(2024, 6, 14, 6, 0, tzinfo=UTC)
    slots = available_slots(
        sched, [], start=dt.date(2024, 6, 14), end=dt.date(2024, 6, 30), now=friday
    )
    assert [s.local_start.strftime("%a %d") for s in slots] == [
        "Fri 14",
        "Sat 15",
        "Sun 16",
        "Mon 17",
    ]


def test_calendar_day_window_counts_today() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-10:00"),
        duration_minutes=60,
        booking_window={"days": 3},
    )
    now = dt.datetime(2024, 6, 14, 6, 0, tzinfo=UTC)
    slots = available_slots(sched, [], start=dt.date(2024, 6, 1), end=dt.date(2024, 6, 30), now=now)
    assert [s.local_start.day for s in slots] == [14, 15, 16]


def test_overrides_replace_or_close_a_day_and_time_off_closes_a_range() -> None:
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-10:00"),
        duration_minutes=60,
        overrides={"2024-06-11": ["14:00-15:00", "16:00-17:00"], "2024-06-12": []},
        time_off=[{"first_day": "2024-06-14", "last_day": "2024-06-15", "reason": "trip"}],
    )
    slots = available_slots(
        sched, [], start=dt.date(2024, 6, 10), end=dt.date(2024, 6, 16), now=LONG_AGO
    )
    assert [s.local_start.strftime("%d %H") for s in slots] == [
        "10 09", "11 14", "11 16", "13 09", "16 09",
    ]  # fmt: skip


def test_booking_limits_close_the_day_and_then_the_week() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    sched = schedule(
        "Europe/Berlin",
        every_day("09:00-12:00"),
        duration_minutes=60,
        max_bookings_per_day=2,
        max_bookings_per_week=3,
    )

    def booking(day: int, hour: int, source: BusySource = BusySource.BOOKING) -> Busy:
        start = dt.datetime(2024, 6, day, hour, tzinfo=berlin)
        return Busy(start, start + dt.timedelta(hours=1), source)

    monday_full = [booking(10, 9), booking(10, 10, BusySource.HOLD)]
    days = {s.local_start.day for s in on(sched, dt.date(2024, 6, 10), monday_full)}
    assert days == set()
    # Zoho busy time does not count towards the limits.
    zoho = [booking(10, 9), booking(10, 10, BusySource.ZOHO)]
    assert shown(on(sched, dt.date(2024, 6, 10), zoho)) == ["11:00+0200"]
    # A third booking on Tuesday fills the week: nothing until next Monday.
    week_full = [*monday_full, booking(11, 9)]
    slots = available_slots(
        sched, week_full, start=dt.date(2024, 6, 10), end=dt.date(2024, 6, 17), now=LONG_AGO
    )
    assert {s.local_start.day for s in slots} == {17}


# --- the confirm-time check and input errors


def test_is_bookable_accepts_offered_slots_only() -> None:
    sched = schedule("Europe/Berlin", every_day("09:00-12:00"), duration_minutes=60)
    berlin = ZoneInfo("Europe/Berlin")
    nine = dt.datetime(2024, 6, 10, 9, 0, tzinfo=berlin)
    assert is_bookable(sched, [], start=nine, now=LONG_AGO)
    assert not is_bookable(sched, [], start=nine + dt.timedelta(minutes=30), now=LONG_AGO)
    assert is_bookable(sched, [], start=nine, now=nine)  # starting right now is still offered
    assert not is_bookable(sched, [], start=nine, now=nine + dt.timedelta(minutes=1))
    hold = Busy(nine, nine + dt.timedelta(hours=1), BusySource.HOLD)
    assert not is_bookable(sched, [hold], start=nine, now=LONG_AGO)


def test_naive_datetimes_are_refused() -> None:
    sched = schedule("Europe/Berlin", every_day("09:00-12:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        slots_between(
            sched,
            [],
            range_start=dt.datetime(2024, 6, 10),
            range_end=dt.datetime(2024, 6, 11, tzinfo=UTC),
            now=LONG_AGO,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        Busy(dt.datetime(2024, 6, 10, 9), dt.datetime(2024, 6, 10, 10))


def test_a_day_the_zone_skipped_has_no_slots() -> None:
    # Samoa jumped from 29 to 31 December 2011: 30 December never happened there.
    sched = schedule("Pacific/Apia", every_day("09:00-17:00"), duration_minutes=60)
    now = dt.datetime(2011, 12, 1, tzinfo=UTC)
    assert on(sched, dt.date(2011, 12, 30), now=now) == []
    assert len(on(sched, dt.date(2011, 12, 31), now=now)) == 8


def test_busy_time_with_seconds_blocks_the_whole_slot_it_touches() -> None:
    # Free/busy from other tools can end at odd seconds; rounding must never free a taken slot.
    berlin = ZoneInfo("Europe/Berlin")
    sched = schedule("Europe/Berlin", every_day("09:00-11:00"), duration_minutes=60)
    busy = [
        Busy(
            dt.datetime(2024, 6, 10, 8, 0, tzinfo=berlin),
            dt.datetime(2024, 6, 10, 9, 0, 0, 500_000, tzinfo=berlin),
        )
    ]
    assert shown(on(sched, dt.date(2024, 6, 10), busy)) == ["10:00+0200"]
    busy = [Busy(busy[0].start, dt.datetime(2024, 6, 10, 9, 0, tzinfo=berlin))]
    assert shown(on(sched, dt.date(2024, 6, 10), busy)) == ["09:00+0200", "10:00+0200"]
