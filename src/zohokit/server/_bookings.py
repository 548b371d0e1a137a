"""The availability and booking API: schedules, availability, holds and bookings per tenant.

Every route runs the :class:`~zohokit.scheduling.BookingService` of the service's
:class:`~zohokit.Zoho` root (built once in the app's lifespan) and maps its errors to 4xx/5xx JSON
answers. A tenant-scoped key may only touch its own tenant. Routes that call Zoho refuse a
tenant with no stored connection (424), for the same reason the token broker does: the token
service would otherwise fall back to the ``ZOHO_*`` environment and use one business's Zoho
account for every tenant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
    ZohoError,
)
from ..scheduling import (
    Booking,
    BookingNotFound,
    BookingService,
    Customer,
    FreeBusyUnavailable,
    Hold,
    HoldExpired,
    HoldNotFound,
    IdempotencyConflict,
    InvalidSchedule,
    ScheduleNotFound,
    Slot,
    SlotNotOffered,
    SlotTaken,
    TenantSchedule,
    load_zone,
    parse_schedule_file,
)
from ._auth import ApiPrincipal, Principal, ensure_tenant_access
from ._models import TenantPath
from ._state import ServiceState, State
from ._tenants import require_tenant

__all__ = [
    "BookingCreate",
    "BookingOut",
    "ScheduleBody",
    "get_booking_service",
    "router",
]

#: The widest date range one availability call may ask for (it reads Zoho busy time for it).
MAX_AVAILABILITY_DAYS = 62
#: The longest slot, buffer or interval, in minutes (one day).
MAX_MINUTES = 24 * 60
#: Instants outside these years are refused: the engine adds margins of days around them.
_FIRST_YEAR, _LAST_YEAR = 1971, 9000
_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
_ID = r"^[A-Za-z0-9_\-]{1,64}$"
_BLOCK = r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$"
_PRINTABLE = r"^[\x21-\x7e]{1,255}$"

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
BookingStatus = Literal["complete", "pending", "cancel_pending", "cancelled"]
Minutes = Annotated[int, Field(strict=True, ge=1, le=MAX_MINUTES)]
OptionalMinutes = Annotated[int, Field(strict=True, ge=0, le=MAX_MINUTES)]
Block = Annotated[str, Field(pattern=_BLOCK, examples=["09:00-12:30"])]
IdPath = Annotated[str, Path(pattern=_ID, description="An id this API returned")]


def _check_zone(name: str) -> str:
    load_zone(name)  # UnknownTimeZone is a ValueError: pydantic turns it into a 422
    return name


def _check_instant(moment: datetime) -> datetime:
    if not _FIRST_YEAR <= moment.astimezone(UTC).year <= _LAST_YEAR:
        raise ValueError(f"must lie between the years {_FIRST_YEAR} and {_LAST_YEAR}")
    return moment


# --- bodies and answers ----------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_Body):
    """Who books: a name and an email address; phone and notes are optional."""

    name: str = Field(min_length=1, max_length=200, examples=["Bo Lee"])
    email: str = Field(pattern=_EMAIL, max_length=254, examples=["bo@example.com"])
    phone: str | None = Field(default=None, max_length=40)
    #: Shown in the calendar event and under the booking summary in the CRM record.
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def customer(self) -> Customer:
        """The booking flow's :class:`Customer`: the last word is the last name."""
        first, _, last = self.name.rpartition(" ")
        return Customer(self.email, first.strip() or None, last, self.phone, notes=self.notes)


class BookingCreate(_Body):
    """Book a free slot (``start``) or a held one (``hold_id``), exactly one of them."""

    customer: CustomerIn
    start: AwareDatetime | None = Field(default=None, examples=["2031-03-04T10:00:00Z"])
    hold_id: str | None = Field(default=None, pattern=_ID)
    duration_minutes: Minutes | None = Field(
        default=None, description="Slot length (default: the schedule's; ignored with hold_id)"
    )
    title: str | None = Field(default=None, min_length=1, max_length=255)
    tz: str | None = Field(
        default=None, max_length=64, description="The booker's IANA time zone (local times)"
    )

    @field_validator("start")
    @classmethod
    def _instant(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _check_instant(value)

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)

    @model_validator(mode="after")
    def _one_target(self) -> BookingCreate:
        if (self.start is None) == (self.hold_id is None):
            raise ValueError("give exactly one of start and hold_id")
        return self


class SlotChange(_Body):
    """A slot start (aware ISO 8601) and an optional length."""

    start: AwareDatetime = Field(examples=["2031-03-04T10:00:00Z"])
    duration_minutes: Minutes | None = None

    @field_validator("start")
    @classmethod
    def _instant(cls, value: datetime) -> datetime:
        return _check_instant(value)


class CustomerOut(BaseModel):
    """The customer as stored with the booking."""

    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    fields: dict[str, Any]


class BookingOut(BaseModel):
    """A booking. ``status``: ``complete`` (Zoho has the event and the CRM record),
    ``pending`` (booked, Zoho not written yet: see ``pending_reason``), ``cancel_pending``
    or ``cancelled``. ``start``/``end`` are UTC; ``local_*`` are in ``booker_zone``."""

    id: str
    tenant: str
    status: BookingStatus
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    booker_zone: str
    title: str
    customer: CustomerOut
    calendar_id: str
    zoho_event_uid: str | None
    crm_module: str | None
    crm_record_id: str | None
    pending_reason: str | None
    attempts: int
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None

    @classmethod
    def of(cls, booking: Booking) -> BookingOut:
        """The answer for one booking."""
        return cls.model_validate(booking.to_dict())


class HoldOut(BaseModel):
    """A held slot; confirm it with ``POST .../bookings`` and ``hold_id`` before
    ``expires_at``."""

    id: str
    tenant: str
    start: datetime
    end: datetime
    expires_at: datetime

    @classmethod
    def of(cls, hold: Hold) -> HoldOut:
        """The answer for one hold."""
        return cls.model_validate(hold.to_dict())


class SlotOut(BaseModel):
    """A bookable slot: UTC instants and the booker's wall clock."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        """The answer for one slot."""
        return cls(
            start=slot.start_utc,
            end=slot.end_utc,
            local_start=slot.local_start,
            local_end=slot.local_end,
        )


class AvailabilityOut(BaseModel):
    """The bookable slots between two of the booker's dates (inclusive)."""

    tenant: str
    start: date
    end: date
    tz: str | None = Field(description="The booker's zone asked for (null: the schedule's)")
    slots: list[SlotOut]
    warnings: list[str] = Field(
        default_factory=list,
        description="What in the tenant's Zoho Calendar settings puts bookings at risk, and "
        "the fix (e.g. a booking calendar Zoho leaves out of free/busy)",
    )


class TimeOffBody(_Body):
    """Whole dates closed (inclusive)."""

    first_day: date
    last_day: date
    reason: str = Field(default="", max_length=200)


class BookingWindowBody(_Body):
    """How far ahead a booker may book, in calendar or business days."""

    days: int = Field(strict=True, ge=1, le=3650)
    kind: Literal["calendar", "business"] = "calendar"


class ZohoTarget(_Body):
    """Where bookings go (``calendar_id``; default ``ZOHO_CALENDAR_ID``) and whose free/busy
    is busy time (``user_email``; default the calendar's own events)."""

    calendar_id: str | None = Field(default=None, min_length=1, max_length=128)
    user_email: str | None = Field(default=None, pattern=_EMAIL, max_length=254)


class ScheduleBody(_Body):
    """A tenant's schedule (the shape of ``zohokit schedule set``'s file; see
    ``docs/scheduling.md``). Wall-clock times are in ``time_zone``."""

    time_zone: str = Field(max_length=64, examples=["Europe/Berlin"])
    duration_minutes: Minutes = 30
    interval_minutes: Minutes | None = None
    buffer_before_minutes: OptionalMinutes = 0
    buffer_after_minutes: OptionalMinutes = 0
    minimum_notice_minutes: int = Field(default=0, strict=True, ge=0, le=366 * MAX_MINUTES)
    all_day_events_block_day: bool = Field(default=True, strict=True)
    weekly_hours: dict[Weekday, Annotated[list[Block], Field(max_length=48)]] = Field(
        default_factory=dict, examples=[{"monday": ["09:00-12:00", "13:00-17:00"]}]
    )
    overrides: dict[date, Annotated[list[Block], Field(max_length=48)]] = Field(
        default_factory=dict, max_length=1000
    )
    time_off: list[TimeOffBody] = Field(default_factory=list, max_length=1000)
    booking_window: BookingWindowBody | None = None
    max_bookings_per_day: int | None = Field(default=None, strict=True, ge=1, le=10_000)
    max_bookings_per_week: int | None = Field(default=None, strict=True, ge=1, le=10_000)
    zoho: ZohoTarget = Field(default_factory=ZohoTarget)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    def to_entry(self, tenant: str) -> TenantSchedule:
        """The stored form; raises ``InvalidSchedule`` for what the model cannot check
        (overlapping blocks, an end before a start)."""
        data = self.model_dump(mode="json", exclude_none=True)
        return parse_schedule_file(tenant, data)

    @classmethod
    def of(cls, entry: TenantSchedule) -> ScheduleBody:
        """The answer for a stored schedule."""
        return cls.model_validate(entry.to_dict())


# --- wiring ----------------------------------------------------------------------------------


def get_booking_service(request: Request) -> BookingService:
    """Dependency: the service's :class:`BookingService` (the root's, built in the lifespan)."""
    state: ServiceState = request.app.state.zohokit
    return state.bookings


async def _booking_service(request: Request) -> BookingService:
    # An async dependency runs in the event loop; a plain def would hop through a thread.
    return get_booking_service(request)


Bookings = Annotated[BookingService, Depends(_booking_service)]

router = APIRouter(prefix="/api/tenants", tags=["bookings"])

_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The key is not valid for this tenant"},
    404: {"description": "No such tenant (or booking, hold, schedule)"},
}
_ZOHO: dict[int | str, dict[str, Any]] = {
    424: {"description": "The tenant must be connected (again) to Zoho: see `status`"},
    502: {"description": "Zoho answered with an error"},
    503: {"description": "Zoho busy time cannot be read, or Zoho throttles; retry later"},
}


async def _tenant(state: ServiceState, principal: Principal, tenant: str) -> None:
    ensure_tenant_access(principal, tenant)
    await require_tenant(state, tenant)


async def _connected(state: ServiceState, tenant: str, *providers: str) -> None:
    """424 unless each provider has a stored connection (see the module docstring)."""
    for provider in providers:
        if await state.tokens.status(tenant, provider) is None:
            raise HTTPException(
                status_code=424,
                detail={
                    "message": f"connect {tenant!r} to {provider} first",
                    "status": "not_connected",
                    "connect_url": f"/connect/zoho?tenant={tenant}&provider={provider}",
                },
            )


@contextmanager
def _answers(tenant: str) -> Iterator[None]:
    """Map the booking flow's errors to HTTP answers (never a 500 for a bad request)."""
    try:
        yield
    except SlotTaken as exc:
        raise HTTPException(409, exc.message) from exc
    except (SlotNotOffered, IdempotencyConflict, InvalidSchedule) as exc:
        raise HTTPException(422, exc.message) from exc
    except HoldExpired as exc:
        raise HTTPException(410, exc.message) from exc
    except (HoldNotFound, BookingNotFound, ScheduleNotFound) as exc:
        raise HTTPException(404, exc.message) from exc
    except FreeBusyUnavailable as exc:
        detail = {"message": exc.message, "reason": exc.reason}
        raise HTTPException(503, detail, headers={"Retry-After": "30"}) from exc
    except (NeedsReauthorization, TokenRevoked, ConfigurationError) as exc:
        provider = exc.provider or "zoho_calendar"
        detail = {
            "message": exc.message,
            "status": "needs_reauth" if isinstance(exc, NeedsReauthorization) else "revoked",
            "connect_url": f"/connect/zoho?tenant={tenant}&provider={provider}",
        }
        if isinstance(exc, ConfigurationError):
            detail["status"] = "not_connected"
        raise HTTPException(424, detail) from exc
    except (TokenRefreshThrottled, TokenRefreshFailed) as exc:
        retry = exc.retry_after if exc.retry_after is not None else 30.0
        headers = {"Retry-After": str(max(1, math.ceil(retry)))}
        raise HTTPException(503, {"message": exc.message, "status": "cooldown"}, headers) from exc
    except ZohoError as exc:
        raise HTTPException(502, f"Zoho failed: {exc.message}") from exc
    except (ValueError, OverflowError) as exc:
        # Inputs the models cannot rule out (a customer the flow refuses, a date too close
        # to the calendar's ends): the caller's to fix.
        raise HTTPException(422, str(exc) or "invalid input") from exc


# --- schedules -------------------------------------------------------------------------------


@router.get("/{tenant}/schedule", summary="Read the schedule", responses=_COMMON)
async def get_schedule(
    tenant: TenantPath, principal: ApiPrincipal, state: State, bookings: Bookings
) -> ScheduleBody:
    """The tenant's bookable hours and rules, and where its bookings go in Zoho."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        return ScheduleBody.of(await bookings.get_schedule(tenant))


@router.put(
    "/{tenant}/schedule",
    summary="Set the schedule",
    responses={**_COMMON, 422: {"description": "The schedule breaks a rule"}},
)
async def put_schedule(
    tenant: TenantPath,
    body: ScheduleBody,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> ScheduleBody:
    """Replace the tenant's schedule. Existing bookings stay as they are."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        entry = body.to_entry(tenant)
        stored = await bookings.set_schedule(
            tenant, entry.schedule, calendar_id=entry.calendar_id, user_email=entry.user_email
        )
        return ScheduleBody.of(stored)


# --- availability ----------------------------------------------------------------------------


@router.get(
    "/{tenant}/availability",
    summary="Bookable slots",
    responses={**_COMMON, **_ZOHO, 422: {"description": "Bad dates, duration or zone"}},
)
async def availability(
    tenant: TenantPath,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
    start: Annotated[date, Query(description="The booker's first date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="The booker's last date (inclusive)")],
    duration: Annotated[
        int | None, Query(ge=1, le=MAX_MINUTES, description="Minutes (default: the schedule's)")
    ] = None,
    tz: Annotated[
        str | None, Query(max_length=64, description="The booker's zone (default: schedule's)")
    ] = None,
) -> AvailabilityOut:
    """Free slots after Zoho busy time (read fresh), other bookings and unexpired holds."""
    if end < start:
        raise HTTPException(422, "end: must not be before start")
    if end - start > timedelta(days=MAX_AVAILABILITY_DAYS - 1):
        raise HTTPException(422, f"end: ask for at most {MAX_AVAILABILITY_DAYS} days at once")
    if not (start.year >= _FIRST_YEAR and end.year <= _LAST_YEAR):
        raise HTTPException(422, f"start: dates lie between {_FIRST_YEAR} and {_LAST_YEAR}")
    if tz is not None:
        try:
            _check_zone(tz)
        except ValueError as exc:
            raise HTTPException(422, f"tz: {exc}") from exc
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.get_schedule(tenant)  # 404 before 424: the schedule comes first
        await _connected(state, tenant, "zoho_calendar")
        slots = await bookings.availability(tenant, start, end, duration, tz)
    return AvailabilityOut(
        tenant=tenant,
        start=start,
        end=end,
        tz=tz,
        slots=[SlotOut.of(s) for s in slots],
        warnings=[w.message for w in state.calendar_health.warnings(tenant)],
    )


# --- holds -----------------------------------------------------------------------------------


@router.post(
    "/{tenant}/holds",
    status_code=201,
    summary="Hold a slot",
    responses={
        **_COMMON,
        **_ZOHO,
        409: {"description": "The slot is taken"},
        422: {"description": "Not a slot of the schedule"},
    },
)
async def create_hold(
    tenant: TenantPath, body: SlotChange, principal: ApiPrincipal, state: State, bookings: Bookings
) -> HoldOut:
    """Keep a slot for a few minutes while the booker fills in the form."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.get_schedule(tenant)
        await _connected(state, tenant, "zoho_calendar")
        hold = await bookings.hold(tenant, body.start, duration=body.duration_minutes)
    return HoldOut.of(hold)


@router.delete(
    "/{tenant}/holds/{hold_id}",
    status_code=204,
    summary="Release a hold",
    responses=_COMMON,
)
async def release_hold(
    tenant: TenantPath,
    hold_id: IdPath,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> Response:
    """Give a held slot back before it expires."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.release(tenant, hold_id)
    return Response(status_code=204)


# --- bookings --------------------------------------------------------------------------------


@router.post(
    "/{tenant}/bookings",
    status_code=201,
    summary="Book a slot",
    responses={
        **_COMMON,
        **_ZOHO,
        409: {"description": "The slot is taken"},
        410: {"description": "The hold expired"},
        422: {"description": "Not a slot, or the idempotency key booked another slot"},
    },
)
async def create_booking(
    tenant: TenantPath,
    body: BookingCreate,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            pattern=_PRINTABLE,
            description="Any unique string per booking attempt; a retry with it books once",
        ),
    ],
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> BookingOut:
    """Book the slot and write it to Zoho Calendar and CRM. ``status`` is ``complete``, or
    ``pending`` with ``pending_reason`` when Zoho could not be written yet (the slot is
    booked either way). The same ``Idempotency-Key`` answers the first booking again."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.get_schedule(tenant)
        await _connected(state, tenant, "zoho_calendar", "zoho_crm")
        booking = await bookings.confirm(
            tenant,
            customer=body.customer.customer(),
            hold_id=body.hold_id,
            start=body.start,
            idempotency_key=idempotency_key,
            title=body.title,
            duration=body.duration_minutes,
            tz=body.tz,
        )
    return BookingOut.of(booking)


@router.get("/{tenant}/bookings", summary="List bookings", responses=_COMMON)
async def list_bookings(
    tenant: TenantPath,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
    status: BookingStatus | None = None,
    start_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Bookings ending after this")
    ] = None,
    to: Annotated[AwareDatetime | None, Query(description="Bookings starting before this")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[BookingOut]:
    """The tenant's bookings by start time, overlapping ``[from, to)``, with one status."""
    await _tenant(state, principal, tenant)
    if start_from is not None and to is not None and to < start_from:
        raise HTTPException(422, "to: must not be before from")
    with _answers(tenant):
        found = await bookings.list_bookings(tenant, start=start_from, end=to, status=status)
    return [BookingOut.of(b) for b in found[:limit]]


@router.get("/{tenant}/bookings/{booking_id}", summary="Read a booking", responses=_COMMON)
async def get_booking(
    tenant: TenantPath,
    booking_id: IdPath,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> BookingOut:
    """One booking, with its Zoho status."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        return BookingOut.of(await bookings.get(tenant, booking_id))


@router.post(
    "/{tenant}/bookings/{booking_id}/cancel",
    summary="Cancel a booking",
    responses={**_COMMON, **_ZOHO},
)
async def cancel_booking(
    tenant: TenantPath,
    booking_id: IdPath,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> BookingOut:
    """Free the slot at once, delete the Calendar event and update the CRM record.
    Cancelling twice is harmless."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.get(tenant, booking_id)
        await _connected(state, tenant, "zoho_calendar", "zoho_crm")
        return BookingOut.of(await bookings.cancel(tenant, booking_id))


@router.post(
    "/{tenant}/bookings/{booking_id}/reschedule",
    summary="Move a booking",
    responses={
        **_COMMON,
        **_ZOHO,
        409: {"description": "The new slot is taken"},
        422: {"description": "Not a slot of the schedule"},
    },
)
async def reschedule_booking(
    tenant: TenantPath,
    booking_id: IdPath,
    body: SlotChange,
    principal: ApiPrincipal,
    state: State,
    bookings: Bookings,
) -> BookingOut:
    """Move an active booking to another free slot; the event moves with it."""
    await _tenant(state, principal, tenant)
    with _answers(tenant):
        await bookings.get(tenant, booking_id)
        await _connected(state, tenant, "zoho_calendar", "zoho_crm")
        moved = await bookings.reschedule(
            tenant, booking_id, body.start, duration=body.duration_minutes
        )
    return BookingOut.of(moved)
