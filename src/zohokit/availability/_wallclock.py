"""Turn wall-clock ranges of one local date into exact UTC instants, gaps and folds included.

The rule, used everywhere in the engine: a block ``[start, end)`` of local date ``D`` covers
exactly the real instants whose wall-clock reading in the zone is at or after ``D start`` and
before ``D end``. Everything else follows from it:

* **Gap** (clocks jump forward, e.g. Berlin 02:00 -> 03:00): wall times inside the gap never
  happen, so a block 02:30-05:00 starts at the first real instant after the gap, 03:00 local;
  a block 01:00-04:00 lasts two real hours (01:00-02:00 and 03:00-04:00, back to back).
* **Fold** (clocks go back, e.g. New York 02:00 -> 01:00): wall times in the repeated hour
  happen twice and both count, so a block 00:00-03:00 lasts four real hours, and a block
  00:00-01:30 covers 00:00-01:30 EDT *and* 01:00-01:30 EST (two separate intervals).
* A date that a zone skipped entirely (Pacific/Apia, 2011-12-30) has no working time.

How: the UTC span around the date is cut into pieces of constant UTC offset (transitions found
by sampling the offset every few hours and bisecting to the second where it changes). Inside a
piece, wall time and UTC differ by one constant, so intersecting there is exact. Nothing here
adds minutes-since-midnight across zones: each instant is a concrete UTC second.
Two transitions closer together than the sampling step would be missed; no zone in the tz
database has that. For many dates at once, :class:`ZoneTimeline` finds the pieces once over
the whole span (same pieces, same answers) instead of around each range.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from functools import lru_cache
from zoneinfo import ZoneInfo

from zohokit.availability._schedule import TimeBlock

__all__ = [
    "EPOCH",
    "UTC",
    "ZoneTimeline",
    "clear_caches",
    "dates_to_range",
    "day_intervals",
    "from_epoch",
    "instant",
    "to_epoch_ceil",
    "to_epoch_floor",
    "wall_range_to_utc",
    "zone_timeline",
]

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_SAMPLE_STEP = 3 * 3600
# Wider than any UTC offset difference within a day, so the pieces always cover the span.
_PAD = 3 * 3600
_DAY = 86400
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

Interval = tuple[int, int]


def to_epoch_floor(moment: dt.datetime) -> int:
    """Whole epoch seconds at or before an aware datetime."""
    return math.floor((moment - EPOCH).total_seconds())


def to_epoch_ceil(moment: dt.datetime) -> int:
    """Whole epoch seconds at or after an aware datetime."""
    return math.ceil((moment - EPOCH).total_seconds())


def from_epoch(seconds: int) -> dt.datetime:
    """An aware UTC datetime for whole epoch seconds."""
    try:
        # One C call; equal to EPOCH + timedelta(seconds=...) for whole seconds.
        return dt.datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):  # outside the platform's time_t
        return EPOCH + dt.timedelta(seconds=seconds)


def instant(seconds: int, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Epoch second ``seconds`` in UTC and on ``zone``'s clock (what ``astimezone`` gives)."""
    try:
        return dt.datetime.fromtimestamp(seconds, UTC), dt.datetime.fromtimestamp(seconds, zone)
    except (OverflowError, OSError, ValueError):  # outside the platform's time_t
        moment = EPOCH + dt.timedelta(seconds=seconds)
        return moment, moment.astimezone(zone)


def _wall_seconds(naive: dt.datetime) -> int:
    # Seconds of a *wall-clock* reading counted as if it were UTC: only ever compared with
    # other wall readings of the same zone, or shifted by that zone's offset at one instant.
    return int((naive - _NAIVE_EPOCH).total_seconds())


def _offset_at(zone: ZoneInfo, utc_seconds: int) -> int:
    # fromtimestamp is one C call; the engine asks this for every block of every date.
    offset = dt.datetime.fromtimestamp(utc_seconds, zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _offset_pieces(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Cut ``[lo, hi)`` (UTC seconds) into ``(start, end, offset)`` pieces of constant offset."""
    samples = [*range(lo, hi, _SAMPLE_STEP), hi]
    at = dt.datetime.fromtimestamp
    # Compared as timedeltas: a 90-day timeline samples some 750 instants per zone.
    offsets = [at(t, zone).utcoffset() for t in samples]
    pieces: list[tuple[int, int, int]] = []
    piece_start, current = lo, _offset_at(zone, lo)
    if offsets.count(offsets[0]) == len(offsets):  # no transition: one piece
        return [(lo, hi, current)]
    for i in range(1, len(samples)):
        if offsets[i] == offsets[i - 1]:
            continue
        # Bisect for the first second with the new offset: the transition instant.
        a, b = samples[i - 1], samples[i]
        old = _offset_at(zone, a)
        while b - a > 1:
            mid = (a + b) // 2
            if _offset_at(zone, mid) == old:
                a = mid
            else:
                b = mid
        pieces.append((piece_start, b, current))
        piece_start, current = b, _offset_at(zone, samples[i])
    pieces.append((piece_start, hi, current))
    return pieces


def wall_range_to_utc(
    zone: ZoneInfo, wall_start: dt.datetime, wall_end: dt.datetime
) -> tuple[Interval, ...]:
    """UTC intervals of the instants whose wall-clock reading lies in ``[wall_start, wall_end)``.

    Both arguments are naive wall-clock datetimes in ``zone``. Adjacent intervals are merged;
    the result is sorted and usually holds one interval (two inside a fold).
    """
    return _wall_range_to_utc(zone, wall_start, wall_end)


def dates_to_range(
    zone: ZoneInfo, first: dt.date, last: dt.date
) -> tuple[dt.datetime, dt.datetime] | None:
    """The instants from ``first`` local midnight to the end of ``last`` (inclusive) in
    ``zone``, as aware UTC datetimes; ``None`` when the zone skipped every one of those dates.

    What "the booker's local dates ``start`` to ``end``" means for a slot search.
    """
    covered = wall_range_to_utc(
        zone,
        dt.datetime.combine(first, dt.time(0)),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0)),
    )
    if not covered:
        return None
    return from_epoch(covered[0][0]), from_epoch(covered[-1][1])


# Cached because a 90-day query asks the same few blocks of the same dates again and again;
# the answer is a tuple so no caller can change what the cache holds.
@lru_cache(maxsize=4096)
def _wall_range_to_utc(
    zone: ZoneInfo, wall_start: dt.datetime, wall_end: dt.datetime
) -> tuple[Interval, ...]:
    s, e = _wall_seconds(wall_start), _wall_seconds(wall_end)
    # The instant of a wall reading lies between "reading minus the largest offset" and
    # "reading minus the smallest"; fold=0/1 give the offsets in force around each end.
    # (timestamp() of a whole-second reading is exact: the instant in epoch seconds.)
    guesses = [
        math.floor(w.replace(fold=f, tzinfo=zone).timestamp())
        for w in (wall_start, wall_end)
        for f in (0, 1)
    ]
    lo, hi = min(guesses) - _PAD, max(guesses) + _PAD
    return tuple(_intersect(_offset_pieces(zone, lo, hi), s, e))


def _intersect(pieces: list[tuple[int, int, int]], s: int, e: int) -> list[Interval]:
    """The instants of ``pieces`` whose wall reading lies in ``[s, e)``, adjacent ones merged.

    Inside a piece wall time is UTC plus one constant, so the intersection is exact.
    """
    out: list[Interval] = []
    for p0, p1, offset in pieces:
        if p0 >= e + _DAY:
            break  # an offset is under a day: no later piece reaches back into the range
        u0 = s - offset if s - offset > p0 else p0
        u1 = e - offset if e - offset < p1 else p1
        if u0 >= u1:
            continue
        if out and out[-1][1] == u0:
            out[-1] = (out[-1][0], u1)
        else:
            out.append((u0, u1))
    return out


def day_intervals(
    zone: ZoneInfo,
    day: dt.date,
    blocks: tuple[TimeBlock, ...],
    timeline: ZoneTimeline | None = None,
) -> list[Interval]:
    """The UTC intervals (epoch seconds) covered by ``blocks`` on local date ``day``.

    Sorted, disjoint, and merged where two blocks (or a block across a gap) meet. A
    ``timeline`` of ``zone`` (see :class:`ZoneTimeline`) gives the same answer faster when
    many dates are asked.
    """
    pieces: list[Interval] = []
    if timeline is not None:
        base = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
        for block in blocks:
            begin, end = block.start, block.end
            s = base + begin.hour * 3600 + begin.minute * 60 + begin.second
            e = base + (
                _DAY if block.ends_at_midnight else end.hour * 3600 + end.minute * 60 + end.second
            )
            pieces.extend(timeline.wall_range(s, e))
    else:
        next_day = day + dt.timedelta(days=1)
        for block in blocks:
            wall_start = dt.datetime.combine(day, block.start)
            wall_end = dt.datetime.combine(next_day if block.ends_at_midnight else day, block.end)
            pieces.extend(_wall_range_to_utc(zone, wall_start, wall_end))
    if len(pieces) < 2:
        return pieces
    # Inside a fold two blocks interleave in UTC (each covers part of both passes of the
    # repeated hour), so merge only after sorting.
    pieces.sort()
    out: list[Interval] = []
    for u0, u1 in pieces:
        if out and u0 <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], u1))
        else:
            out.append((u0, u1))
    return out


class ZoneTimeline:
    """One zone's UTC offsets over a span of local dates, found once for many wall ranges.

    :func:`wall_range_to_utc` finds the offsets around each range it is asked; a 90-day
    query of ten hosts asks about two thousand ranges, so the engine finds each zone's
    transitions over the whole span once (:func:`zone_timeline`) and intersects each range
    with those pieces. Same rule, same answer: the pieces are the zone's real constant-offset
    stretches, and every instant whose wall reading lies in a range lies in a piece within a
    day of it (a UTC offset is always less than a day).
    """

    __slots__ = ("_los", "_pieces", "hi", "lo", "zone")

    def __init__(self, zone: ZoneInfo, first_day: dt.date, last_day: dt.date) -> None:
        self.zone = zone
        # Wall seconds of the span's dates, widened by a day each side for the offset.
        self.lo = (first_day.toordinal() - _EPOCH_ORDINAL - 1) * _DAY
        self.hi = (last_day.toordinal() - _EPOCH_ORDINAL + 2) * _DAY
        self._pieces = _offset_pieces(zone, self.lo, self.hi)
        self._los = [p0 for p0, _, _ in self._pieces]

    def wall_range(self, s: int, e: int) -> list[Interval]:
        """As :func:`wall_range_to_utc`, for wall seconds ``[s, e)`` (a wall reading counted
        as if it were UTC) of this timeline's zone."""
        if s - _DAY < self.lo or e + _DAY > self.hi:  # outside the span: ask the slow way
            wall = _NAIVE_EPOCH + dt.timedelta(seconds=s), _NAIVE_EPOCH + dt.timedelta(seconds=e)
            return list(_wall_range_to_utc(self.zone, *wall))
        i = max(bisect_right(self._los, s - _DAY) - 1, 0)
        return _intersect(self._pieces[i:], s, e)


@lru_cache(maxsize=256)
def zone_timeline(zone: ZoneInfo, first_day: dt.date, last_day: dt.date) -> ZoneTimeline:
    """The (cached) :class:`ZoneTimeline` of ``zone`` for local dates ``first_day`` to
    ``last_day``: the hosts of a team who share a zone and a window share one."""
    return ZoneTimeline(zone, first_day, last_day)


def clear_caches() -> None:
    """Forget every cached zone answer: what a fresh process sees (the benchmarks time that)."""
    _wall_range_to_utc.cache_clear()
    zone_timeline.cache_clear()
