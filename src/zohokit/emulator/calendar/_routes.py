"""Calendar v1 HTTP routes: thin handlers over :class:`CalendarStore`.

Calendar passes JSON objects inside string parameters (``eventdata``, ``range``), in the query
string (cal.com) or in an urlencoded or multipart body (Pipedream); both are read here, the
body winning when a key is in both.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._core import zoho_json
from .._errors import authenticated, invalid_url
from . import _freebusy
from ._events import invalid, missing
from ._times import (
    TimeFormatError,
    Window,
    check_window,
    parse_freebusy_bound,
    parse_range,
    zone_named,
)

if TYPE_CHECKING:
    from .._core import Emulator

Handler = Callable[[Request], Awaitable[Response]]

#: Zoho serves a repeating event's instances over up to 90 days (the events list: 31).
_INSTANCES_LIMIT_DAYS = 90


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "DELETE") and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        async with request.form() as form:
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
    return params


def _json_param(params: dict[str, str], name: str, *, required: bool) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise missing(name)
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise invalid(f"{name} is not valid JSON", param_name=name) from exc


def _flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").lower() == "true"


class CalendarApi:
    """The Calendar v1 handlers, bound to one emulator."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def guarded(self, handler: Callable[[Request], Awaitable[Any]]) -> Handler:
        """Wrap ``handler`` with authentication, :class:`ApiError` rendering and JSON framing.

        A handler returns a :class:`Response` or a JSON-able body (answered with 200).
        """

        async def framed(request: Request) -> Response:
            result = await handler(request)
            return result if isinstance(result, Response) else zoho_json(result)

        framed.__name__ = handler.__name__
        framed.__doc__ = handler.__doc__
        return authenticated(self.emu, "calendar", framed)

    async def list_calendars(self, request: Request) -> Any:
        """``GET /api/v1/calendars``."""
        return {"calendars": [cal.render() for cal in self.emu.calendar.calendars()]}

    async def create_calendar(self, request: Request) -> Any:
        """``POST /api/v1/calendars?calendarData={"name": ...}``."""
        data = _json_param(await _params(request), "calendarData", required=True)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
            raise missing("calendarData.name")
        timezone = data.get("timezone", "UTC")
        try:
            zone_named(timezone)
        except TimeFormatError as exc:
            raise invalid(str(exc), key="timezone") from exc
        uid = self.emu.calendar.add_calendar(
            data["name"],
            timezone=timezone,
            include_infreebusy=bool(data.get("include_infreebusy", True)),
        )
        return zoho_json({"calendars": [self.emu.calendar.calendar(uid).render()]}, status=201)

    async def get_calendar(self, request: Request) -> Any:
        """``GET /api/v1/calendars/{uid}`` (``default`` and ``primary`` name the primary)."""
        cal = self.emu.calendar.calendar(request.path_params["calendar_uid"])
        return {"calendars": [cal.render()]}

    async def update_calendar(self, request: Request) -> Any:
        """``PUT /api/v1/calendars/{uid}?calendarData={...}``: rename, recolour, or turn
        "include in free/busy" on or off."""
        data = _json_param(await _params(request), "calendarData", required=True)
        if isinstance(data, dict) and "timezone" in data:
            try:
                from ._times import zone_named

                zone_named(str(data["timezone"]))
            except TimeFormatError as exc:
                raise invalid(str(exc), key="timezone") from exc
        cal = self.emu.calendar.update_calendar(request.path_params["calendar_uid"], data)
        return {"calendars": [cal.render()]}

    async def events(self, request: Request) -> Any:
        """``GET`` lists events in a ``range``; ``POST`` creates one from ``eventdata``."""
        calendar_uid = request.path_params["calendar_uid"]
        params = await _params(request)
        if request.method == "POST":
            eventdata = _json_param(params, "eventdata", required=True)
            event = self.emu.calendar.create_event(calendar_uid, eventdata)
            # Zoho's status for a created event is unverified (clients only check ok); 201 is
            # what HTTP and our CRM emulator say for a creation.
            return zoho_json({"events": [self.emu.calendar.render_event(event)]}, status=201)
        self.emu.calendar.calendar(calendar_uid)  # 404 before 400 for an unknown calendar
        try:
            window = parse_range(params.get("range"))
        except TimeFormatError as exc:
            raise invalid(str(exc), param_name="range") from exc
        # Descriptions only come with Accept: application/json+large, as in Zoho.
        large = "application/json+large" in request.headers.get("accept", "")
        found = self.emu.calendar.list_events(
            calendar_uid, window, byinstance=_flag(params, "byinstance"), with_description=large
        )
        # The empty shape is unverified; an empty list is what every client handles.
        return {"events": found}

    async def event(self, request: Request) -> Any:
        """``GET``, ``PUT`` (``eventdata`` with ``etag``) or ``DELETE`` one event."""
        calendar_uid = request.path_params["calendar_uid"]
        event_uid = request.path_params["event_uid"]
        if request.method == "GET":
            found = self.emu.calendar.event(calendar_uid, event_uid)
            return {"events": [self.emu.calendar.render_event(found)]}
        params = await _params(request)
        if request.method == "PUT":
            eventdata = _json_param(params, "eventdata", required=True)
            updated = self.emu.calendar.update_event(calendar_uid, event_uid, eventdata)
            return {"events": [self.emu.calendar.render_event(updated)]}
        eventdata = _json_param(params, "eventdata", required=False) or {}
        if not isinstance(eventdata, dict):
            raise invalid("eventdata must be a JSON object", param_name="eventdata")
        etag = request.headers.get("etag") or eventdata.get("etag")
        recurrenceid = eventdata.get("recurrenceid")
        cal = self.emu.calendar.calendar(calendar_uid)
        survivor = self.emu.calendar.delete_event(
            cal.uid,
            event_uid,
            etag=etag,
            recurrenceid=recurrenceid,
            edittype=eventdata.get("recurrence_edittype"),
        )
        # Zoho's delete body is unverified (clients only check ok and parse JSON). The
        # emulator answers the deleted uid and its CalDAV address, plus, when one occurrence
        # was cut from a series, its recurrenceid and the series' new etag for the next edit.
        body: dict[str, Any] = {
            "uid": event_uid,
            "caldav_url": f"{self.emu.base_url}/caldav/{cal.uid}/events/{event_uid}.ics",
        }
        if survivor is not None:
            body["recurrenceid"] = recurrenceid
            body["etag"] = str(survivor.etag)
        return {"events": [body]}

    async def instances(self, request: Request) -> Any:
        """``GET .../events/{uid}/byinstance?range=``: occurrences of one repeating event."""
        params = await _params(request)
        try:
            window = parse_range(params.get("range"), limit=timedelta(days=_INSTANCES_LIMIT_DAYS))
        except TimeFormatError as exc:
            raise invalid(str(exc), param_name="range") from exc
        found = self.emu.calendar.instances(
            request.path_params["calendar_uid"], request.path_params["event_uid"], window
        )
        return {"events": found}

    async def freebusy(self, request: Request) -> Any:
        """``GET /api/v1/calendars/freebusy?uemail=&sdate=&edate=&ftype=``."""
        params = dict(request.query_params)
        email = params.get("uemail", "")
        if not email:
            raise missing("uemail")
        try:
            window = Window(
                parse_freebusy_bound(params.get("sdate"), "sdate"),
                parse_freebusy_bound(params.get("edate"), "edate"),
            )
            check_window(window)
        except TimeFormatError as exc:
            raise invalid(str(exc)) from exc
        # The default ftype is cut off in the copy of Zoho's docs we have; event-based is what
        # every client in the wild asks for, so it is the default here.
        ftype = params.get("ftype") or "eventbased"
        if ftype not in ("eventbased", "timebased"):
            raise invalid("ftype must be eventbased or timebased", param_name="ftype")
        if email.lower() not in {user.lower() for user in self.emu.calendar.users()}:
            # Zoho's answer for an unknown user is undocumented; a 400 naming the parameter.
            raise invalid("no Zoho Calendar user has this email", param_name="uemail")
        if not self.emu.calendar.freebusy_enabled:
            return {"fb_not_enabled": True}
        blocks = self.emu.calendar.busy(email, window)
        if ftype == "timebased":
            return _freebusy.timebased(blocks, window)
        return _freebusy.eventbased(blocks)

    async def not_found(self, request: Request) -> Any:
        """Any other path under ``/api/v1/``: 404 with a JSON body, as Zoho's gateway."""
        raise invalid_url()

    def routes(self) -> list[BaseRoute]:
        """Every Calendar v1 route, with full paths under ``/api/v1/``."""
        prefix = "/api/v1/calendars"
        return [
            Route(prefix, self.guarded(self.list_calendars), methods=["GET"]),
            Route(prefix, self.guarded(self.create_calendar), methods=["POST"]),
            Route(f"{prefix}/freebusy", self.guarded(self.freebusy), methods=["GET"]),
            Route(prefix + "/{calendar_uid}", self.guarded(self.get_calendar), methods=["GET"]),
            Route(prefix + "/{calendar_uid}", self.guarded(self.update_calendar), methods=["PUT"]),
            Route(
                prefix + "/{calendar_uid}/events",
                self.guarded(self.events),
                methods=["GET", "POST"],
            ),
            Route(
                prefix + "/{calendar_uid}/events/{event_uid}",
                self.guarded(self.event),
                methods=["GET", "PUT", "DELETE"],
            ),
            Route(
                prefix + "/{calendar_uid}/events/{event_uid}/byinstance",
                self.guarded(self.instances),
                methods=["GET"],
            ),
            Route(
                "/api/v1/{rest:path}",
                self.guarded(self.not_found),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
        ]


def calendar_routes(emu: Emulator) -> list[BaseRoute]:
    """Every Calendar v1 route of ``emu``, with full paths under ``/api/v1/``."""
    return CalendarApi(emu).routes()
