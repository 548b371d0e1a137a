"""What the engine takes in besides the schedule (busy time) and what it gives back (slots)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Busy", "BusySource", "Slot"]

_ZERO = dt.timedelta(0)


class BusySource(StrEnum):
    """Where a busy interval came from. Own bookings and holds count towards booking limits."""

    ZOHO = "zoho"
    """Zoho Calendar free/busy (recurring events arrive already expanded, one per instance)."""
    BOOKING = "booking"
    """A booking made through zohokit, with the buffers it was booked with."""
    HOLD = "hold"
    """A slot held for a booker who has not confirmed yet."""


@dataclass(frozen=True)
class Busy:
    """A span of time that no slot (plus its buffers) may touch.

    ``start`` and ``end`` are aware datetimes, ``end`` exclusive. ``buffer_before`` and
    ``buffer_after`` widen this entry (an existing booking keeps the buffers it was made with)
    and stack with the schedule's own buffers around a new slot.

    ``all_day=True`` marks an all-day event: its dates are the calendar dates written in
    ``start`` (inclusive) to ``end`` (exclusive, at least one date) as given, not converted
    to any zone, because an all-day event is a floating date. Such an entry closes those
    dates in the schedule's zone when ``Schedule.all_day_events_block_day`` is true and is
    ignored otherwise.
    """

    start: dt.datetime
    end: dt.datetime
    source: BusySource = BusySource.ZOHO
    all_day: bool = False
    buffer_before: dt.timedelta = _ZERO
    buffer_after: dt.timedelta = _ZERO

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("busy times must be timezone-aware datetimes")
        if self.end < self.start:
            raise ValueError("busy interval ends before it starts")
        if self.buffer_before < _ZERO or self.buffer_after < _ZERO:
            raise ValueError("busy buffers must not be negative")

    @classmethod
    def all_day_event(
        cls, first_day: dt.date, last_day: dt.date, source: BusySource = BusySource.ZOHO
    ) -> Busy:
        """An all-day busy entry covering ``first_day`` to ``last_day`` inclusive."""
        start = dt.datetime.combine(first_day, dt.time(0), dt.UTC)
        end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), dt.UTC)
        return cls(start, end, source, all_day=True)

    def all_day_dates(self) -> list[dt.date]:
        """The floating dates an all-day entry covers (see the class docstring)."""
        first, stop = self.start.date(), self.end.date()
        if self.end.time() != dt.time(0):
            stop += dt.timedelta(days=1)  # an end after midnight still covers its date
        count = max((stop - first).days, 1)
        return [first + dt.timedelta(days=i) for i in range(count)]


@dataclass(frozen=True, order=True)
class Slot:
    """A bookable slot: UTC instants, and the same instants in the booker's zone.

    ``start`` and ``end`` are the booker's (``local_start``/``local_end``), as the seed's
    ``get_available_slots`` returned them; being aware, they equal the UTC instants.
    """

    start_utc: dt.datetime
    end_utc: dt.datetime
    local_start: dt.datetime
    local_end: dt.datetime

    @property
    def start(self) -> dt.datetime:
        """When the slot starts, on the booker's wall clock."""
        return self.local_start

    @property
    def end(self) -> dt.datetime:
        """When the slot ends, on the booker's wall clock."""
        return self.local_end
