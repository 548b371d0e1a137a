"""The Calendar emulator's state: one user's calendars and their events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._errors import ApiError
from ._events import Event, Occurrence, invalid, missing, validate_eventdata
from ._freebusy import Busy
from ._times import Window, format_utc

if TYPE_CHECKING:
    from .._core import Emulator

#: Calendar uids a client may use instead of the primary calendar's real uid.
PRIMARY_ALIASES = ("default", "primary")
#: The ``calendarData`` keys an update may change.
_CALENDAR_KEYS = frozenset({"name", "description", "color", "timezone", "include_infreebusy"})
_COLORS = ("#005DE0", "#8CBF40", "#E5533D", "#F2B807", "#7B5EA7", "#2BA3A8")


@dataclass
class Calendar:
    """One calendar of the emulated user."""

    uid: str
    id: str
    name: str
    color: str
    timezone: str
    owner: str
    isdefault: bool
    include_infreebusy: bool
    created: datetime
    modified: datetime
    ctag: int
    description: str = ""

    def render(self) -> dict[str, Any]:
        """The calendar as ``GET /api/v1/calendars`` returns it."""
        created_ms = int(self.created.timestamp() * 1000)
        return {
            "uid": self.uid,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "color": self.color,
            "textcolor": "#FFFFFF",
            "timezone": self.timezone,
            "privilege": "owner",
            "category": "own",
            "caltype": "own",
            "isdefault": self.isdefault,
            "type": 0,
            "order": 0,
            "status": True,
            "visibility": True,
            "include_infreebusy": self.include_infreebusy,
            "canSendMail": True,
            "reminders": [],
            "owner": self.owner,
            "ctag": self.ctag,
            "createdtime": created_ms,
            "modifiedtime": int(self.modified.timestamp() * 1000),
            "lastmodifiedtime": format_utc(self.modified),
        }


class CalendarStore:
    """Calendars and events of the emulated user (``emu.config.user_email``).

    At creation it holds one primary calendar, "My Calendar", in UTC, whose uid depends only
    on the emulator's seed. Tests seed more calendars and events through the public methods;
    the HTTP routes use the same methods, so seeded data behaves exactly like created data.
    """

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu
        self._rng = emu.rng("calendar")
        self._calendars: dict[str, Calendar] = {}
        self._events: dict[str, dict[str, Event]] = {}
        self._last_etag = 0
        self._serial = 0
        self._freebusy_enabled = True
        self._primary_uid = self.add_calendar("My Calendar")

    # ----------------------------------------------------------------- helpers

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._emu.clock.now(), tz=UTC)

    def _hex(self) -> str:
        self._changed_meta()
        return f"{self._rng.getrandbits(128):032x}"

    def _changed_meta(self) -> None:
        self._emu.journal.changed("meta", "calendar", self._meta)

    def _meta(self) -> dict[str, Any]:
        return {
            "primary_uid": self._primary_uid,
            "last_etag": self._last_etag,
            "serial": self._serial,
            "freebusy_enabled": self._freebusy_enabled,
            "rng": self._rng.getstate(),
        }

    def _saved(self, event: Event) -> None:
        self._emu.journal.changed("event", f"{event.calendar_uid}/{event.uid}", event)

    def _dropped(self, event: Event) -> None:
        del self._events[event.calendar_uid][event.uid]
        self._emu.journal.removed("event", f"{event.calendar_uid}/{event.uid}")

    def _next_id(self) -> str:
        # Zoho ids are long numbers rendered as strings; keep them strings end to end.
        self._serial += 1
        return f"1657000000{self._serial:06d}"

    def _next_etag(self) -> int:
        # Epoch milliseconds, yet strictly increasing even when two writes share a millisecond
        # (or the test clock moves back): clients compare etags for equality only, but a
        # repeated value would let a stale etag pass.
        self._last_etag = max(int(self._emu.clock.now() * 1000), self._last_etag + 1)
        self._changed_meta()
        return self._last_etag

    @property
    def user_email(self) -> str:
        """The one user whose calendars the emulator serves."""
        return self._emu.config.user_email

    # --------------------------------------------------------------- calendars

    @property
    def primary_uid(self) -> str:
        """Uid of the user's default calendar."""
        return self._primary_uid

    def add_calendar(
        self, name: str, *, timezone: str = "UTC", include_infreebusy: bool = True
    ) -> str:
        """Create another calendar of the user and return its uid (32 hex characters)."""
        uid = self._hex()
        now = self._now()
        first = not self._calendars
        self._calendars[uid] = Calendar(
            uid=uid,
            id=self._next_id(),
            name=name,
            color=_COLORS[len(self._calendars) % len(_COLORS)],
            timezone=timezone,
            owner=self.user_email,
            isdefault=first,
            include_infreebusy=include_infreebusy,
            created=now,
            modified=now,
            ctag=self._next_etag(),
        )
        self._events[uid] = {}
        self._emu.journal.changed("calendar", uid, self._calendars[uid])
        return uid

    def update_calendar(self, uid: str, data: Any) -> Calendar:
        """Change a calendar's ``name``, ``description``, ``color``, ``timezone`` or
        ``include_infreebusy`` (the keys of ``calendarData``); others are refused."""
        cal = self.calendar(uid)
        if not isinstance(data, dict):
            raise invalid("calendarData must be a JSON object")
        unknown = sorted(set(data) - _CALENDAR_KEYS)
        if unknown:
            raise invalid(f"calendarData cannot change {', '.join(unknown)}", key=unknown[0])
        for key in ("name", "description", "color", "timezone"):
            if key in data and not isinstance(data[key], str):
                raise invalid(f"calendarData.{key} must be a string", key=key)
        if "include_infreebusy" in data and not isinstance(data["include_infreebusy"], bool):
            raise invalid("calendarData.include_infreebusy must be true or false")
        if data.get("name") == "":
            raise missing("calendarData.name")
        for key, value in data.items():
            setattr(cal, key, value)
        self._touch(cal)
        return cal

    def calendars(self) -> list[Calendar]:
        """Every calendar, the default one first."""
        return sorted(self._calendars.values(), key=lambda cal: not cal.isdefault)

    def calendar(self, uid: str) -> Calendar:
        """The calendar ``uid`` (or ``default``/``primary``); 404 ``NOT_FOUND`` if unknown."""
        if uid in PRIMARY_ALIASES:
            uid = self._primary_uid
        found = self._calendars.get(uid)
        if found is None:
            raise ApiError("NOT_FOUND", "the calendar does not exist", 404, {"uid": uid})
        return found

    # ---------------------------------------------------------------- free/busy

    @property
    def freebusy_enabled(self) -> bool:
        """Whether the user shares free/busy (if not, free/busy answers ``fb_not_enabled``)."""
        return self._freebusy_enabled

    def set_freebusy_enabled(self, enabled: bool) -> None:
        """Turn the user's free/busy sharing on or off."""
        self._freebusy_enabled = enabled
        self._changed_meta()

    def users(self) -> set[str]:
        """Emails of the users who own calendars here."""
        return {cal.owner for cal in self._calendars.values()}

    def busy(self, user_email: str, window: Window) -> list[Busy]:
        """Busy blocks of ``user_email`` in ``window``: every occurrence of every event on a
        calendar that counts in free/busy.

        A calendar whose ``include_infreebusy`` is off is left out without a word, as Zoho
        does: the answer looks exactly like free time (this is how integrators double-book).
        """
        blocks: list[Busy] = []
        for cal in self._calendars.values():
            if cal.owner.lower() != user_email.lower() or not cal.include_infreebusy:
                continue
            for event in self._events[cal.uid].values():
                blocks.extend(
                    Busy(occ.start, occ.end, event.isallday) for occ in event.occurrences(window)
                )
        return sorted(blocks, key=lambda block: (block.start, block.end))

    # ------------------------------------------------------------------ events

    def _render(
        self, event: Event, occurrence: Occurrence | None = None, *, with_description: bool = True
    ) -> dict[str, Any]:
        return event.render(
            calendar_id=self.calendar(event.calendar_uid).id,
            organizer_name=self._emu.config.user_name,
            base_url=self._emu.base_url,
            occurrence=occurrence,
            with_description=with_description,
        )

    def event(self, calendar_uid: str, event_uid: str) -> Event:
        """The event ``event_uid`` of the calendar; 404 ``NOT_FOUND`` if either is unknown."""
        cal = self.calendar(calendar_uid)
        found = self._events[cal.uid].get(event_uid)
        if found is None:
            raise ApiError("NOT_FOUND", "the event does not exist", 404, {"uid": event_uid})
        return found

    def render_event(self, event: Event) -> dict[str, Any]:
        """``event`` as the get-event endpoint returns it."""
        return self._render(event)

    def create_event(self, calendar_uid: str, eventdata: Any) -> Event:
        """Validate ``eventdata`` and store a new event; raises :class:`ApiError`."""
        cal = self.calendar(calendar_uid)
        fields = validate_eventdata(eventdata, default_timezone=cal.timezone)
        now = self._now()
        event = Event(
            uid=f"{self._hex()}@zoho.com",
            id=self._next_id(),
            calendar_uid=cal.uid,
            created=now,
            modified=now,
            createdby=self.user_email,
            modifiedby=self.user_email,
            etag=self._next_etag(),
            **vars(fields),  # what the validated eventdata says
        )
        self._events[cal.uid][event.uid] = event
        self._saved(event)
        self._touch(cal)
        return event

    def _touch(self, cal: Calendar) -> None:
        cal.modified = self._now()
        cal.ctag = self._next_etag()
        self._emu.journal.changed("calendar", cal.uid, cal)

    @staticmethod
    def _check_etag(event: Event, etag: Any) -> None:
        if etag is None or etag == "":
            raise missing("etag")
        if str(etag).strip() != str(event.etag):
            # Zoho's answer to a stale etag is undocumented. 412 Precondition Failed is what
            # HTTP says for a failed If-Match, and what our CRM emulator uses for a failed
            # If-Unmodified-Since; the body names the current etag so a client can re-fetch.
            raise ApiError(
                "ETAG_MISMATCH",
                "the event was modified since this etag was read",
                412,
                {"etag": str(event.etag)},
            )

    def update_event(self, calendar_uid: str, event_uid: str, eventdata: Any) -> Event:
        """Apply ``eventdata`` (which must carry ``dateandtime`` and the current ``etag``).

        Keys left out keep their values (Zoho's update is documented as taking the event's
        keys, and clients send partial payloads); ``dateandtime`` is replaced as a whole.
        """
        event = self.event(calendar_uid, event_uid)
        if not isinstance(eventdata, dict):
            raise invalid("eventdata must be a JSON object")
        if "dateandtime" not in eventdata:
            raise missing("dateandtime")
        self._check_etag(event, eventdata.get("etag"))
        cal = self.calendar(event.calendar_uid)
        recurrenceid = eventdata.get("recurrenceid")
        mode = str(eventdata.get("recurrence_edittype") or "only").lower()
        if recurrenceid and mode != "all":
            return self._break_occurrence(event, eventdata, recurrenceid, mode)
        merged = {**event.source, **eventdata}
        fields = validate_eventdata(merged, default_timezone=cal.timezone)
        event.source = fields.source
        event.title = fields.title
        event.timezone = fields.timezone
        event.isallday = fields.isallday
        event.start, event.end = fields.start, fields.end
        if fields.rrule != event.rrule:
            # A new series shape invalidates the occurrences deleted from the old one.
            event.exdates.clear()
        event.rrule = fields.rrule
        event.modified = self._now()
        event.modifiedby = self.user_email
        event.etag = self._next_etag()
        self._saved(event)
        self._touch(cal)
        return event

    def _occurrence_start(self, event: Event, recurrenceid: Any) -> datetime:
        if event.rrule is None:
            raise invalid("recurrenceid given for an event that does not repeat")
        start = event.parse_recurrence_id(recurrenceid)
        window = Window(start, start + max(event.end - event.start, timedelta(seconds=1)))
        if not any(occ.start == start for occ in event.occurrences(window)):
            raise ApiError(
                "NOT_FOUND",
                "no occurrence has this recurrenceid",
                404,
                {"recurrenceid": str(recurrenceid)},
            )
        return start

    def _break_occurrence(
        self, event: Event, eventdata: dict[str, Any], recurrenceid: Any, mode: str
    ) -> Event:
        """Edit one occurrence: it leaves the series and becomes an event of its own.

        Zoho calls this a "break event" and keeps the series uid plus a recurrenceid; the
        emulator gives the detached occurrence its own uid instead, which clients that
        re-read the answer handle the same way. Editing "following" occurrences is not
        emulated (its semantics for edits are unverified) and is refused.
        """
        if mode != "only":
            raise invalid("recurrence_edittype for an update must be only or all")
        start = self._occurrence_start(event, recurrenceid)
        data = {
            key: value
            for key, value in {**event.source, **eventdata}.items()
            if key not in ("rrule", "recurrenceid", "recurrence_edittype", "etag")
        }
        detached = self.create_event(event.calendar_uid, data)
        event.exdates.add(start)
        event.modified = self._now()
        event.etag = self._next_etag()
        self._saved(event)
        return detached

    def delete_event(
        self,
        calendar_uid: str,
        event_uid: str,
        *,
        etag: Any,
        recurrenceid: Any = None,
        edittype: Any = None,
    ) -> Event | None:
        """Delete an event, or with ``recurrenceid`` one occurrence (``edittype`` ``only``,
        the default) or that occurrence and the ones after it (``following``).

        Returns the event when it survives (an occurrence was cut from its series), else
        ``None``. Raises :class:`ApiError` for a missing or stale etag.
        """
        event = self.event(calendar_uid, event_uid)
        self._check_etag(event, etag)
        cal = self.calendar(event.calendar_uid)
        if recurrenceid is None or recurrenceid == "":
            self._dropped(event)
            self._touch(cal)
            return None
        start = self._occurrence_start(event, recurrenceid)
        mode = str(edittype or "only").lower()
        if mode == "only":
            event.exdates.add(start)
        elif mode == "following":
            if start <= event.start or event.rrule is None:
                self._dropped(event)
                self._touch(cal)
                return None
            # End the series just before the cut: an UNTIL one second earlier.
            rule = replace(event.rrule, until=start - timedelta(seconds=1), count=None)
            event.rrule = replace(rule, text=_with_until(event.rrule.text, rule.until))
            event.source["rrule"] = event.rrule.text
        else:
            raise invalid("recurrence_edittype must be only or following")
        event.modified = self._now()
        event.etag = self._next_etag()
        self._saved(event)
        self._touch(cal)
        return event

    def list_events(
        self, calendar_uid: str, window: Window, *, byinstance: bool, with_description: bool
    ) -> list[dict[str, Any]]:
        """Events of the calendar that share time with ``window``, ordered by start.

        Without ``byinstance`` a repeating event appears once (its series, with ``rrule``) if
        any occurrence falls in the window; with it, each occurrence appears on its own with
        its ``recurrenceid`` and its own start and end.
        """
        cal = self.calendar(calendar_uid)
        rows: list[tuple[datetime, dict[str, Any]]] = []
        for event in self._events[cal.uid].values():
            found = event.occurrences(window)
            if not found:
                continue
            if byinstance and event.rrule is not None:
                rows.extend(
                    (occ.start, self._render(event, occ, with_description=with_description))
                    for occ in found
                )
            else:
                rows.append((event.start, self._render(event, with_description=with_description)))
        rows.sort(key=lambda row: row[0])
        return [body for _, body in rows]

    def instances(self, calendar_uid: str, event_uid: str, window: Window) -> list[dict[str, Any]]:
        """Each occurrence of one event inside ``window``, with its ``recurrenceid``."""
        event = self.event(calendar_uid, event_uid)
        return [self._render(event, occ) for occ in event.occurrences(window)]

    def seed_events(self, calendar_uid: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store events given as the API's ``eventdata`` dicts; return them as Zoho would,
        each with its ``uid`` and ``etag``."""
        return [self._render(self.create_event(calendar_uid, data)) for data in events]

    def events(self, calendar_uid: str) -> list[dict[str, Any]]:
        """Every event of the calendar (series once each), ordered by start."""
        cal = self.calendar(calendar_uid)
        stored = sorted(self._events[cal.uid].values(), key=lambda event: event.start)
        return [self._render(event) for event in stored]


def _with_until(text: str, until: datetime | None) -> str:
    """``text`` with its COUNT/UNTIL replaced by ``UNTIL=until``."""
    body = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    parts = [p for p in body.split(";") if p and p.split("=")[0].upper() not in ("COUNT", "UNTIL")]
    if until is not None:
        parts.append(f"UNTIL={format_utc(until)}")
    return ";".join(parts)
