"""Zoho Calendar v1 for many tenants: :class:`ZohoCalendarService` and its helpers.

::

    from zohokit.calendar import ZohoCalendarService

    cal = ZohoCalendarService.for_client(row, client_id="acme")
    slots = await cal.get_available_slots(date(2025, 1, 15), 30, timezone="Europe/Paris")

``zoho_calendar_service`` is the seed's module-level instance for the ``default`` tenant,
built from the environment on first access (no I/O at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._seed import seed_hooks as _seed_hooks
from ..availability import Slot
from ._health import NOT_IN_FREEBUSY, CalendarHealth, CalendarWarning, freebusy_warnings
from ._service import FreeBusy, ZohoCalendarService
from ._times import MAX_RANGE, format_utc, parse_zoho_time, split_range

__all__ = [
    "MAX_RANGE",
    "NOT_IN_FREEBUSY",
    "CalendarHealth",
    "CalendarWarning",
    "FreeBusy",
    "Slot",
    "ZohoCalendarService",
    "format_utc",
    "freebusy_warnings",
    "get_zoho_calendar_service",
    "parse_zoho_time",
    "split_range",
    "zoho_calendar_service",
]

__getattr__, get_zoho_calendar_service = _seed_hooks(
    __name__, "zoho_calendar_service", ZohoCalendarService
)

if TYPE_CHECKING:
    zoho_calendar_service: ZohoCalendarService
