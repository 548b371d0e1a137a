"""The Zoho Calendar v1 part of the emulator: calendars, events, recurrence and free/busy.

:class:`CalendarStore` holds the state; :func:`calendar_routes` serves it under ``/api/v1/``.
"""

from ._routes import calendar_routes
from ._store import CalendarStore

__all__ = ["CalendarStore", "calendar_routes"]
