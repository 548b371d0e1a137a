"""Zoho Calendar's compact date formats, and the ranges built from them.

Calendar v1 writes instants as ``yyyyMMdd'T'HHmmss'Z'`` (GMT), accepts an offset instead of
the ``Z`` (cal.com sends ``20241028T160000+0530``), free/busy takes the same without a zone,
and all-day values are bare ``yyyyMMdd`` dates. Everything here is pure: no clock, no state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Longest window Zoho serves in one events listing or free/busy query.
MAX_RANGE = timedelta(days=31)
#: Years a date or time may name. Python's datetimes end at years 1 and 9999, and this
#: emulator shifts times by zone offsets, day ends and window lengths: a margin on both
#: sides keeps every such shift representable (a value outside is a 400, not a 500).
#: Years below 1000 would also print unpadded (``%Y``), breaking the compact formats.
MIN_YEAR, MAX_YEAR = 1000, 9998

_DATETIME = re.compile(
    r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z|[+-]\d{4})?$",
)
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class TimeFormatError(ValueError):
    """A date, time, zone or range that Zoho's compact formats do not allow."""


def parse_instant(text: str, *, zone_required: bool = True) -> datetime:
    """Parse ``yyyyMMddTHHmmssZ`` (or ``+hhmm``) into an aware UTC datetime.

    With ``zone_required=False`` a value without zone is read as UTC, as free/busy's
    ``sdate``/``edate`` are documented without one.
    """
    match = _DATETIME.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimeFormatError(f"{text!r} is not in the format yyyyMMdd'T'HHmmss'Z'")
    year, month, day, hour, minute, second, zone = match.groups()
    _check_year(text, year)
    if zone is None:
        if zone_required:
            raise TimeFormatError(f"{text!r} has no zone: end it with Z or an offset")
        tz: timezone = UTC
    elif zone == "Z":
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if hours > 14 or minutes > 59:
            raise TimeFormatError(f"{text!r} has an impossible offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError as exc:
        raise TimeFormatError(f"{text!r} is not a real date and time") from exc
    return local.astimezone(UTC)


def parse_date(text: str) -> date:
    """Parse an all-day ``yyyyMMdd`` value."""
    match = _DATE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimeFormatError(f"{text!r} is not in the format yyyyMMdd")
    _check_year(text, match[1])
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise TimeFormatError(f"{text!r} is not a real date") from exc


def _check_year(text: str, year: str) -> None:
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise TimeFormatError(f"{text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")


def is_date_only(text: str) -> bool:
    """Whether ``text`` looks like a bare ``yyyyMMdd`` date."""
    return isinstance(text, str) and _DATE.match(text.strip()) is not None


def format_utc(moment: datetime) -> str:
    """``yyyyMMddTHHmmssZ`` in GMT, the format of ``createdtime`` and free/busy answers."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """``yyyyMMddTHHmmss+hhmm`` in the event's zone, as Zoho renders ``dateandtime``."""
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S%z")


def format_date(day: date) -> str:
    """``yyyyMMdd``."""
    return day.strftime("%Y%m%d")


def midnight_utc(day: date) -> datetime:
    """The instant a UTC day starts; all-day events are placed on UTC days."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (Zoho also sends legacy names such as ``Asia/Calcutta``)."""
    if not isinstance(name, str) or not name:
        raise TimeFormatError("timezone must be an IANA zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: ZoneInfo("Europe") is a directory of the tz database, not a zone.
        raise TimeFormatError(f"unknown timezone {name!r}") from exc


@dataclass(frozen=True)
class Window:
    """A half-open UTC window ``[start, end)``."""

    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` shares time with the window (zero-length events count
        when they sit inside it)."""
        if start == end:
            return self.start <= start < self.end
        return start < self.end and end > self.start


def _range_bound(text: Any, *, is_end: bool) -> datetime:
    if not isinstance(text, str):
        raise TimeFormatError("range start and end must be strings")
    if is_date_only(text):
        day = parse_date(text)
        # A date-only end names the last day wanted, so the window runs to its end.
        return midnight_utc(day + timedelta(days=1) if is_end else day)
    return parse_instant(text)


def parse_range(raw: str | None, *, limit: timedelta = MAX_RANGE) -> Window:
    """Parse the events listing's ``range`` parameter: ``{"start": ..., "end": ...}``.

    Each bound is ``yyyyMMddTHHmmssZ`` or ``yyyyMMdd``; the window may span at most ``limit``.
    """
    if raw is None or raw == "":
        raise TimeFormatError("range is required")
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise TimeFormatError("range is not valid JSON") from exc
    if not isinstance(parsed, dict) or "start" not in parsed or "end" not in parsed:
        raise TimeFormatError('range must be {"start": ..., "end": ...}')
    window = Window(
        _range_bound(parsed["start"], is_end=False), _range_bound(parsed["end"], is_end=True)
    )
    check_window(window, limit=limit)
    return window


def check_window(window: Window, *, limit: timedelta = MAX_RANGE) -> None:
    """Reject an empty, inverted or too long window."""
    if window.end <= window.start:
        raise TimeFormatError("the range end must be after its start")
    if window.end - window.start > limit:
        raise TimeFormatError(f"the range must not exceed {limit.days} days")


def parse_freebusy_bound(text: str | None, name: str) -> datetime:
    """Parse free/busy ``sdate``/``edate``: ``yyyyMMddTHHmmss`` read as UTC, a trailing ``Z``
    or offset tolerated (cal.com sends ``Z``), or a bare ``yyyyMMdd`` (midnight UTC)."""
    if not text:
        raise TimeFormatError(f"{name} is required")
    if is_date_only(text):
        return midnight_utc(parse_date(text))
    return parse_instant(text, zone_required=False)
