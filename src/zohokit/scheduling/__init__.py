"""The availability engine: which slots a tenant's schedule offers, given busy time and now.

Everything here is pure (no clock, no I/O): the calendar layer reads Zoho free/busy and the
booking flow reads own bookings and holds, then both call :func:`available_slots`,
:func:`slots_between` or :func:`is_bookable`. A schedule's stored form is the dict (TOML or
JSON) read by :meth:`Schedule.from_dict`. See ``docs/scheduling.md`` for the rules.
"""

from zohokit.scheduling._busy import Busy, BusySource, Slot
from zohokit.scheduling._engine import available_slots, is_bookable, slots_between
from zohokit.scheduling._errors import FreeBusyUnavailable, InvalidSchedule
from zohokit.scheduling._schedule import (
    WEEKDAYS,
    BookingWindow,
    DateOverride,
    Schedule,
    TimeBlock,
    TimeOff,
)

__all__ = [
    "WEEKDAYS",
    "BookingWindow",
    "Busy",
    "BusySource",
    "DateOverride",
    "FreeBusyUnavailable",
    "InvalidSchedule",
    "Schedule",
    "Slot",
    "TimeBlock",
    "TimeOff",
    "available_slots",
    "is_bookable",
    "slots_between",
]
