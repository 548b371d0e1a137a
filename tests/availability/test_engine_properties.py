"""Properties every answer of the availability engine must have, on random schedules.

Each property is checked with its own plain computation (wall clocks read per instant with
zoneinfo), not with the engine's interval code, and the whole answer is compared with the
minute-by-minute baseline of bench/slots.py, which finds the same slots the slow way.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from bench.slots import minute_by_minute_slots
from hypothesis import HealthCheck, given, settings

from tests.availability.strategies import scenarios
from zohokit.scheduling import Busy, BusySource, Schedule, Slot, TimeBlock, slots_between

Scenario = tuple[Schedule, list[Busy], dt.datetime, dt.datetime, dt.datetime]
FIVE_MINUTES = dt.timedelta(minutes=5)

# Per test, not a global profile, so other test modules keep their own settings.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(scenario: Scenario) -> list[Slot]:
    schedule, busy, now, range_start, range_end = scenario
    return slots_between(schedule, busy, range_start=range_start, range_end=range_end, now=now)


def closed_days(schedule: Schedule, busy: list[Busy]) -> set[dt.date]:
    if not schedule.all_day_events_block_day:
        return set()
    return {day for b in busy if b.all_day for day in b.all_day_dates()}


def block_for(schedule: Schedule, moment: dt.datetime) -> TimeBlock | None:
    local = moment.astimezone(schedule.zone)
    for block in schedule.hours_on(local.date()):
        if block.contains_wall_time(local.time()):
            return block
    return None


@relaxed
@given(scenarios())
def test_no_slot_touches_busy_time_or_its_buffers(scenario: Scenario) -> None:
    schedule, busy, *_ = scenario
    for slot in run(scenario):
        guarded_start = slot.start_utc - schedule.buffer_before
        guarded_end = slot.end_utc + schedule.buffer_after
        for b in busy:
            if b.all_day:
                continue
            busy_start, busy_end = b.start - b.buffer_before, b.end + b.buffer_after
            overlaps = guarded_start < busy_end and busy_start < guarded_end
            assert not overlaps or busy_start == busy_end, (slot, b)


@relaxed
@given(scenarios())
def test_every_slot_lies_inside_working_hours_in_the_schedule_zone(scenario: Scenario) -> None:
    schedule, busy, *_ = scenario
    closed = closed_days(schedule, busy)
    for slot in run(scenario):
        # Blocks and DST changes sit on whole 15 minutes, so 5-minute steps see every edge.
        moment = slot.start_utc
        start_day = slot.start_utc.astimezone(schedule.zone).date()
        while moment < slot.end_utc:
            local = moment.astimezone(schedule.zone)
            assert local.date() == start_day, slot  # a slot never spans two dates
            assert local.date() not in closed
            assert block_for(schedule, moment) is not None, (slot, local)
            moment += FIVE_MINUTES
        assert block_for(schedule, slot.end_utc - dt.timedelta(seconds=1)) is not None


@relaxed
@given(scenarios())
def test_minimum_notice_and_booking_window_hold(scenario: Scenario) -> None:
    schedule, _busy, now, range_start, range_end = scenario
    today = now.astimezone(schedule.zone).date()
    for slot in run(scenario):
        assert slot.start_utc >= now + schedule.minimum_notice
        assert range_start <= slot.start_utc < range_end
        window = schedule.booking_window
        if window is None:
            continue
        day = slot.start_utc.astimezone(schedule.zone).date()
        span = [today + dt.timedelta(days=i) for i in range((day - today).days + 1)]
        if window.kind == "calendar":
            assert len(span) <= window.days
        else:
            assert sum(d.weekday() < 5 for d in span) <= window.days
            assert day.weekday() < 5 or sum(d.weekday() < 5 for d in span) < window.days


@relaxed
@given(scenarios())
def test_starts_sit_on_the_grid_of_their_block(scenario: Scenario) -> None:
    schedule = scenario[0]
    zone = schedule.zone
    step = int(schedule.step.total_seconds()) // 60
    for slot in run(scenario):
        local = slot.start_utc.astimezone(zone)
        day = local.date()
        midnight_offsets = {
            dt.datetime.combine(d, dt.time(0), zone).utcoffset()
            for d in (day, day + dt.timedelta(days=1))
        }
        if len(midnight_offsets) > 1:
            continue  # a DST day: the named tests pin those grids down
        # Touching blocks form one working run, and the grid starts at the run's start.
        runs: list[list[int]] = []
        for block in schedule.hours_on(day):
            a = block.start.hour * 60 + block.start.minute
            b = 1440 if block.ends_at_midnight else block.end.hour * 60 + block.end.minute
            if runs and runs[-1][1] == a:
                runs[-1][1] = b
            else:
                runs.append([a, b])
        minute = local.hour * 60 + local.minute
        anchor = next(a for a, b in runs if a <= minute < b)
        assert (minute - anchor) % step == 0, (slot, anchor)


@relaxed
@given(scenarios())
def test_booking_limits_close_full_days_and_weeks(scenario: Scenario) -> None:
    schedule, busy, *_ = scenario
    zone = schedule.zone
    counted = [
        b.start.astimezone(zone).date()
        for b in busy
        if b.source in (BusySource.BOOKING, BusySource.HOLD) and not b.all_day
    ]
    per_day = Counter(counted)
    per_week = Counter(d.isocalendar()[:2] for d in counted)
    for slot in run(scenario):
        day = slot.start_utc.astimezone(zone).date()
        if schedule.max_bookings_per_day is not None:
            assert per_day[day] < schedule.max_bookings_per_day
        if schedule.max_bookings_per_week is not None:
            assert per_week[day.isocalendar()[:2]] < schedule.max_bookings_per_week


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_engine_finds_exactly_the_slots_of_the_minute_by_minute_baseline(
    scenario: Scenario,
) -> None:
    schedule, busy, now, range_start, range_end = scenario
    expected = minute_by_minute_slots(
        schedule, busy, range_start=range_start, range_end=range_end, now=now
    )
    assert run(scenario) == expected


@relaxed
@given(scenarios())
def test_slots_are_sorted_distinct_and_shown_in_the_booker_zone(scenario: Scenario) -> None:
    schedule, busy, now, range_start, range_end = scenario
    slots = slots_between(
        schedule,
        busy,
        range_start=range_start,
        range_end=range_end,
        now=now,
        booker_zone="Asia/Kathmandu",
    )
    starts = [s.start_utc for s in slots]
    assert starts == sorted(set(starts))
    for slot in slots:
        assert slot.end_utc - slot.start_utc == schedule.slot_duration
        assert slot.local_start == slot.start_utc
        assert slot.local_start.utcoffset() == dt.timedelta(hours=5, minutes=45)
