"""Availability engine benchmark: 90 days of slots against 5,000 busy intervals.

Runs zohokit's interval sweep and a straightforward minute-by-minute baseline on the same
inputs, checks that both find exactly the same slots, and prints both times and the ratio.
Target: zohokit under 50 ms. ``minute_by_minute_slots`` is also the reference the property
tests compare the engine with (tests/availability/test_engine_properties.py).

Usage: ``python bench/slots.py``
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make `zohokit` and `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from zohokit.scheduling import Busy, BusySource, Schedule, Slot, slots_between

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
TARGET_MS = 50.0


def minute_by_minute_slots(
    schedule: Schedule,
    busy: Iterable[Busy],
    *,
    range_start: dt.datetime,
    range_end: dt.datetime,
    now: dt.datetime,
    booker_zone: str | None = None,
) -> list[Slot]:
    """The obvious way: look at every minute's wall clock, mark busy minutes, test each start.

    Same rules as ``slots_between`` (documented in docs/scheduling.md), stated per minute:
    a minute works when its wall-clock reading in the schedule's zone falls in a block of that
    reading's date; a run of working minutes on one date is a working interval; starts step
    by the interval from the run's first minute. Busy time must be whole minutes.
    """
    zone = schedule.zone
    booker = ZoneInfo(booker_zone) if booker_zone else zone
    duration = int(schedule.slot_duration.total_seconds()) // 60
    step = int(schedule.step.total_seconds()) // 60
    before = int(schedule.buffer_before.total_seconds()) // 60
    after = int(schedule.buffer_after.total_seconds()) // 60
    # Two days of margin before the range so every working run is seen from its start.
    first = int((range_start - EPOCH).total_seconds()) // 60 - 2 * 1440
    last = -(-int((range_end - EPOCH).total_seconds()) // 60) + 2 * 1440
    size = last - first

    busy_minute = bytearray(size)
    closed: set[dt.date] = set()
    per_day: Counter[dt.date] = Counter()
    per_week: Counter[tuple[int, int]] = Counter()
    for entry in busy:
        if entry.all_day:
            if schedule.all_day_events_block_day:
                closed.update(entry.all_day_dates())
            continue
        if entry.source in (BusySource.BOOKING, BusySource.HOLD):
            day = entry.start.astimezone(zone).date()
            per_day[day] += 1
            per_week[day.isocalendar()[:2]] += 1
        b0 = int((entry.start - entry.buffer_before - EPOCH).total_seconds()) // 60
        b1 = int((entry.end + entry.buffer_after - EPOCH).total_seconds()) // 60
        for m in range(max(b0, first), min(b1, last)):
            busy_minute[m - first] = 1

    today = now.astimezone(zone).date()
    last_day = schedule.booking_window.last_day(today) if schedule.booking_window else None

    def day_open(day: dt.date) -> bool:
        if day in closed or (last_day is not None and day > last_day):
            return False
        if schedule.max_bookings_per_day and per_day[day] >= schedule.max_bookings_per_day:
            return False
        limit = schedule.max_bookings_per_week
        return not (limit and per_week[day.isocalendar()[:2]] >= limit)

    working = bytearray(size)
    dates: list[dt.date] = []
    for i in range(size):
        local = (EPOCH + dt.timedelta(minutes=first + i)).astimezone(zone)
        day = local.date()
        dates.append(day)
        wall = local.time()
        if day_open(day) and any(b.contains_wall_time(wall) for b in schedule.hours_on(day)):
            working[i] = 1

    earliest = now + schedule.minimum_notice
    slots = []
    anchor = 0
    for i in range(size):
        if not working[i]:
            continue
        if i == 0 or not working[i - 1] or dates[i - 1] != dates[i]:
            anchor = i
        if (i - anchor) % step:
            continue
        start = EPOCH + dt.timedelta(minutes=first + i)
        if not (range_start <= start < range_end) or start < earliest:
            continue
        stays = i + duration <= size and all(
            working[j] and dates[j] == dates[i] for j in range(i, i + duration)
        )
        free = not any(busy_minute[max(j, 0)] for j in range(i - before, i + duration + after))
        if stays and free:
            end = start + dt.timedelta(minutes=duration)
            slots.append(Slot(start, end, start.astimezone(booker), end.astimezone(booker)))
    return slots


def bench_inputs(seed: int = 5) -> tuple[Schedule, list[Busy], dt.datetime, dt.datetime]:
    """A busy Berlin schedule over 90 days (a DST change inside) and 5,000 busy entries."""
    rng = random.Random(seed)
    schedule = Schedule.from_dict(
        {
            "time_zone": "Europe/Berlin",
            "duration_minutes": 30,
            "interval_minutes": 15,
            "buffer_before_minutes": 5,
            "buffer_after_minutes": 10,
            "minimum_notice_minutes": 120,
            "booking_window": {"days": 120, "kind": "calendar"},
            "max_bookings_per_day": 12,
            "weekly_hours": {
                "monday": ["09:00-12:00", "13:00-18:00"],
                "tuesday": ["09:00-12:00", "13:00-18:00"],
                "wednesday": ["08:00-20:00"],
                "thursday": ["09:00-12:00", "13:00-18:00"],
                "friday": ["09:00-15:00"],
                "saturday": ["10:00-14:00"],
            },
            "overrides": {"2025-04-18": [], "2025-04-17": ["09:00-12:00"]},
            "time_off": [{"first_day": "2025-05-12", "last_day": "2025-05-16"}],
        }
    )
    now = dt.datetime(2025, 3, 3, 7, 13, tzinfo=UTC)
    range_end = now + dt.timedelta(days=90)
    busy: list[Busy] = []
    span = int((range_end - now).total_seconds()) // 60
    sources = [BusySource.ZOHO] * 38 + [BusySource.BOOKING, BusySource.HOLD]
    while len(busy) < 4_990:
        start = now + dt.timedelta(minutes=rng.randrange(span))
        end = start + dt.timedelta(minutes=rng.choice((5, 10, 15, 20, 30)))
        source = rng.choice(sources)
        # Own bookings keep the buffer they were booked with; it stacks with the schedule's.
        pad = dt.timedelta(minutes=10 if source is BusySource.BOOKING else 0)
        busy.append(Busy(start, end, source, buffer_after=pad))
    for _ in range(10):
        day = (now + dt.timedelta(days=rng.randrange(90))).date()
        busy.append(Busy.all_day_event(day, day))
    return schedule, busy, now, range_end


def main() -> int:
    """Run both, compare, print the times; exit 1 if they disagree."""
    from zohokit.availability._wallclock import _wall_range_to_utc

    schedule, busy, now, range_end = bench_inputs()
    runs = []
    for _ in range(7):
        _wall_range_to_utc.cache_clear()  # time a cold engine, as a fresh process would see
        t0 = time.perf_counter()
        ours = slots_between(schedule, busy, range_start=now, range_end=range_end, now=now)
        runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    baseline = minute_by_minute_slots(schedule, busy, range_start=now, range_end=range_end, now=now)
    base_time = time.perf_counter() - t0

    ours_ms = statistics.median(runs) * 1000
    base_ms = base_time * 1000
    print(f"90 days, {len(busy)} busy intervals, {len(ours)} slots found")
    print(f"zohokit interval sweep : {ours_ms:8.1f} ms (median of {len(runs)})")
    print(f"minute-by-minute       : {base_ms:8.1f} ms")
    print(f"ratio                  : {base_ms / ours_ms:8.1f}x faster")
    print(f"target < {TARGET_MS:.0f} ms          : {'met' if ours_ms < TARGET_MS else 'MISSED'}")
    if ours != baseline:
        print(f"DISAGREE: engine {len(ours)} slots, baseline {len(baseline)} slots")
        return 1
    print("results agree: identical slot lists")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
