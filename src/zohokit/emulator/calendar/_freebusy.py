"""Free/busy answers built from busy blocks: pure functions, no store, no clock.

``eventbased`` lists busy intervals; ``timebased`` groups busy clock ranges by UTC day. Both
merge overlapping blocks, as free/busy says only *when* the user is busy, never by what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ._times import Window, format_date, format_utc, midnight_utc


@dataclass(frozen=True)
class Busy:
    """A busy UTC ``[start, end)``; all-day blocks run from midnight to midnight UTC."""

    start: datetime
    end: datetime
    allday: bool = False


def merge(blocks: list[Busy]) -> list[Busy]:
    """Sort ``blocks`` and join the ones that overlap or touch; timed and all-day blocks are
    merged separately because Zoho renders them in different formats."""
    merged: list[Busy] = []
    for block in sorted(blocks, key=lambda b: (b.allday, b.start, b.end)):
        last = merged[-1] if merged else None
        if last is not None and last.allday == block.allday and block.start <= last.end:
            merged[-1] = Busy(last.start, max(last.end, block.end), last.allday)
        else:
            merged.append(block)
    return sorted(merged, key=lambda b: (b.start, not b.allday, b.end))


def eventbased(blocks: list[Busy]) -> dict[str, Any]:
    """``{"freebusy": [{"fbtype": "busy", "startTime": ..., "endTime": ...}, ...]}``.

    Timed blocks use ``yyyyMMddTHHmmssZ``; all-day blocks use ``yyyyMMddZ``, the form cal.com
    parses as midnight UTC, so their ``endTime`` is the day after the last busy day. Blocks
    are not clipped to the query window: Zoho reports the busy events that touch it.
    """
    out = []
    for block in merge(blocks):
        if block.allday:
            start, end = f"{format_date(block.start.date())}Z", f"{format_date(block.end.date())}Z"
        else:
            start, end = format_utc(block.start), format_utc(block.end)
        out.append({"fbtype": "busy", "startTime": start, "endTime": end})
    return {"freebusy": out}


def _clock(moment: datetime, day_start: datetime, *, round_up: bool) -> str:
    minutes, seconds = divmod(int((moment - day_start).total_seconds()), 60)
    if round_up and (seconds or moment.microsecond):
        minutes += 1  # a busy range never shrinks: a partial minute counts as busy
    # The end of the day is written 24:00, so a block that runs to midnight reads as such.
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def timebased(blocks: list[Busy], window: Window) -> dict[str, Any]:
    """``{"freebusy": {"yyyyMMdd": [{"allday": true} or None, ["HH:mm-HH:mm", ...]], ...}}``.

    Only UTC days inside ``window`` that hold busy time appear; ranges are clipped to the
    day and to the window. Zoho's docs leave open whether this map is wrapped in
    ``freebusy``; the emulator wraps it, like the event-based answer, and clients in the
    wild read ``payload.freebusy || payload``, which handles both.
    """
    merged = merge(blocks)
    days: dict[str, Any] = {}
    day = midnight_utc(window.start.date())
    while day < window.end:
        next_day = day + timedelta(days=1)
        allday = any(b.allday and b.start < next_day and b.end > day for b in merged)
        ranges = []
        for block in merged:
            if block.allday:
                continue
            start = max(block.start, day, window.start)
            end = min(block.end, next_day, window.end)
            if start < end:
                ranges.append(
                    f"{_clock(start, day, round_up=False)}-{_clock(end, day, round_up=True)}"
                )
        if allday or ranges:
            days[format_date(day.date())] = [{"allday": True} if allday else None, ranges]
        day = next_day
    return {"freebusy": days}
