"""Tenant health warnings from Zoho Calendar's settings: what Zoho itself never reports.

Zoho's free/busy counts only the calendars whose "include in free/busy" setting is on
(``include_infreebusy`` in ``GET /api/v1/calendars``). A calendar left out answers exactly
like free time, with no flag and no error, so a booking tool that reads free/busy offers
slots that are taken: the double bookings integrators report (cal.com issues #15301 and
#16177). zohokit reads the setting of the calendar it books into and turns "not counted"
into a :class:`CalendarWarning`: on the free/busy result, in the log, in the availability
answer and on the tenant's health (the admin page and ``/tenants/{tenant}/status``).

:func:`freebusy_warnings` is the pure rule; :class:`CalendarHealth` remembers, per tenant,
the last warnings seen and when the setting was last read, so a busy availability endpoint
reads it once per ``ttl`` rather than on every call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NOT_IN_FREEBUSY", "CalendarHealth", "CalendarWarning", "freebusy_warnings"]

#: The warning code of a booking calendar that Zoho's free/busy does not count.
NOT_IN_FREEBUSY = "calendar_not_in_freebusy"


@dataclass(frozen=True, slots=True)
class CalendarWarning:
    """Something about a tenant's Zoho Calendar that will hurt its bookings, and the fix.

    ``code`` is stable (``calendar_not_in_freebusy``); ``message`` is for a person and names
    the calendar and the setting to change; ``calendar_id`` is the calendar's uid.
    """

    code: str
    message: str
    calendar_id: str | None = None


def freebusy_warnings(calendar: Mapping[str, Any]) -> list[CalendarWarning]:
    """The warnings one calendar (as ``GET /api/v1/calendars/{uid}`` returns it) deserves
    when bookings are checked against its owner's free/busy.

    A calendar without the ``include_infreebusy`` key is taken as counted: older answers
    and other Zoho editions may leave it out, and a warning that may be false is noise.
    """
    if calendar.get("include_infreebusy", True) is not False:
        return []
    uid = str(calendar.get("uid") or "") or None
    name = calendar.get("name") or uid or "the booking calendar"
    return [
        CalendarWarning(
            NOT_IN_FREEBUSY,
            f"Zoho Calendar does not count calendar {name!r} toward free/busy: events on it "
            "look like free time to anything that reads free/busy (double bookings). zohokit "
            "reads its events directly meanwhile; to fix it, turn on 'Include in free/busy' "
            "for this calendar in Zoho Calendar (Settings > Calendars > My Calendars).",
            uid,
        )
    ]


@dataclass(frozen=True, slots=True)
class _Seen:
    calendar_id: str
    warnings: tuple[CalendarWarning, ...]
    checked_at: float


class CalendarHealth:
    """The calendar warnings last seen for each tenant, shared by the tenant's services.

    ``ttl`` (seconds) is how long a calendar's free/busy setting, once read, is trusted;
    ``clock`` returns seconds (monotonic by default; tests pass their own). Thread-safe.
    """

    def __init__(self, *, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic):
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self.ttl = ttl
        self._clock = clock
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def fresh(self, tenant: str, calendar_id: str) -> tuple[CalendarWarning, ...] | None:
        """The warnings recorded for this tenant's calendar if read less than ``ttl`` ago."""
        with self._lock:
            seen = self._seen.get(tenant)
        if seen is None or seen.calendar_id != calendar_id:
            return None
        if self._clock() - seen.checked_at >= self.ttl:
            return None
        return seen.warnings

    def record(self, tenant: str, calendar_id: str, warnings: Iterable[CalendarWarning]) -> None:
        """Remember what a fresh read of the tenant's calendar found (nothing clears it)."""
        with self._lock:
            self._seen[tenant] = _Seen(calendar_id, tuple(warnings), self._clock())

    def warnings(self, tenant: str) -> tuple[CalendarWarning, ...]:
        """The tenant's current warnings (empty when none, or never checked)."""
        with self._lock:
            seen = self._seen.get(tenant)
        return seen.warnings if seen is not None else ()

    def forget(self, tenant: str) -> None:
        """Drop what is known of a tenant (it was deleted or reconnected)."""
        with self._lock:
            self._seen.pop(tenant, None)
