"""Zoho Calendar's compact times and its answers, as plain functions (no I/O).

Requests use GMT ``yyyyMMdd'T'HHmmss'Z'``; answers carry local times with an offset
(``20191101T143000+0530``), GMT times, or all-day dates (``yyyyMMdd``, ``yyyyMMddZ``).
Busy time is parsed straight into the availability engine's :class:`~zohokit.availability.Busy`
(all-day blocks as floating dates, ``all_day=True``), and zones are loaded by
:func:`~zohokit.availability.load_zone`, as everywhere on the client side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from ..availability import Busy, load_zone
from ..errors import ZohoError

__all__ = [
    "MAX_RANGE",
    "busy_of_event",
    "first_item",
    "format_utc",
    "hhmm",
    "is_free_event",
    "merge",
    "parse_eventbased",
    "parse_timebased",
    "parse_zoho_time",
    "split_range",
]

#: Zoho lists events and free/busy over at most 31 days per call.
MAX_RANGE = timedelta(days=31)


def _busy(start: datetime, end: datetime, all_day: bool = False) -> Busy:
    # Zoho has sent an end before its start: read it as an empty span, not as an error.
    return Busy(start, max(end, start), all_day=all_day)


def first_item(body: Any, key: str, missing: Callable[[], ZohoError]) -> dict[str, Any]:
    """The first item of Zoho's ``{key: [...]}`` answer; raises ``missing()`` if there is none."""
    items = body.get(key) if isinstance(body, dict) else None
    if not items or not isinstance(items[0], dict):
        raise missing()
    found: dict[str, Any] = items[0]
    return found


def hhmm(moment: time, *, end: bool = False) -> str:
    """``HH:MM``; as the ``end`` of a block, midnight is ``24:00`` (the end of the day)."""
    return "24:00" if end and moment == time(0) else f"{moment:%H:%M}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("Calendar times need a timezone; use datetime(..., tzinfo=...)")
    return moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """``yyyyMMdd'T'HHmmss'Z'`` in GMT, what Zoho Calendar wants in requests."""
    return _aware(moment).strftime("%Y%m%dT%H%M%SZ")


def parse_zoho_time(text: str, default_tz: tzinfo = UTC) -> datetime:
    """Any of Zoho Calendar's time forms, as an aware datetime.

    ``20191101T143000+0530`` and ``20191101T090000Z`` carry their zone; ``20191101T090000``
    is read in ``default_tz``; ``20191101`` and ``20191101Z`` are midnight.
    """
    text = text.strip()
    zone: tzinfo = default_tz
    if text.endswith("Z"):
        text, zone = text[:-1], UTC
    elif len(text) > 15 and text[15] in "+-":
        sign = 1 if text[15] == "+" else -1
        hours, minutes = int(text[16:18]), int(text[18:20])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        text = text[:15]
    if len(text) == 8:
        return datetime.combine(datetime.strptime(text, "%Y%m%d").date(), time(), zone)
    return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=zone)


def split_range(
    start: datetime, end: datetime, limit: timedelta = MAX_RANGE
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive windows of at most ``limit``."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise ValueError("the end must be after the start")
    windows = []
    while start < end:
        stop = min(end, start + limit)
        windows.append((start, stop))
        start = stop
    return windows


def merge(intervals: list[Busy]) -> list[Busy]:
    """Sort and join overlapping or touching intervals (all-day blocks only with all-day
    blocks: they are dates, not instants, and must stay recognisable)."""
    merged: list[Busy] = []
    for block in sorted(intervals, key=lambda b: (b.all_day, b.start, b.end)):
        last = merged[-1] if merged else None
        if last is not None and last.all_day == block.all_day and block.start <= last.end:
            merged[-1] = replace(last, end=max(last.end, block.end))
        else:
            merged.append(block)
    return sorted(merged, key=lambda b: (b.start, b.end, b.all_day))


def _is_date(text: str) -> bool:
    return len(text.strip().rstrip("Z")) == 8


def parse_eventbased(body: Any) -> list[Busy]:
    """Busy intervals of an ``ftype=eventbased`` answer (``fbtype`` other than busy skipped)."""
    entries = body.get("freebusy") if isinstance(body, dict) else None
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("fbtype", "busy") != "busy":
            continue
        first, last = str(entry["startTime"]), str(entry["endTime"])
        start = parse_zoho_time(first).astimezone(UTC)
        end = parse_zoho_time(last).astimezone(UTC)
        all_day = _is_date(first) and _is_date(last)
        if all_day and end <= start:
            end = start + timedelta(days=1)  # an end naming the same date is inclusive
        out.append(_busy(start, end, all_day))
    return merge(out)


def _at(day: date, text: str) -> datetime:
    hours, minutes = (int(part) for part in text.split(":"))
    return datetime.combine(day, time(), UTC) + timedelta(hours=hours, minutes=minutes)


def parse_timebased(body: Any) -> list[Busy]:
    """Busy intervals of an ``ftype=timebased`` answer: ``{"yyyyMMdd": [allday, ["HH:mm-HH:mm",
    ...]]}``, wrapped in ``freebusy`` or not (Zoho's docs leave it open), in UTC days."""
    days = body.get("freebusy", body) if isinstance(body, dict) else {}
    out = []
    for key, value in (days if isinstance(days, dict) else {}).items():
        if not (isinstance(key, str) and len(key) == 8 and key.isdigit()):
            continue
        day = datetime.strptime(key, "%Y%m%d").date()
        marker, ranges = [*value, None, None][:2] if isinstance(value, list) else (None, None)
        if isinstance(marker, dict) and marker.get("allday"):
            out.append(_busy(_at(day, "00:00"), _at(day, "24:00"), all_day=True))
        for text in ranges if isinstance(ranges, list) else []:
            first, _, last = str(text).partition("-")
            out.append(_busy(_at(day, first), _at(day, last)))
    return merge(out)


def is_free_event(event: Mapping[str, Any]) -> bool:
    """Whether the event leaves its time free (Zoho's transparency / "free" status)."""
    return str(event.get("transparency") or "").lower() in {"1", "free", "transparent"}


def busy_of_event(event: Mapping[str, Any], zone: tzinfo) -> Busy:
    """The busy time of one event as the events list returns it (``zone`` for an event
    without a time zone)."""
    when = event.get("dateandtime") or {}
    tz = load_zone(str(when["timezone"])) if when.get("timezone") else zone
    start = parse_zoho_time(str(when["start"]), tz)
    end = parse_zoho_time(str(when["end"]), tz)
    if event.get("isallday"):
        # All-day bounds are dates, the end one inclusive: keep them as the floating dates
        # they name rather than instants in some zone.
        first = start.date()
        stop = max(end.date(), first) + timedelta(days=1)
        return _busy(
            datetime.combine(first, time(), UTC), datetime.combine(stop, time(), UTC), True
        )
    return _busy(start.astimezone(UTC), end.astimezone(UTC))
