"""The availability engine: a schedule, busy time and "now" in; bookable slots out.

Pure: no clock, no I/O, no globals. The work is an interval sweep:

1. Every busy entry becomes the open range of slot *starts* it forbids, widened by its own
   buffers, the slot's duration and the schedule's buffers; the ranges are sorted and merged.
2. Each local date in range gets its working intervals as exact UTC instants (see
   ``_wallclock``), unless time off, an all-day event or a booking limit closes it.
3. Inside each working interval, starts walk the grid (``slot_interval`` from the interval's
   start); a start that falls in a forbidden range jumps straight past it (``bisect``), so
   the cost is proportional to slots plus busy entries, never to minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from zohokit.availability._busy import Busy, BusySource, Slot
from zohokit.availability._schedule import Schedule
from zohokit.availability._tz import load_zone
from zohokit.availability._wallclock import (
    dates_to_range,
    day_intervals,
    instant,
    to_epoch_ceil,
    zone_timeline,
)

__all__ = [
    "available_slots",
    "candidate_days",
    "free_starts",
    "is_bookable",
    "make_slot",
    "slots_between",
]

_ONE_DAY = dt.timedelta(days=1)
_COUNTED = (BusySource.BOOKING, BusySource.HOLD)


def _seconds(delta: dt.timedelta) -> int:
    return int(delta.total_seconds())


def _require_aware(name: str, moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _zone(value: str | ZoneInfo | None, default: ZoneInfo) -> ZoneInfo:
    if value is None:
        return default
    return load_zone(value)


def available_slots(
    schedule: Schedule,
    busy: Iterable[Busy],
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    booker_zone: str | ZoneInfo | None = None,
) -> list[Slot]:
    """Bookable slots starting on the booker's local dates ``start`` to ``end`` inclusive.

    ``booker_zone`` (default: the schedule's zone) decides both which instants those dates
    cover and the zone of each slot's ``local_start``/``local_end``. ``now`` must be aware.
    """
    zone = _zone(booker_zone, schedule.zone)
    covered = dates_to_range(zone, start, end)
    if covered is None:
        return []
    return slots_between(
        schedule, busy, range_start=covered[0], range_end=covered[1], now=now, booker_zone=zone
    )


def slots_between(
    schedule: Schedule,
    busy: Iterable[Busy],
    *,
    range_start: dt.datetime,
    range_end: dt.datetime,
    now: dt.datetime,
    booker_zone: str | ZoneInfo | None = None,
) -> list[Slot]:
    """Bookable slots whose start lies in ``[range_start, range_end)`` (aware datetimes).

    Sorted by start. Every slot lies inside the schedule's working hours, on the start grid,
    at least ``minimum_notice`` after ``now``, inside the booking window, and no busy entry
    (widened by its buffers) touches the slot widened by the schedule's buffers.
    """
    starts = free_starts(schedule, busy, range_start=range_start, range_end=range_end, now=now)
    booker = _zone(booker_zone, schedule.zone)
    return [make_slot(s, _seconds(schedule.slot_duration), booker) for s in starts]


def make_slot(start: int, duration: int, booker: ZoneInfo) -> Slot:
    """The :class:`Slot` of epoch second ``start`` lasting ``duration`` seconds."""
    begin, finish = instant(start, booker), instant(start + duration, booker)
    return Slot(begin[0], finish[0], begin[1], finish[1])


def free_starts(
    schedule: Schedule,
    busy: Iterable[Busy],
    *,
    range_start: dt.datetime,
    range_end: dt.datetime,
    now: dt.datetime,
) -> list[int]:
    """The starts (epoch seconds, sorted) of :func:`slots_between`'s slots.

    The engine's core, shared with the team engine: comparing plain integers across hosts
    costs far less than building a slot object per host and start.
    """
    for name, moment in (("range_start", range_start), ("range_end", range_end), ("now", now)):
        _require_aware(name, moment)
    zone = schedule.zone
    duration = _seconds(schedule.slot_duration)
    step = _seconds(schedule.step)

    earliest = max(to_epoch_ceil(now + schedule.minimum_notice), to_epoch_ceil(range_start))
    stop = to_epoch_ceil(range_end)  # starts must be < stop
    if earliest >= stop:
        return []

    # Busy time is kept in seconds after ``earliest``: a 90-day span fits in one machine
    # digit, so sorting and bisecting compare small ints, which CPython does fastest.
    los, his, closed, per_day, per_week = _digest_busy(schedule, busy, duration, earliest)

    starts: list[int] = []
    days = list(candidate_days(schedule, range_start, range_end, now))
    if not days:
        return starts
    timeline = zone_timeline(zone, days[0], days[-1])
    for day in days:
        if not _is_closed(schedule, day, closed, per_day, per_week):
            for w0, w1 in day_intervals(zone, day, schedule.hours_on(day), timeline):
                _grid_starts(w0, w1, duration, step, earliest, stop, los, his, starts)
    starts.sort()
    return starts


def candidate_days(
    schedule: Schedule, range_start: dt.datetime, range_end: dt.datetime, now: dt.datetime
) -> Iterable[dt.date]:
    """The schedule's local dates that may hold a start in the range, up to the window's end."""
    zone = schedule.zone
    today = now.astimezone(zone).date()
    last_day = range_end.astimezone(zone).date() + _ONE_DAY
    if schedule.booking_window is not None:
        last_day = min(last_day, schedule.booking_window.last_day(today))
    # One date of slack on each side: a zone whose clocks go back at midnight shows the
    # same wall date on both sides of an instant.
    day = max(range_start.astimezone(zone).date(), today) - _ONE_DAY
    while day <= last_day:
        yield day
        day += _ONE_DAY


def is_bookable(
    schedule: Schedule, busy: Iterable[Busy], *, start: dt.datetime, now: dt.datetime
) -> bool:
    """Whether a slot starting exactly at ``start`` is offered (the check before confirming).

    Pass the busy time *without* the hold being confirmed, or it blocks itself.
    """
    _require_aware("start", start)
    slots = slots_between(
        schedule, busy, range_start=start, range_end=start + dt.timedelta(seconds=1), now=now
    )
    return any(slot.start_utc == start for slot in slots)


def _digest_busy(
    schedule: Schedule, busy: Iterable[Busy], duration: int, base: int
) -> tuple[list[int], list[int], set[dt.date], Counter[dt.date], Counter[tuple[int, int]]]:
    """Merged forbidden start ranges (seconds after ``base``), dates closed by all-day
    events, and booking counts."""
    zone = schedule.zone
    before = _seconds(schedule.buffer_before)
    after = _seconds(schedule.buffer_after)
    closed: set[dt.date] = set()
    per_day: Counter[dt.date] = Counter()
    per_week: Counter[tuple[int, int]] = Counter()
    ranges: list[tuple[int, int]] = []
    add = ranges.append
    widen_lo, widen_hi = duration + after, before
    count_bookings = (
        schedule.max_bookings_per_day is not None or schedule.max_bookings_per_week is not None
    )
    # timestamp() is one C call and exact for the whole seconds and microseconds it holds
    # (it is (moment - EPOCH).total_seconds()); less a whole number of seconds, floor and
    # ceil give to_epoch_floor/ceil's answers. Ten hosts bring thousands of entries each.
    origin = float(base)
    floor = math.floor
    for entry in busy:
        if entry.all_day:
            if schedule.all_day_events_block_day:
                closed.update(entry.all_day_dates())
            continue
        if count_bookings and entry.source in _COUNTED:
            local_day = entry.start.astimezone(zone).date()
            per_day[local_day] += 1
            year, week, _ = local_day.isocalendar()
            per_week[(year, week)] += 1
        start, end = entry.start, entry.end
        if entry.buffer_before:
            start -= entry.buffer_before
        if entry.buffer_after:
            end += entry.buffer_after
        b0 = floor(start.timestamp() - origin)
        b1 = -floor(origin - end.timestamp())  # the ceiling
        if b1 > b0:  # zero-length busy time blocks nothing
            # A start s conflicts when [s - before, s + duration + after) meets [b0, b1),
            # i.e. when b0 - duration - after < s < b1 + before (an open range).
            add((b0 - widen_lo, b1 + widen_hi))
    ranges.sort()
    los: list[int] = []
    his: list[int] = []
    top: int | None = None  # the end of the range being merged
    for lo, hi in ranges:
        # Open ranges that only touch (lo == previous hi) leave that one start free.
        if top is not None and lo < top:
            if hi > top:
                top = hi
        else:
            if top is not None:
                his.append(top)
            los.append(lo)
            top = hi
    if top is not None:
        his.append(top)
    return los, his, closed, per_day, per_week


def _is_closed(
    schedule: Schedule,
    day: dt.date,
    closed: set[dt.date],
    per_day: Counter[dt.date],
    per_week: Counter[tuple[int, int]],
) -> bool:
    if day in closed:
        return True
    if schedule.max_bookings_per_day is not None and (
        per_day[day] >= schedule.max_bookings_per_day
    ):
        return True
    if schedule.max_bookings_per_week is not None:
        year, week, _ = day.isocalendar()
        if per_week[(year, week)] >= schedule.max_bookings_per_week:
            return True
    return False


def _grid_starts(
    w0: int,
    w1: int,
    duration: int,
    step: int,
    earliest: int,
    stop: int,
    los: list[int],
    his: list[int],
    out: list[int],
) -> None:
    """Append the free grid starts of one working interval ``[w0, w1)`` to ``out``.

    ``los``/``his`` count seconds after ``earliest`` (see :func:`_digest_busy`).
    """
    last = min(w1 - duration, stop - 1)
    s = w0 if earliest <= w0 else w0 + -(-(earliest - w0) // step) * step
    while s <= last:
        i = bisect_left(los, s - earliest) - 1  # the only range that can contain s: last lo < s
        if i >= 0 and s - earliest < his[i]:
            s = w0 + -(-(his[i] + earliest - w0) // step) * step  # next grid point at or after hi
            continue
        out.append(s)
        s += step
