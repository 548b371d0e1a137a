"""One calendar event: validating ``eventdata``, expanding occurrences, rendering Zoho's JSON.

All-day events sit on UTC days: an all-day event's ``start`` and ``end`` are the first and the
last day it covers (both inclusive, so ``start == end`` is a one-day event; Zoho's samples use
that shape and no source shows an exclusive end). Internally both kinds of event keep a UTC
half-open ``[start, end)``; for all-day events that is midnight of the first day to midnight
after the last one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .._errors import ApiError
from ._recurrence import RecurrenceError, RRule, occurrence_starts, parse_rrule, wall_clock_to_utc
from ._times import (
    TimeFormatError,
    Window,
    format_date,
    format_local,
    format_utc,
    is_date_only,
    midnight_utc,
    parse_date,
    parse_instant,
    zone_named,
)

MAX_LOCATION = 255
MAX_DESCRIPTION = 10_000
_REMINDER_ACTIONS = ("email", "popup", "notification")


def invalid(message: str, **details: Any) -> ApiError:
    """A 400 ``INVALID_DATA`` error (the emulator's code for malformed ``eventdata``)."""
    return ApiError("INVALID_DATA", message, 400, details)


def missing(name: str) -> ApiError:
    """A 400 ``MANDATORY_NOT_FOUND`` error for the parameter or key ``name``."""
    return ApiError("MANDATORY_NOT_FOUND", f"{name} is required", 400, {"param_name": name})


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event: UTC ``[start, end)`` and, for a series, its recurrence id."""

    start: datetime
    end: datetime
    recurrenceid: str | None = None


@dataclass
class EventFields:
    """``eventdata`` after validation: what an :class:`Event` is built from."""

    source: dict[str, Any]
    title: str
    timezone: str
    isallday: bool
    start: datetime
    end: datetime
    rrule: RRule | None


@dataclass
class Event(EventFields):
    """A stored event: its validated fields and Zoho's bookkeeping. ``source`` is the
    validated ``eventdata`` it was built from; an update is applied on top of it, so keys a
    client leaves out keep their values."""

    uid: str
    id: str
    calendar_uid: str
    created: datetime
    modified: datetime
    createdby: str
    modifiedby: str
    etag: int
    #: Recurrence ids (UTC starts) of occurrences deleted one by one.
    exdates: set[datetime] = field(default_factory=set)

    def occurrences(self, window: Window) -> list[Occurrence]:
        """The event's occurrences that share time with ``window``, in order."""
        if self.rrule is None:
            if window.overlaps(self.start, self.end):
                return [Occurrence(self.start, self.end)]
            return []
        length = self.end - self.start
        # All-day series repeat on UTC days; timed ones on the wall clock of their zone.
        zone = UTC if self.isallday else zone_named(self.timezone)
        first = self.start.astimezone(zone).replace(tzinfo=None)
        to_utc = wall_clock_to_utc(zone)
        found = []
        for start in occurrence_starts(self.rrule, first, to_utc, until=window.end):
            if start in self.exdates or not window.overlaps(start, start + length):
                continue
            found.append(Occurrence(start, start + length, self.recurrence_id(start)))
        return found

    def recurrence_id(self, start: datetime) -> str:
        """Zoho's recurrence id of the occurrence starting at ``start``."""
        return format_date(start.date()) if self.isallday else format_utc(start)

    def parse_recurrence_id(self, text: Any) -> datetime:
        """The UTC start named by a recurrence id (``yyyyMMddTHHmmssZ`` or ``yyyyMMdd``)."""
        if not isinstance(text, str):
            raise invalid("recurrenceid must be a string")
        try:
            if is_date_only(text):
                day = parse_date(text)
                if not self.isallday:
                    raise invalid("recurrenceid of a timed event needs a time")
                return midnight_utc(day)
            return parse_instant(text)
        except TimeFormatError as exc:
            raise invalid(str(exc)) from exc

    def _spans_days(self, start: datetime, end: datetime) -> bool:
        if self.isallday:
            return end - start > timedelta(days=1)
        zone = zone_named(self.timezone)
        last = max(start, end - timedelta(microseconds=1))
        return start.astimezone(zone).date() != last.astimezone(zone).date()

    def render(
        self,
        *,
        calendar_id: str,
        organizer_name: str,
        base_url: str,
        occurrence: Occurrence | None = None,
        with_description: bool = True,
    ) -> dict[str, Any]:
        """The event as Zoho's events endpoints return it (one element of ``events``)."""
        start, end = (occurrence.start, occurrence.end) if occurrence else (self.start, self.end)
        if self.isallday:
            shown_start = format_date(start.date())
            shown_end = format_date((end - timedelta(days=1)).date())
        else:
            zone = zone_named(self.timezone)
            shown_start, shown_end = format_local(start, zone), format_local(end, zone)
        attendees = [
            {"status": "NEEDS-ACTION", **attendee} for attendee in self.source.get("attendees", [])
        ]
        reminders = list(self.source.get("reminders", []))
        body: dict[str, Any] = {
            "uid": self.uid,
            "id": self.id,
            # Zoho documents a long; the brief for this emulator fixed on a string, which is
            # what Zoho renders in some answers too and what clients echo back verbatim.
            "etag": str(self.etag),
            "calid": calendar_id,
            "caluid": self.calendar_uid,
            "title": self.title,
            "location": self.source.get("location", ""),
            "url": self.source.get("url", ""),
            "dateandtime": {"timezone": self.timezone, "start": shown_start, "end": shown_end},
            "isallday": self.isallday,
            "multiday": self._spans_days(start, end),
            "isprivate": bool(self.source.get("isprivate", False)),
            "role": "organizer",
            "organizer": self.createdby,
            "createdby": self.createdby,
            "modifiedby": self.modifiedby,
            "orgDName": organizer_name,
            "attendees": attendees,
            "reminders": reminders,
            "createdtime": format_utc(self.created),
            "lastmodifiedtime": format_utc(self.modified),
            "duration": str(int((end - start).total_seconds() * 1000)),
            "has_attachment": False,
            "enable_eventmanagement": False,
            "calendar_alarm": bool(reminders),
            "etype": "EVENT",
            "isApproved": True,
            "color": "",
            "viewEventURL": f"{base_url}/zc/viewevent/{self.uid}",
        }
        if with_description:
            body["description"] = self.source.get("description", "")
        if self.rrule is not None:
            body["rrule"] = self.rrule.text
            body["isrep"] = True
        if occurrence is not None and occurrence.recurrenceid is not None:
            body["recurrenceid"] = occurrence.recurrenceid
        return body


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(f"{key} must be true or false", key=key)


def _text(data: Mapping[str, Any], key: str, limit: int | None = None) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"{key} must be a string", key=key)
    if limit is not None and len(value) > limit:
        raise invalid(f"{key} must be at most {limit} characters", key=key, maximum_length=limit)
    return value


def _list_of(value: Any, key: str) -> list[Any]:
    """``value`` as a list (absent is empty), or the 400 naming ``key``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"{key} must be a list", key=key)
    return value


def _attendees(value: Any) -> list[dict[str, Any]]:
    out = []
    for attendee in _list_of(value, "attendees"):
        email = attendee.get("email") if isinstance(attendee, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise invalid("every attendee needs an email", key="attendees")
        out.append(dict(attendee))
    return out


def _reminders(value: Any) -> list[dict[str, Any]]:
    out = []
    for reminder in _list_of(value, "reminders"):
        if not isinstance(reminder, dict) or reminder.get("action") not in _REMINDER_ACTIONS:
            raise invalid(
                f"every reminder needs an action among {', '.join(_REMINDER_ACTIONS)}",
                key="reminders",
            )
        minutes = reminder.get("minutes", "0")
        try:
            int(str(minutes))
        except ValueError:
            raise invalid("reminder minutes must be an integer", key="reminders") from None
        # Zoho echoes minutes as a string (cal.com sends "-15"); keep the sign as sent.
        out.append({**reminder, "minutes": str(minutes)})
    return out


def validate_eventdata(data: Any, *, default_timezone: str) -> EventFields:
    """Check ``eventdata`` as Zoho's create and update do, and normalise it.

    Raises :class:`CalendarError` (400) naming the first problem found.
    """
    if not isinstance(data, dict):
        raise invalid("eventdata must be a JSON object")
    when = data.get("dateandtime")
    if when is None:
        raise missing("dateandtime")
    if not isinstance(when, dict):
        raise invalid("dateandtime must be an object", key="dateandtime")
    for key in ("start", "end"):
        if not when.get(key):
            raise missing(f"dateandtime.{key}")
    isallday = _bool(data, "isallday")
    tz_name = when.get("timezone") or default_timezone
    if not isinstance(tz_name, str):
        raise invalid("timezone must be an IANA zone name", key="dateandtime")
    try:
        zone_named(tz_name)
        if isallday:
            if not (is_date_only(when["start"]) and is_date_only(when["end"])):
                raise invalid("an all-day event takes yyyyMMdd dates", key="dateandtime")
            first, last = parse_date(when["start"]), parse_date(when["end"])
            if last < first:
                raise invalid("the end date is before the start date", key="dateandtime")
            start, end = midnight_utc(first), midnight_utc(last + timedelta(days=1))
        else:
            if is_date_only(when["start"]) or is_date_only(when["end"]):
                raise invalid(
                    "a timed event takes yyyyMMdd'T'HHmmss'Z'; set isallday for dates",
                    key="dateandtime",
                )
            start, end = parse_instant(when["start"]), parse_instant(when["end"])
            if end < start:
                raise invalid("the end time is before the start time", key="dateandtime")
    except TimeFormatError as exc:
        raise invalid(str(exc), key="dateandtime") from exc
    rrule = None
    if data.get("rrule"):
        try:
            rrule = parse_rrule(data["rrule"])
        except RecurrenceError as exc:
            raise invalid(str(exc), key="rrule") from exc
    title = _text(data, "title")
    source: dict[str, Any] = {
        "title": title,
        "dateandtime": {"timezone": tz_name, "start": when["start"], "end": when["end"]},
        "isallday": isallday,
        "isprivate": _bool(data, "isprivate"),
        "location": _text(data, "location", MAX_LOCATION),
        "description": _text(data, "description", MAX_DESCRIPTION),
        "url": _text(data, "url"),
        "attendees": _attendees(data.get("attendees")),
        "reminders": _reminders(data.get("reminders")),
    }
    if rrule is not None:
        source["rrule"] = rrule.text
    return EventFields(source, title, tz_name, isallday, start, end, rrule)
