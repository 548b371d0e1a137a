"""Zoho Calendar v1 for many tenants: :class:`ZohoCalendarService` and its helpers.

::

    from zohokit.calendar import ZohoCalendarService

    cal = ZohoCalendarService.for_client(row, client_id="acme")
    slots = await cal.get_available_slots(date(2025, 1, 15), 30, timezone="Europe/Paris")

``zoho_calendar_service`` is the seed's module-level instance for the ``default`` tenant,
built from the environment on first access (no I/O at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    zoho_calendar_service: ZohoCalendarService


def get_zoho_calendar_service() -> ZohoCalendarService:
    """The seed's module-level service for the ``default`` tenant, on :meth:`zohokit.Zoho.default`
    (built on first call)."""
    got: ZohoCalendarService = __getattr__("zoho_calendar_service")
    return got


def __getattr__(name: str) -> Any:
    # PEP 562: the seed's default is built on first look-up, never at import; it lives on the
    # root (zohokit.Zoho.default), which sits above this module.
    from .._zoho import seed_attribute

    return seed_attribute(__name__, name)
