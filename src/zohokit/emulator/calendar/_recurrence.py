"""Recurrence rules (the iCalendar ``RRULE`` subset Zoho clients send) and their expansion.

Supported: ``FREQ`` = DAILY, WEEKLY, MONTHLY or YEARLY; ``INTERVAL``; ``COUNT``; ``UNTIL``
(``yyyyMMddTHHmmssZ`` or ``yyyyMMdd``); ``BYDAY`` with plain weekdays (``MO,WE``) for DAILY
and WEEKLY; ``WKST`` is accepted and weeks start on Monday. Anything else is rejected, so a
client learns at once that the emulator cannot honour its rule instead of getting wrong dates.

Occurrences are generated on the wall clock of the event's zone, so a 09:00 meeting stays at
09:00 across a daylight-saving change, as it does in Zoho.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from ._times import TimeFormatError, is_date_only, midnight_utc, parse_date, parse_instant

_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: Scanning stops after this many candidates with no match, so a rule that can never
#: produce a date inside the window (``FREQ=DAILY;INTERVAL=7;BYDAY=TU`` from a Monday) ends.
_MAX_CANDIDATES = 100_000


class RecurrenceError(ValueError):
    """An ``RRULE`` the emulator cannot parse or does not support."""


@dataclass(frozen=True)
class RRule:
    """A parsed recurrence rule. ``until`` is the last instant (UTC) an occurrence may start."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: datetime | None = None
    byday: tuple[int, ...] = ()
    text: str = ""


def parse_rrule(text: str) -> RRule:
    """Parse ``FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=6`` (an ``RRULE:`` prefix is allowed)."""
    if not isinstance(text, str) or not text.strip():
        raise RecurrenceError("rrule must be a non-empty string")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key = key.strip().upper()
        if not sep or not value or key in parts:
            raise RecurrenceError(f"malformed rrule part {piece!r}")
        parts[key] = value.strip()
    freq = parts.pop("FREQ", "").upper()
    if freq not in _FREQS:
        raise RecurrenceError(f"unsupported FREQ {freq or '(missing)'!r}")
    interval = _positive_int(parts.pop("INTERVAL", "1"), "INTERVAL")
    count = _positive_int(parts["COUNT"], "COUNT") if "COUNT" in parts else None
    parts.pop("COUNT", None)
    until = _parse_until(parts.pop("UNTIL")) if "UNTIL" in parts else None
    if count is not None and until is not None:
        raise RecurrenceError("COUNT and UNTIL cannot both be given")
    byday: tuple[int, ...] = ()
    if "BYDAY" in parts:
        if freq not in ("DAILY", "WEEKLY"):
            raise RecurrenceError("BYDAY is supported with FREQ=DAILY or WEEKLY only")
        names = [name.strip().upper() for name in parts.pop("BYDAY").split(",")]
        if not names or any(name not in _WEEKDAYS for name in names):
            raise RecurrenceError("BYDAY must list plain weekdays such as MO,WE,FR")
        byday = tuple(sorted({_WEEKDAYS[name] for name in names}))
    wkst = parts.pop("WKST", "MO").upper()
    if wkst not in _WEEKDAYS:
        raise RecurrenceError(f"unknown WKST {wkst!r}")
    if parts:
        raise RecurrenceError(f"unsupported rrule parts: {', '.join(sorted(parts))}")
    return RRule(freq, interval, count, until, byday, text.strip())


def _positive_int(value: str, name: str) -> int:
    # ASCII digits only ("²".isdigit() is true but int() refuses it), and few enough of them
    # for int() (which refuses thousands of digits) and for the dates they lead to.
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise RecurrenceError(f"{name} must be a positive integer")
    return int(value)


def _parse_until(value: str) -> datetime:
    try:
        if is_date_only(value):
            # A date UNTIL includes that whole (UTC) day.
            return midnight_utc(parse_date(value)) + timedelta(days=1, microseconds=-1)
        return parse_instant(value)
    except TimeFormatError as exc:
        raise RecurrenceError(f"bad UNTIL: {exc}") from exc


def _add_months(moment: datetime, months: int) -> datetime | None:
    total = moment.month - 1 + months
    try:
        return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)
    except ValueError:
        return None  # the 31st in a 30-day month, 29 February: no occurrence that period


def _candidates(rule: RRule, first: datetime) -> Iterator[datetime]:
    """Every wall-clock start the rule allows from ``first`` on, ascending, without limits."""
    step = 0
    while True:
        if rule.freq == "DAILY":
            moment = first + timedelta(days=step * rule.interval)
            if not rule.byday or moment.weekday() in rule.byday:
                yield moment
        elif rule.freq == "WEEKLY":
            week = first - timedelta(days=first.weekday()) + timedelta(weeks=step * rule.interval)
            for weekday in rule.byday or (first.weekday(),):
                moment = week + timedelta(days=weekday)
                if moment >= first:
                    yield moment
        else:
            months = step * rule.interval * (12 if rule.freq == "YEARLY" else 1)
            shifted = _add_months(first, months)
            if shifted is not None:
                yield shifted
        step += 1
        if step > _MAX_CANDIDATES:
            return


def occurrence_starts(
    rule: RRule,
    first_local: datetime,
    to_utc: Callable[[datetime], datetime],
    *,
    until: datetime,
) -> Iterator[datetime]:
    """UTC starts of the series whose first wall-clock start is ``first_local`` (naive).

    ``to_utc`` maps a naive wall-clock time of the event's zone to UTC. Generation stops at
    the rule's ``COUNT``/``UNTIL`` or once a start passes ``until``, whichever comes first;
    ``COUNT`` counts occurrences before any deletion, as in iCalendar.
    """
    candidates = _candidates(rule, first_local)
    produced = 0
    while True:
        try:
            local = next(candidates)
            start = to_utc(local)
        except (StopIteration, OverflowError):
            # OverflowError: the next start lies past year 9999 (a huge INTERVAL, or a series
            # near the end of time); no occurrence can follow.
            return
        produced += 1
        if (rule.until is not None and start > rule.until) or start > until:
            return
        yield start
        if rule.count is not None and produced >= rule.count:
            return


def wall_clock_to_utc(zone: tzinfo) -> Callable[[datetime], datetime]:
    """A ``to_utc`` for :func:`occurrence_starts` in the zone ``zone``."""

    def convert(local: datetime) -> datetime:
        return local.replace(tzinfo=zone).astimezone(UTC)

    return convert
