"""Availability and bookings: the pure engine of :mod:`zohokit.availability`, re-exported,
and the booking flow on top of it.

The engine is pure (no clock, no I/O): the calendar layer reads Zoho free/busy and the
booking flow reads own bookings and holds, then both call :func:`available_slots`,
:func:`slots_between` or :func:`is_bookable`. A schedule's stored form is the dict (TOML or
JSON) read by :meth:`Schedule.from_dict`. See ``docs/scheduling.md`` for the rules.

The booking flow (:class:`BookingService`: schedules per tenant in the database,
holds, confirmations that cannot double-book, the Zoho Calendar event and the CRM record) is
documented in the "Bookings" section of the same page.
"""

from zohokit import availability as _availability
from zohokit.availability import *  # noqa: F403  (the engine, re-exported whole)
from zohokit.scheduling import _errors
from zohokit.scheduling._errors import *  # noqa: F403  (the booking errors, re-exported whole)
from zohokit.scheduling._models import Booking, CrmMapping, Customer, Hold
from zohokit.scheduling._schedule_file import load_schedule_file, parse_schedule_file
from zohokit.scheduling._service import BookingService
from zohokit.scheduling._tables import TenantSchedule
from zohokit.scheduling._team import Team, TeamHost

__all__ = [
    "Booking",
    "BookingService",
    "CrmMapping",
    "Customer",
    "Hold",
    "Team",
    "TeamHost",
    "TenantSchedule",
    "load_schedule_file",
    "parse_schedule_file",
]
__all__ += _availability.__all__
__all__ += _errors.__all__
