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
database has that.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from zohokit.availability._schedule import TimeBlock

__all__ = [
    "EPOCH",
    "UTC",
    "day_intervals",
    "from_epoch",
    "to_epoch_ceil",
    "to_epoch_floor",
    "wall_range_to_utc",
]

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_SAMPLE_STEP = 3 * 3600
# Wider than any UTC offset difference within a day, so the pieces always cover the span.
_PAD = 3 * 3600

Interval = tuple[int, int]


def to_epoch_floor(moment: dt.datetime) -> int:
    """Whole epoch seconds at or before an aware datetime."""
    return math.floor((moment - EPOCH).total_seconds())


def to_epoch_ceil(moment: dt.datetime) -> int:
    """Whole epoch seconds at or after an aware datetime."""
    return math.ceil((moment - EPOCH).total_seconds())


def from_epoch(seconds: int) -> dt.datetime:
    """An aware UTC datetime for whole epoch seconds."""
    return EPOCH + dt.timedelta(seconds=seconds)


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
    offsets = [_offset_at(zone, t) for t in samples]
    pieces: list[tuple[int, int, int]] = []
    piece_start, current = lo, offsets[0]
    for (t0, o0), (t1, o1) in pairwise(zip(samples, offsets, strict=True)):
        if o1 == o0:
            continue
        # Bisect for the first second with the new offset: the transition instant.
        a, b = t0, t1
        while b - a > 1:
            mid = (a + b) // 2
            if _offset_at(zone, mid) == o0:
                a = mid
            else:
                b = mid
        pieces.append((piece_start, b, current))
        piece_start, current = b, o1
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
    out: list[Interval] = []
    for p0, p1, offset in _offset_pieces(zone, lo, hi):
        u0, u1 = max(p0, s - offset), min(p1, e - offset)
        if u0 >= u1:
            continue
        if out and out[-1][1] == u0:
            out[-1] = (out[-1][0], u1)
        else:
            out.append((u0, u1))
    return tuple(out)


def day_intervals(zone: ZoneInfo, day: dt.date, blocks: tuple[TimeBlock, ...]) -> list[Interval]:
    """The UTC intervals (epoch seconds) covered by ``blocks`` on local date ``day``.

    Sorted, disjoint, and merged where two blocks (or a block across a gap) meet.
    """
    pieces: list[Interval] = []
    next_day = day + dt.timedelta(days=1)
    for block in blocks:
        wall_start = dt.datetime.combine(day, block.start)
        wall_end = dt.datetime.combine(next_day if block.ends_at_midnight else day, block.end)
        pieces.extend(_wall_range_to_utc(zone, wall_start, wall_end))
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
