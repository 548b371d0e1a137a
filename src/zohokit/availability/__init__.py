"""The availability engine: which slots a schedule offers, given busy time and "now".

Everything here is pure (no clock, no I/O) and imports nothing of zohokit but its error tree,
so both the calendar client (``ZohoCalendarService.get_available_slots``) and the booking
flow (``zohokit.scheduling``) build on it. The team engine (:func:`team_slots`: several
hosts, round robin, collective or k of n) and :func:`explain` (which rule of which host
removed a slot) build on the single-host one. ``zohokit.scheduling`` re-exports every name, and
``docs/scheduling.md`` explains the rules.
"""

from zohokit.availability._busy import Busy, BusySource, Slot
from zohokit.availability._engine import available_slots, is_bookable, slots_between
from zohokit.availability._errors import FreeBusyUnavailable, InvalidSchedule
from zohokit.availability._explain import Rule, Verdict, explain
from zohokit.availability._schedule import (
    WEEKDAYS,
    BookingWindow,
    DateOverride,
    Schedule,
    TimeBlock,
    TimeOff,
)
from zohokit.availability._team import (
    Host,
    Mode,
    TeamSlot,
    hosts_needed,
    team_available_slots,
    team_slots,
)
from zohokit.availability._tz import UnknownTimeZone, load_zone

__all__ = [
    "WEEKDAYS",
    "BookingWindow",
    "Busy",
    "BusySource",
    "DateOverride",
    "FreeBusyUnavailable",
    "Host",
    "InvalidSchedule",
    "Mode",
    "Rule",
    "Schedule",
    "Slot",
    "TeamSlot",
    "TimeBlock",
    "TimeOff",
    "UnknownTimeZone",
    "Verdict",
    "available_slots",
    "explain",
    "hosts_needed",
    "is_bookable",
    "load_zone",
    "slots_between",
    "team_available_slots",
    "team_slots",
]
