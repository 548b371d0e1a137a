"""The schedule: when a tenant can be booked, as frozen data plus its dict/TOML form.

A schedule is stored (database, TOML file) as a plain dict with minute-valued integers and
``"HH:MM-HH:MM"`` strings, so that a person can read and edit it. ``Schedule.from_dict``
checks every key and names the bad one in :class:`InvalidSchedule`; ``to_dict`` writes the
same shape back, and ``from_dict(to_dict(s)) == s`` for every valid schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from zohokit.availability._errors import InvalidSchedule
from zohokit.availability._tz import UnknownTimeZone, load_zone

__all__ = [
    "WEEKDAYS",
    "BookingWindow",
    "DateOverride",
    "Schedule",
    "TimeBlock",
    "TimeOff",
]

#: Weekday names in the order of ``date.weekday()`` (Monday is 0), as used in the dict form.
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

_MIDNIGHT = dt.time(0, 0)
_MINUTE = dt.timedelta(minutes=1)

WindowKind = Literal["calendar", "business"]


@dataclass(frozen=True, order=True)
class TimeBlock:
    """A block of working time on one local date, as wall-clock times in the schedule's zone.

    ``end`` is exclusive. ``end == time(0, 0)`` means the midnight that *ends* the day (written
    ``"24:00"``), so ``TimeBlock(time(0), time(0))`` is the whole day. A block never crosses
    midnight: an evening shift that runs past midnight is two blocks on two dates.
    """

    start: dt.time
    end: dt.time

    @property
    def ends_at_midnight(self) -> bool:
        """True when the block runs to the end of its date (``"24:00"``)."""
        return self.end == _MIDNIGHT

    def contains_wall_time(self, wall: dt.time) -> bool:
        """Whether a wall-clock time of the same date falls inside ``[start, end)``."""
        return self.start <= wall and (self.ends_at_midnight or wall < self.end)

    @classmethod
    def parse(cls, text: str) -> TimeBlock:
        """Parse ``"09:00-17:30"`` (``"24:00"`` allowed as an end). Raises ``ValueError``."""
        start_text, sep, end_text = text.partition("-")
        if not sep:
            raise ValueError(f"expected 'HH:MM-HH:MM', got {text!r}")
        start = _parse_clock(start_text.strip(), allow_24=False)
        end = _parse_clock(end_text.strip(), allow_24=True)
        block = cls(start, end)
        block.validate()
        return block

    def validate(self) -> None:
        """Raise ``ValueError`` unless the block is non-empty, whole minutes and naive."""
        for t in (self.start, self.end):
            if t.tzinfo is not None:
                raise ValueError("block times are wall-clock times: no tzinfo")
            if t.second or t.microsecond:
                raise ValueError("block times must be whole minutes")
        if not self.ends_at_midnight and self.end <= self.start:
            raise ValueError(
                f"block ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M}); "
                "split a block that crosses midnight into two dates"
            )

    def __str__(self) -> str:
        end = "24:00" if self.ends_at_midnight else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def _parse_clock(text: str, *, allow_24: bool) -> dt.time:
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise ValueError(f"expected HH:MM, got {text!r}")
    h, m = int(hours), int(minutes)
    if allow_24 and (h, m) == (24, 0):
        return _MIDNIGHT
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"no such time of day: {text!r}")
    return dt.time(h, m)


@dataclass(frozen=True)
class DateOverride:
    """Working hours for one local date that replace that weekday's hours entirely.

    An override with no blocks closes the date.
    """

    day: dt.date
    blocks: tuple[TimeBlock, ...] = ()


@dataclass(frozen=True)
class TimeOff:
    """Whole local dates off, from ``first_day`` to ``last_day`` inclusive.

    Time off within a day is a :class:`DateOverride` with the remaining hours.
    """

    first_day: dt.date
    last_day: dt.date
    reason: str = ""

    def covers(self, day: dt.date) -> bool:
        """Whether ``day`` is one of the dates off."""
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class BookingWindow:
    """How far ahead a booker may book: ``days`` calendar days or business days (Mon-Fri).

    Today (in the schedule's zone) counts as the first day when it qualifies, so a calendar
    window of 1 day allows today only, and a 5 business-day window asked on a Saturday runs
    to the following Friday.
    """

    days: int
    kind: WindowKind = "calendar"

    def last_day(self, today: dt.date) -> dt.date:
        """The last local date inside the window that starts on ``today``."""
        if self.kind == "calendar":
            return today + dt.timedelta(days=self.days - 1)
        day, counted = today, 0
        while True:
            if day.weekday() < 5:
                counted += 1
                if counted == self.days:
                    return day
            day += dt.timedelta(days=1)


def _empty_week() -> tuple[tuple[TimeBlock, ...], ...]:
    return ((),) * 7


@dataclass(frozen=True)
class Schedule:
    """When a tenant can be booked. Every wall-clock time is in ``time_zone``.

    ``weekly_hours`` has seven entries, Monday first, each a tuple of non-overlapping
    :class:`TimeBlock` in order. ``overrides`` replace a whole date's hours; ``time_off``
    closes whole dates. A slot lasts ``slot_duration``; slot starts step by ``slot_interval``
    (``None``: the duration) from the start of each working block. ``buffer_before`` and
    ``buffer_after`` must be free of busy time around a slot (they may lie outside working
    hours). ``minimum_notice`` is the least time between now and a slot's start.
    ``max_bookings_per_day`` / ``per_week`` (ISO weeks, Monday first, in the schedule's zone)
    close a date or week once that many own bookings and holds start in it.
    ``all_day_events_block_day``: an all-day busy entry closes its dates (``True``) or is
    ignored (``False``).
    """

    time_zone: str
    weekly_hours: tuple[tuple[TimeBlock, ...], ...] = field(default_factory=_empty_week)
    overrides: tuple[DateOverride, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    slot_duration: dt.timedelta = dt.timedelta(minutes=30)
    slot_interval: dt.timedelta | None = None
    buffer_before: dt.timedelta = dt.timedelta(0)
    buffer_after: dt.timedelta = dt.timedelta(0)
    minimum_notice: dt.timedelta = dt.timedelta(0)
    booking_window: BookingWindow | None = None
    max_bookings_per_day: int | None = None
    max_bookings_per_week: int | None = None
    all_day_events_block_day: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone (``ZoneInfo`` caches instances, so this is cheap)."""
        return load_zone(self.time_zone)

    @property
    def step(self) -> dt.timedelta:
        """The distance between two slot starts: ``slot_interval``, or the duration."""
        return self.slot_interval if self.slot_interval is not None else self.slot_duration

    def hours_on(self, day: dt.date) -> tuple[TimeBlock, ...]:
        """The working blocks of a local date, after overrides and time off."""
        if any(off.covers(day) for off in self.time_off):
            return ()
        for override in self.overrides:
            if override.day == day:
                return override.blocks
        return self.weekly_hours[day.weekday()]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Build a schedule from its dict form (a parsed TOML file or a stored JSON column).

        Raises :class:`InvalidSchedule` naming the first bad or unknown key.
        """
        return _from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The dict form: JSON- and TOML-serialisable; ``from_dict`` reads it back equal."""
        out: dict[str, Any] = {
            "time_zone": self.time_zone,
            "duration_minutes": _minutes(self.slot_duration),
            "interval_minutes": _minutes(self.step),
            "buffer_before_minutes": _minutes(self.buffer_before),
            "buffer_after_minutes": _minutes(self.buffer_after),
            "minimum_notice_minutes": _minutes(self.minimum_notice),
            "all_day_events_block_day": self.all_day_events_block_day,
            "weekly_hours": {
                name: [str(b) for b in blocks]
                for name, blocks in zip(WEEKDAYS, self.weekly_hours, strict=True)
            },
            "overrides": {o.day.isoformat(): [str(b) for b in o.blocks] for o in self.overrides},
            "time_off": [
                {
                    "first_day": t.first_day.isoformat(),
                    "last_day": t.last_day.isoformat(),
                    "reason": t.reason,
                }
                for t in self.time_off
            ],
        }
        # An interval equal to the duration is stored explicitly; read back, it compares
        # unequal to None, so keep None when the schedule had None.
        if self.slot_interval is None:
            del out["interval_minutes"]
        if self.booking_window is not None:
            out["booking_window"] = {
                "days": self.booking_window.days,
                "kind": self.booking_window.kind,
            }
        if self.max_bookings_per_day is not None:
            out["max_bookings_per_day"] = self.max_bookings_per_day
        if self.max_bookings_per_week is not None:
            out["max_bookings_per_week"] = self.max_bookings_per_week
        return out


def _minutes(delta: dt.timedelta) -> int:
    return int(delta // _MINUTE)


# --- validation -------------------------------------------------------------------------


def _validate(s: Schedule) -> None:
    try:
        load_zone(s.time_zone)
    except UnknownTimeZone as exc:
        raise InvalidSchedule("time_zone", str(exc)) from exc
    if len(s.weekly_hours) != 7:
        raise InvalidSchedule("weekly_hours", "needs exactly seven days, Monday first")
    for name, blocks in zip(WEEKDAYS, s.weekly_hours, strict=True):
        _validate_blocks(f"weekly_hours.{name}", blocks)
    seen: set[dt.date] = set()
    for override in s.overrides:
        key = f"overrides.{override.day.isoformat()}"
        if override.day in seen:
            raise InvalidSchedule(key, "date overridden twice")
        seen.add(override.day)
        _validate_blocks(key, override.blocks)
    for i, off in enumerate(s.time_off):
        if off.last_day < off.first_day:
            raise InvalidSchedule(f"time_off[{i}]", "last_day is before first_day")
    _check_minutes("duration_minutes", s.slot_duration, positive=True)
    if s.slot_interval is not None:
        _check_minutes("interval_minutes", s.slot_interval, positive=True)
    _check_minutes("buffer_before_minutes", s.buffer_before, positive=False)
    _check_minutes("buffer_after_minutes", s.buffer_after, positive=False)
    _check_minutes("minimum_notice_minutes", s.minimum_notice, positive=False)
    if s.booking_window is not None:
        if s.booking_window.days < 1:
            raise InvalidSchedule("booking_window.days", "must be at least 1")
        if s.booking_window.kind not in ("calendar", "business"):
            raise InvalidSchedule("booking_window.kind", "must be 'calendar' or 'business'")
    for key, limit in (
        ("max_bookings_per_day", s.max_bookings_per_day),
        ("max_bookings_per_week", s.max_bookings_per_week),
    ):
        if limit is not None and limit < 1:
            raise InvalidSchedule(key, "must be at least 1 (leave it out for no limit)")


def _validate_blocks(key: str, blocks: tuple[TimeBlock, ...]) -> None:
    previous: TimeBlock | None = None
    for i, block in enumerate(blocks):
        try:
            block.validate()
        except ValueError as exc:
            raise InvalidSchedule(f"{key}[{i}]", str(exc)) from exc
        if previous is not None and (previous.ends_at_midnight or block.start < previous.end):
            raise InvalidSchedule(
                f"{key}[{i}]", f"{block} overlaps or precedes {previous}; list blocks in order"
            )
        previous = block


def _check_minutes(key: str, value: dt.timedelta, *, positive: bool) -> None:
    if value % _MINUTE:
        raise InvalidSchedule(key, "must be a whole number of minutes")
    if value < dt.timedelta(0) or (positive and not value):
        raise InvalidSchedule(key, "must be positive" if positive else "must not be negative")


# --- parsing ----------------------------------------------------------------------------

_KEYS = frozenset(
    {
        "time_zone",
        "duration_minutes",
        "interval_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "minimum_notice_minutes",
        "all_day_events_block_day",
        "weekly_hours",
        "overrides",
        "time_off",
        "booking_window",
        "max_bookings_per_day",
        "max_bookings_per_week",
    }
)


def _from_dict(data: Mapping[str, Any]) -> Schedule:
    if not isinstance(data, Mapping):
        raise InvalidSchedule("<root>", "a schedule is a table of keys")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InvalidSchedule(unknown[0], f"unknown key; known keys are {', '.join(sorted(_KEYS))}")
    if "time_zone" not in data:
        raise InvalidSchedule("time_zone", "missing (an IANA name such as 'Europe/Berlin')")
    time_zone = data["time_zone"]
    if not isinstance(time_zone, str):
        raise InvalidSchedule("time_zone", "must be a string")

    interval = data.get("interval_minutes")
    window = data.get("booking_window")
    return Schedule(
        time_zone=time_zone,
        weekly_hours=_parse_week(data.get("weekly_hours", {})),
        overrides=_parse_overrides(data.get("overrides", {})),
        time_off=_parse_time_off(data.get("time_off", [])),
        slot_duration=_duration(data, "duration_minutes", 30),
        slot_interval=None if interval is None else _duration(data, "interval_minutes", 0),
        buffer_before=_duration(data, "buffer_before_minutes", 0),
        buffer_after=_duration(data, "buffer_after_minutes", 0),
        minimum_notice=_duration(data, "minimum_notice_minutes", 0),
        booking_window=None if window is None else _parse_window(window),
        max_bookings_per_day=_optional_int(data, "max_bookings_per_day"),
        max_bookings_per_week=_optional_int(data, "max_bookings_per_week"),
        all_day_events_block_day=_bool(data, "all_day_events_block_day", True),
    )


def _int(value: Any, key: str) -> int:
    # bool is an int in Python; "true" for a number of minutes is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSchedule(key, f"must be a whole number, got {value!r}")
    return value


def _duration(data: Mapping[str, Any], key: str, default: int) -> dt.timedelta:
    return dt.timedelta(minutes=_int(data.get(key, default), key))


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return None if value is None else _int(value, key)


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidSchedule(key, f"must be true or false, got {value!r}")
    return value


def _parse_blocks(value: Any, key: str) -> tuple[TimeBlock, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidSchedule(key, "must be a list of 'HH:MM-HH:MM' strings ([] for closed)")
    blocks = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidSchedule(f"{key}[{i}]", f"must be a 'HH:MM-HH:MM' string, got {item!r}")
        try:
            blocks.append(TimeBlock.parse(item))
        except ValueError as exc:
            raise InvalidSchedule(f"{key}[{i}]", str(exc)) from exc
    return tuple(blocks)


def _parse_week(value: Any) -> tuple[tuple[TimeBlock, ...], ...]:
    if not isinstance(value, Mapping):
        raise InvalidSchedule("weekly_hours", "must be a table of weekday names")
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise InvalidSchedule(f"weekly_hours.{unknown[0]}", "not a weekday name (monday..sunday)")
    return tuple(_parse_blocks(value.get(name, []), f"weekly_hours.{name}") for name in WEEKDAYS)


def _parse_date(value: Any, key: str) -> dt.date:
    # TOML gives date objects; JSON gives ISO strings. A datetime is a date subclass but
    # means something else, so refuse it rather than silently dropping its time.
    if isinstance(value, dt.datetime):
        raise InvalidSchedule(key, "must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidSchedule(key, f"not a date (YYYY-MM-DD): {value!r}") from exc
    raise InvalidSchedule(key, f"must be a date (YYYY-MM-DD), got {value!r}")


def _parse_overrides(value: Any) -> tuple[DateOverride, ...]:
    if not isinstance(value, Mapping):
        raise InvalidSchedule("overrides", "must be a table of 'YYYY-MM-DD' = [blocks]")
    out = []
    for raw_day, blocks in value.items():
        key = f"overrides.{raw_day}"
        day = _parse_date(raw_day, key)
        out.append(DateOverride(day, _parse_blocks(blocks, key)))
    return tuple(sorted(out, key=lambda o: o.day))


def _parse_time_off(value: Any) -> tuple[TimeOff, ...]:
    if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
        raise InvalidSchedule("time_off", "must be a list of {first_day, last_day, reason}")
    out = []
    for i, item in enumerate(value):
        key = f"time_off[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidSchedule(key, "must be a table with first_day and last_day")
        unknown = sorted(set(item) - {"first_day", "last_day", "reason"})
        if unknown:
            raise InvalidSchedule(f"{key}.{unknown[0]}", "unknown key")
        for required in ("first_day", "last_day"):
            if required not in item:
                raise InvalidSchedule(f"{key}.{required}", "missing")
        reason = item.get("reason", "")
        if not isinstance(reason, str):
            raise InvalidSchedule(f"{key}.reason", "must be a string")
        out.append(
            TimeOff(
                _parse_date(item["first_day"], f"{key}.first_day"),
                _parse_date(item["last_day"], f"{key}.last_day"),
                reason,
            )
        )
    return tuple(out)


def _parse_window(value: Any) -> BookingWindow:
    if not isinstance(value, Mapping):
        raise InvalidSchedule("booking_window", "must be a table {days, kind}")
    unknown = sorted(set(value) - {"days", "kind"})
    if unknown:
        raise InvalidSchedule(f"booking_window.{unknown[0]}", "unknown key")
    if "days" not in value:
        raise InvalidSchedule("booking_window.days", "missing")
    kind = value.get("kind", "calendar")
    if kind not in ("calendar", "business"):
        raise InvalidSchedule("booking_window.kind", "must be 'calendar' or 'business'")
    return BookingWindow(_int(value["days"], "booking_window.days"), kind)
