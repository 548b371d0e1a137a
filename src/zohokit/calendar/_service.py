"""``ZohoCalendarService``: Zoho Calendar v1 for one tenant.

Calendar takes JSON inside form parameters (``eventdata``, ``range``), compact GMT times, at
most 31 days per listing, and the event's current ``etag`` for every change. This module does
that translation; the request path (:mod:`zohokit.http`) does the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from .._clock import system_clock
from ..availability import (
    Busy,
    FreeBusyUnavailable,
    Schedule,
    Slot,
    TimeBlock,
    available_slots,
    load_zone,
)
from ..errors import (
    ConfigurationError,
    NotFound,
    PreconditionFailed,
    TransportError,
    ZohoAPIError,
    ZohoError,
)
from ..http import ZohoService
from ..settings import Provider
from ..tokens import ZohoCredentials
from ._health import NOT_IN_FREEBUSY, CalendarHealth, CalendarWarning, freebusy_warnings
from ._times import (
    busy_of_event,
    first_item,
    format_utc,
    hhmm,
    is_free_event,
    merge,
    parse_eventbased,
    parse_timebased,
    split_range,
)

__all__ = ["FreeBusy", "ZohoCalendarService"]

logger = logging.getLogger("zohokit.calendar")


@dataclass(frozen=True)
class FreeBusy:
    """A user's busy time. ``enabled`` is false when the user does not share free/busy
    (Zoho's ``fb_not_enabled``): then ``busy`` is empty but means "unknown", not "free"."""

    busy: list[Busy] = field(default_factory=list)
    enabled: bool = True


def _no_event() -> ZohoError:
    return ZohoAPIError("Zoho Calendar answered without the event")


def _calendar_id_of(credentials: Any) -> str | None:
    if isinstance(credentials, Mapping):
        for key in ("calendar_id", "calendarId", "zoho_calendar_id"):
            if credentials.get(key):
                return str(credentials[key])
    return getattr(credentials, "calendar_id", None)


def _event_path(calendar_id: str, event_uid: str | None = None) -> str:
    path = f"/api/v1/calendars/{quote(calendar_id, safe='')}/events"
    return f"{path}/{quote(event_uid, safe='')}" if event_uid else path


class ZohoCalendarService(ZohoService):
    """Zoho Calendar for one tenant and one calendar (the seed's API, plus events, free/busy
    and etag handling).

    ``calendar_id`` is the argument, else the credentials' ``calendar_id``, else the default
    (``ZOHO_CALENDAR_ID`` for a root built from settings).
    Calls go to the tenant's ``calendar.zoho.<tld>`` (or ``ZOHO_CALENDAR_URL``). Times are
    aware datetimes; naive ones are refused rather than guessed. ``health`` (a
    :class:`~zohokit.calendar.CalendarHealth`, shared by a tenant's services) receives the
    warnings found in the tenant's calendar settings; without one the service keeps its own.
    """

    provider: ClassVar[Provider] = "zoho_calendar"

    def __init__(
        self,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
        client_id: str = "default",
        *,
        calendar_id: str | None = None,
        health: CalendarHealth | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(credentials, client_id, **kwargs)
        self.health = health if health is not None else CalendarHealth()
        self.calendar_id = (
            calendar_id or _calendar_id_of(credentials) or self.defaults.calendar_id or ""
        )

    @classmethod
    def for_client(
        cls, config: Mapping[str, Any], client_id: str = "default", **kwargs: Any
    ) -> ZohoCalendarService:
        """The seed's ``forClient``: ``zoho_client_id``, ``zoho_client_secret``,
        ``zoho_refresh_token`` and ``zoho_calendar_id`` from a client row."""
        credentials = cls._from_client_row(
            config, "client_id", "client_secret", "refresh_token", "calendar_id"
        )
        return cls(credentials, client_id, **kwargs)

    def is_configured(self) -> bool:
        """Whether credentials and a calendar id are known (the seed's)."""
        return self._has_credentials() and bool(self.calendar_id)

    def _calendar(self, calendar_id: str | None) -> str:
        chosen = calendar_id or self.calendar_id
        if not chosen:
            raise self._error(
                ConfigurationError,
                f"no Zoho calendar id for tenant {self.tenant!r}: pass calendar_id, set "
                "ZOHO_CALENDAR_ID, or give the tenant's schedule a [zoho] calendar_id",
                variables=("ZOHO_CALENDAR_ID",),
            )
        return chosen

    # --- calendars --------------------------------------------------------------------------

    async def list_calendars(self) -> list[dict[str, Any]]:
        """The user's calendars (``isdefault`` marks the primary one)."""
        answer = await self._call("GET", "/api/v1/calendars")
        return list((answer.body or {}).get("calendars") or [])

    async def get_calendar(self, calendar_id: str | None = None) -> dict[str, Any]:
        """One calendar's details (``primary`` names the user's default calendar)."""
        uid = quote(self._calendar(calendar_id), safe="")
        answer = await self._call("GET", f"/api/v1/calendars/{uid}")
        return first_item(
            answer.body,
            "calendars",
            lambda: NotFound(f"calendar {uid} does not exist", tenant=self.tenant),
        )

    async def check_freebusy(self, calendar_id: str | None = None) -> list[CalendarWarning]:
        """Whether Zoho counts the calendar (default: this service's) toward free/busy, as
        warnings (``calendar_not_in_freebusy``), recorded on :attr:`health` and logged at
        WARNING on ``zohokit.calendar``: Zoho itself answers as if the calendar were free."""
        uid = self._calendar(calendar_id)
        warnings = freebusy_warnings(await self.get_calendar(uid))
        self.health.record(self.tenant, uid, warnings)
        for warning in warnings:
            logger.warning("tenant %s: %s", self.tenant, warning.message)
        return warnings

    async def _left_out_of_freebusy(self, calendar_id: str) -> bool:
        known = self.health.fresh(self.tenant, calendar_id)
        found = await self.check_freebusy(calendar_id) if known is None else known
        return any(warning.code == NOT_IN_FREEBUSY for warning in found)

    # --- events -----------------------------------------------------------------------------

    async def list_events(
        self,
        start: datetime,
        end: datetime,
        *,
        calendar_id: str | None = None,
        byinstance: bool = False,
        with_description: bool = False,
    ) -> list[dict[str, Any]]:
        """Events touching ``[start, end)``; a range over 31 days is split into 31-day calls
        (sent concurrently) and an event seen by two of them is returned once.

        ``with_description`` asks for descriptions too (Zoho sends them only to
        ``Accept: application/json+large``)."""
        path = _event_path(self._calendar(calendar_id))
        headers = {"Accept": "application/json+large"} if with_description else None

        async def window(lo: datetime, hi: datetime) -> list[dict[str, Any]]:
            params = {"range": json.dumps({"start": format_utc(lo), "end": format_utc(hi)})}
            if byinstance:
                params["byinstance"] = "true"
            answer = await self._call("GET", path, params=params, headers=headers)
            return list((answer.body or {}).get("events") or [])

        pages = await asyncio.gather(*(window(lo, hi) for lo, hi in split_range(start, end)))
        seen: set[tuple[Any, Any]] = set()
        events = []
        for page in pages:
            for event in page:
                key = (event.get("uid"), event.get("recurrenceid"))
                if key not in seen:
                    seen.add(key)
                    events.append(event)
        return events

    async def get_event(self, event_uid: str, *, calendar_id: str | None = None) -> dict[str, Any]:
        """One event, with its current ``etag``."""
        answer = await self._call("GET", _event_path(self._calendar(calendar_id), event_uid))
        return first_item(
            answer.body,
            "events",
            lambda: NotFound(f"event {event_uid} does not exist", tenant=self.tenant),
        )

    async def create_event(
        self,
        title: str,
        start: datetime,
        end: datetime,
        *,
        description: str | None = None,
        location: str | None = None,
        attendees: Sequence[str | Mapping[str, Any]] = (),
        timezone: str = "UTC",
        calendar_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create an event (the seed's ``createEvent``) and return it, with ``uid``/``etag``.

        ``attendees`` are emails or Zoho attendee objects; ``extra`` adds any other
        ``eventdata`` key (``reminders``, ``rrule``, ``isprivate``, ...). Not retried after a
        lost answer: an event created twice is worse than an error.
        """
        if end <= start:
            raise ValueError("an event must end after it starts")
        eventdata: dict[str, Any] = {
            "title": title,
            "dateandtime": {
                "timezone": timezone,
                "start": format_utc(start),
                "end": format_utc(end),
            },
        }
        if description is not None:
            eventdata["description"] = description
        if location is not None:
            eventdata["location"] = location
        if attendees:
            eventdata["attendees"] = [
                {"email": a, "permission": 1, "attendance": 1} if isinstance(a, str) else dict(a)
                for a in attendees
            ]
        eventdata.update(extra or {})
        answer = await self._call(
            "POST",
            _event_path(self._calendar(calendar_id)),
            data={"eventdata": json.dumps(eventdata)},
            idempotent=False,
        )
        return first_item(answer.body, "events", _no_event)

    async def update_event(
        self,
        event_uid: str,
        changes: Mapping[str, Any] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        etag: str | int | None = None,
        calendar_id: str | None = None,
    ) -> dict[str, Any]:
        """Change an event and return it with its new ``etag``.

        ``changes`` holds ``eventdata`` keys (``title``, ``description``, ...); ``start`` and
        ``end`` move it. Without ``etag`` the current one is fetched first, and a change that
        loses a race with another writer is fetched and applied once more. With ``etag`` a
        stale one raises :class:`~zohokit.errors.PreconditionFailed`: the caller's copy is old.
        """
        cal = self._calendar(calendar_id)
        path = _event_path(cal, event_uid)
        attempts = 1 if etag is not None else 2
        for attempt in range(attempts):
            current: dict[str, Any] | None = None
            use_etag = etag
            if etag is None or attempt > 0:
                current = await self.get_event(event_uid, calendar_id=cal)
                use_etag = current["etag"]
            eventdata = {**(changes or {}), "etag": use_etag}
            dateandtime = dict(eventdata.get("dateandtime") or {})
            if not dateandtime:
                # Zoho wants dateandtime on every update: keep the event's when not moved.
                if current is None:
                    current = await self.get_event(event_uid, calendar_id=cal)
                dateandtime = dict(current["dateandtime"])
            if start is not None:
                dateandtime["start"] = format_utc(start)
            if end is not None:
                dateandtime["end"] = format_utc(end)
            eventdata["dateandtime"] = dateandtime
            try:
                answer = await self._call("PUT", path, data={"eventdata": json.dumps(eventdata)})
            except PreconditionFailed:
                if attempt + 1 >= attempts:
                    raise
                continue
            return first_item(answer.body, "events", _no_event)
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete_event(
        self,
        event_uid: str,
        *,
        etag: str | int | None = None,
        calendar_id: str | None = None,
    ) -> None:
        """Delete an event; without ``etag`` the current one is fetched first."""
        cal = self._calendar(calendar_id)
        if etag is None:
            etag = (await self.get_event(event_uid, calendar_id=cal))["etag"]
        await self._call("DELETE", _event_path(cal, event_uid), headers={"etag": str(etag)})

    # --- free/busy and slots ----------------------------------------------------------------

    async def get_freebusy(
        self,
        user_email: str,
        start: datetime,
        end: datetime,
        *,
        ftype: Literal["eventbased", "timebased"] = "eventbased",
    ) -> FreeBusy:
        """When ``user_email`` is busy in ``[start, end)``, over all their free/busy
        calendars. Either answer format is read; ranges over 31 days are split."""
        parse = parse_eventbased if ftype == "eventbased" else parse_timebased

        async def window(lo: datetime, hi: datetime) -> tuple[bool, list[Busy]]:
            params = {
                "uemail": user_email,
                "sdate": format_utc(lo)[:-1],  # Zoho documents no trailing Z: GMT implied
                "edate": format_utc(hi)[:-1],
                "ftype": ftype,
            }
            answer = await self._call("GET", "/api/v1/calendars/freebusy", params=params)
            body = answer.body or {}
            if isinstance(body, dict) and body.get("fb_not_enabled"):
                return False, []
            return True, parse(body)

        parts = await asyncio.gather(*(window(lo, hi) for lo, hi in split_range(start, end)))
        if not all(enabled for enabled, _ in parts):
            return FreeBusy([], enabled=False)
        return FreeBusy(merge([block for _, blocks in parts for block in blocks]))

    async def get_busy(
        self,
        start: datetime,
        end: datetime,
        *,
        user_email: str | None = None,
        calendar_id: str | None = None,
        exclude_event_uid: str | None = None,
    ) -> list[Busy]:
        """Busy time in ``[start, end)`` as the availability engine's :class:`Busy` entries.

        From ``user_email``'s free/busy when given (all their calendars), otherwise from the
        events of the calendar, one entry per occurrence of a recurring event, all-day events
        as floating dates. ``exclude_event_uid`` leaves one event out (a booking being moved
        must not block itself); free/busy cannot tell events apart, so it ignores it.

        With free/busy, the booking calendar (``calendar_id``, default this service's) is
        checked too (see :meth:`check_freebusy`): if Zoho leaves it out of free/busy, its
        events are read and added, and the tenant gets a ``calendar_not_in_freebusy`` warning.

        Fails closed: a user who does not share free/busy, or an answer that cannot be read,
        raises :class:`~zohokit.scheduling.FreeBusyUnavailable` instead of "nothing busy".
        """
        try:
            if user_email:
                freebusy = await self.get_freebusy(user_email, start, end)
                if not freebusy.enabled:
                    raise FreeBusyUnavailable(
                        f"{user_email} does not share free/busy (fb_not_enabled)",
                        reason="fb_not_enabled",
                        tenant=self.tenant,
                    )
                intervals = freebusy.busy
                booking = calendar_id or self.calendar_id
                if booking and await self._left_out_of_freebusy(booking):
                    # Zoho's free/busy does not see this calendar: read it, or every event
                    # on it (our own bookings included) would look free.
                    intervals = intervals + await self._event_busy(
                        start, end, booking, exclude_event_uid
                    )
            else:
                # Resolved first: a missing calendar id is a setting to fix, not unreadable data.
                calendar = self._calendar(calendar_id)
                intervals = await self._event_busy(start, end, calendar, exclude_event_uid)
        except (ZohoAPIError, TransportError) as exc:
            raise FreeBusyUnavailable(
                f"busy time could not be read: {exc}", reason=_reason(exc), tenant=self.tenant
            ) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise FreeBusyUnavailable(
                f"busy time could not be parsed: {exc!r}", reason="malformed", tenant=self.tenant
            ) from exc
        return intervals

    async def _event_busy(
        self, start: datetime, end: datetime, calendar_id: str, exclude_event_uid: str | None
    ) -> list[Busy]:
        events = await self.list_events(start, end, calendar_id=calendar_id, byinstance=True)
        return [
            busy_of_event(event, UTC)
            for event in events
            if not (exclude_event_uid and event.get("uid") == exclude_event_uid)
            and not is_free_event(event)
        ]

    async def get_available_slots(
        self,
        day: date,
        duration_minutes: int | None = None,
        *,
        timezone: str | None = None,
        work_start: time = time(9),
        work_end: time = time(17),
        step_minutes: int | None = None,
        user_email: str | None = None,
        calendar_id: str | None = None,
        schedule: Schedule | None = None,
        end_day: date | None = None,
        now: datetime | None = None,
        extra_busy: Iterable[Busy] = (),
    ) -> list[Slot]:
        """Free slots on ``day`` (to ``end_day``, inclusive) as seen in ``timezone`` (the
        seed's ``getAvailableSlots``), computed by the availability engine.

        Simple form: working hours ``work_start``-``work_end`` every day in ``timezone``
        (default UTC), slots of ``duration_minutes`` (default 30) every ``step_minutes``.
        With a ``schedule`` its rules apply instead (hours, buffers, notice, window, limits;
        ``duration_minutes`` overrides its slot length) and ``timezone`` (default: the
        schedule's) only sets the booker's dates and the zone of the returned times.

        Busy time is :meth:`get_busy` (free/busy of ``user_email``, else this calendar's
        events) plus ``extra_busy`` (our own bookings and holds). ``now`` defaults to the
        clock: no slot starts in the past. A user who does not share free/busy gets no slots:
        their busy time is unknown, and offering all of it would double-book them.
        """
        if schedule is None:
            zone_name = timezone or "UTC"
            blocks = (TimeBlock.parse(f"{work_start:%H:%M}-{hhmm(work_end, end=True)}"),)
            schedule = Schedule(
                time_zone=zone_name,
                weekly_hours=tuple(blocks for _ in range(7)),
                slot_duration=timedelta(minutes=duration_minutes or 30),
                slot_interval=timedelta(minutes=step_minutes) if step_minutes else None,
            )
        elif duration_minutes:
            schedule = replace(schedule, slot_duration=timedelta(minutes=duration_minutes))
        booker = load_zone(timezone) if timezone else schedule.zone
        last_day = end_day or day
        # Busy time is read a day wider on each side: buffers and other zones reach past the
        # booker's dates, and all-day events are dates that must be seen whole.
        lo = datetime.combine(day - timedelta(days=1), time(), booker)
        hi = datetime.combine(last_day + timedelta(days=2), time(), booker)
        try:
            busy = await self.get_busy(lo, hi, user_email=user_email, calendar_id=calendar_id)
        except FreeBusyUnavailable as exc:
            if exc.reason == "fb_not_enabled":
                return []
            raise
        return available_slots(
            schedule,
            [*busy, *extra_busy],
            start=day,
            end=last_day,
            now=now or system_clock(),
            booker_zone=booker,
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, TransportError):
        return "no_answer"
    status = getattr(exc, "status", None)
    return f"http_{status}" if status else "api_error"
