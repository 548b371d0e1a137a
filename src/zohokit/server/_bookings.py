"""The availability and booking API: schedules, availability, holds and bookings per tenant.

Every route runs the :class:`~zohokit.scheduling.BookingService` of the service's
:class:`~zohokit.Zoho` root (built once in the app's lifespan). What each route needs first is
a dependency, checked in this order before the route's own work:

1. :data:`~zohokit.server._tenants.TenantAccess`: the key covers the tenant (403), the tenant
   exists (404);
2. :class:`Connected`, on routes that call Zoho: what the route reads exists (the schedule,
   or the booking: 404), then the tenant has a stored connection to each provider the route
   calls (424). Without one the token service would fall back to the ``ZOHO_*`` environment
   and use one business's Zoho account for every tenant, as the token broker also refuses to;
3. the query, headers and body (422, see :mod:`~zohokit.server._booking_models`).

The booking flow's errors leave through the app-wide handler (:mod:`~zohokit.server._errors`),
in the same shape as the token broker's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AwareDatetime

from ..errors import ZohoError
from ..scheduling import Booking, BookingService
from ._booking_models import (
    AvailabilityOut,
    BookingCreate,
    BookingOut,
    BookingStatus,
    DurationQuery,
    ExplainOut,
    HoldOut,
    IdempotencyKey,
    IdPath,
    ScheduleBody,
    SlotChange,
    SlotOut,
    VerdictOut,
    check_dates,
)
from ._errors import not_connected
from ._state import ServiceState, State
from ._tenants import TENANT_ERRORS, TenantAccess

__all__ = ["MAX_EXPLAIN_DAYS", "Bookings", "Connected", "get_booking_service", "router"]

#: The longest range one explain call may ask about.
MAX_EXPLAIN_DAYS = 7


def get_booking_service(request: Request) -> BookingService:
    """Dependency: the service's :class:`BookingService` (the root's, built in the lifespan)."""
    state: ServiceState = request.app.state.zohokit
    return state.zoho.bookings


async def _booking_service(request: Request) -> BookingService:
    # An async dependency runs in the event loop; a plain def would hop through a thread.
    return get_booking_service(request)


Bookings = Annotated[BookingService, Depends(_booking_service)]


class Connected:
    """Dependency: 404 unless what the route reads exists (the tenant's schedule, or with
    ``booking=True`` the booking in the path), then 424 unless the tenant has a stored
    connection to each of ``providers``."""

    def __init__(self, *providers: str, booking: bool = False) -> None:
        self.providers = providers
        self.booking = booking

    async def __call__(
        self, tenant: TenantAccess, request: Request, state: State, bookings: Bookings
    ) -> None:
        """Run the checks (FastAPI calls this for each request of the route)."""
        if self.booking:
            await bookings.get(tenant.tenant, request.path_params["booking_id"])
        else:
            await bookings.get_schedule(tenant.tenant)
        for provider in self.providers:
            if await state.zoho.tokens.status(tenant.tenant, provider) is None:
                raise not_connected(tenant.tenant, provider)


async def _bad_input_is_422() -> AsyncIterator[None]:
    """What the models cannot rule out (a value the booking flow refuses, a date too close to
    the calendar's ends) is the caller's to fix: a 422, never a 500."""
    try:
        yield
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, ZohoError):  # InvalidSchedule: the app-wide handler has it
            raise
        raise HTTPException(422, str(exc) or "invalid input") from exc


router = APIRouter(
    prefix="/api/tenants",
    tags=["bookings"],
    dependencies=[Depends(_bad_input_is_422, scope="function")],
)

_COMMON: dict[int | str, dict[str, Any]] = {
    **TENANT_ERRORS,
    404: {"description": "No such tenant (or booking, hold, schedule)"},
}
_ZOHO: dict[int | str, dict[str, Any]] = {
    424: {"description": "The tenant must be connected (again) to Zoho: see `status`"},
    502: {"description": "Zoho answered with an error"},
    503: {"description": "Zoho busy time cannot be read, or Zoho throttles; see `retry_after`"},
}
_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"description": "The slot is taken"},
    422: {"description": "Not a slot of the schedule"},
}
Calendar = Depends(Connected("zoho_calendar"))
CalendarAndCrm = Depends(Connected("zoho_calendar", "zoho_crm"))
BookingInZoho = Depends(Connected("zoho_calendar", "zoho_crm", booking=True))


# --- schedules -------------------------------------------------------------------------------


@router.get("/{tenant}/schedule", summary="Read the schedule", responses=_COMMON)
async def get_schedule(tenant: TenantAccess, bookings: Bookings) -> ScheduleBody:
    """The tenant's bookable hours and rules, and where its bookings go in Zoho."""
    return ScheduleBody.of(await bookings.get_schedule(tenant.tenant))


@router.put(
    "/{tenant}/schedule",
    summary="Set the schedule",
    responses={**_COMMON, 422: {"description": "The schedule breaks a rule"}},
)
async def put_schedule(
    tenant: TenantAccess, body: ScheduleBody, bookings: Bookings
) -> ScheduleBody:
    """Replace the tenant's schedule. Existing bookings stay as they are."""
    entry = body.to_entry(tenant.tenant)
    stored = await bookings.set_schedule(
        tenant.tenant,
        entry.schedule,
        calendar_id=entry.calendar_id,
        user_email=entry.user_email,
        team=entry.team,
    )
    return ScheduleBody.of(stored)


# --- availability ----------------------------------------------------------------------------


async def _dates(
    start: Annotated[date, Query(description="The booker's first date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="The booker's last date (inclusive)")],
    tz: Annotated[
        str | None, Query(max_length=64, description="The booker's zone (default: schedule's)")
    ] = None,
) -> tuple[date, date, str | None]:
    check_dates(start, end, tz)
    return start, end, tz


@router.get(
    "/{tenant}/availability",
    summary="Bookable slots",
    responses={**_COMMON, **_ZOHO, 422: {"description": "Bad dates, duration or zone"}},
    dependencies=[Calendar],
)
async def availability(
    tenant: TenantAccess,
    state: State,
    bookings: Bookings,
    dates: Annotated[tuple[date, date, str | None], Depends(_dates)],
    duration: DurationQuery = None,
) -> AvailabilityOut:
    """Free slots after Zoho busy time (read fresh), other bookings and unexpired holds."""
    start, end, tz = dates
    slots = await bookings.availability(tenant.tenant, start, end, duration, tz)
    return AvailabilityOut(
        tenant=tenant.tenant,
        start=start,
        end=end,
        tz=tz,
        slots=[SlotOut.of(s) for s in slots],
        warnings=[w.message for w in state.zoho.calendar_health.warnings(tenant.tenant)],
    )


@router.get(
    "/{tenant}/explain",
    summary="Why no slot",
    responses={**_COMMON, **_ZOHO, 422: {"description": "Bad times or duration"}},
    dependencies=[Calendar],
)
async def explain(
    tenant: TenantAccess,
    bookings: Bookings,
    start: Annotated[AwareDatetime, Query(description="From (ISO 8601 with an offset)")],
    end: Annotated[AwareDatetime, Query(description="To, exclusive; at most 7 days later")],
    duration: DurationQuery = None,
) -> ExplainOut:
    """For each host, every slot its working hours would hold in ``[start, end)``: offered
    (``rule`` null) or the rule that removed it (``working_hours``, ``time_off``, ``busy``,
    ``buffer``, ``notice``, ``window``, ``daily_limit``, ``weekly_limit``), with the detail."""
    if not start < end <= start + timedelta(days=MAX_EXPLAIN_DAYS):
        raise HTTPException(422, f"end: after start and at most {MAX_EXPLAIN_DAYS} days later")
    verdicts = await bookings.explain(tenant.tenant, start, end, duration=duration)
    return ExplainOut(verdicts=[VerdictOut.of(v) for v in verdicts])


# --- holds -----------------------------------------------------------------------------------


@router.post(
    "/{tenant}/holds",
    status_code=201,
    summary="Hold a slot",
    responses={**_COMMON, **_ZOHO, **_TAKEN},
    dependencies=[Calendar],
)
async def create_hold(tenant: TenantAccess, body: SlotChange, bookings: Bookings) -> HoldOut:
    """Keep a slot for a few minutes while the booker fills in the form."""
    hold = await bookings.hold(tenant.tenant, body.start, duration=body.duration_minutes)
    return HoldOut.of(hold)


@router.delete(
    "/{tenant}/holds/{hold_id}", status_code=204, summary="Release a hold", responses=_COMMON
)
async def release_hold(tenant: TenantAccess, hold_id: IdPath, bookings: Bookings) -> Response:
    """Give a held slot back before it expires."""
    await bookings.release(tenant.tenant, hold_id)
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
    dependencies=[CalendarAndCrm],
)
async def create_booking(
    tenant: TenantAccess,
    body: BookingCreate,
    idempotency_key: IdempotencyKey,
    bookings: Bookings,
    request: Request,
    state: State,
) -> BookingOut:
    """Book the slot and write it to Zoho Calendar and CRM. ``status`` is ``complete``, or
    ``pending`` with ``pending_reason`` when Zoho could not be written yet (the slot is
    booked either way). The same ``Idempotency-Key`` answers the first booking again."""
    booking = await bookings.confirm(
        tenant.tenant,
        customer=body.customer.customer(),
        hold_id=body.hold_id,
        start=body.start,
        idempotency_key=idempotency_key,
        title=body.title,
        duration=body.duration_minutes,
        tz=body.tz,
    )
    return _with_links(BookingOut.of(booking), booking, request, state)


def _with_links(out: BookingOut, booking: Booking, request: Request, state: State) -> BookingOut:
    """The answer with the customer's manage links, under the service's public URL."""
    base = state.settings.zohokit_public_url or str(request.base_url)
    out.manage_links = state.zoho.bookings.links.for_booking(base, booking)
    return out


@router.get("/{tenant}/bookings", summary="List bookings", responses=_COMMON)
async def list_bookings(
    tenant: TenantAccess,
    bookings: Bookings,
    status: BookingStatus | None = None,
    start_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Bookings ending after this")
    ] = None,
    to: Annotated[AwareDatetime | None, Query(description="Bookings starting before this")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[BookingOut]:
    """The tenant's bookings by start time, overlapping ``[from, to)``, with one status."""
    if start_from is not None and to is not None and to < start_from:
        raise HTTPException(422, "to: must not be before from")
    found = await bookings.list_bookings(
        tenant.tenant, start=start_from, end=to, status=status, limit=limit
    )
    return [BookingOut.of(b) for b in found]


@router.get("/{tenant}/bookings/{booking_id}", summary="Read a booking", responses=_COMMON)
async def get_booking(
    tenant: TenantAccess, booking_id: IdPath, bookings: Bookings, request: Request, state: State
) -> BookingOut:
    """One booking, with its Zoho status and the customer's manage links."""
    booking = await bookings.get(tenant.tenant, booking_id)
    return _with_links(BookingOut.of(booking), booking, request, state)


@router.post(
    "/{tenant}/bookings/{booking_id}/cancel",
    summary="Cancel a booking",
    responses={**_COMMON, **_ZOHO},
    dependencies=[BookingInZoho],
)
async def cancel_booking(
    tenant: TenantAccess, booking_id: IdPath, bookings: Bookings
) -> BookingOut:
    """Free the slot at once, delete the Calendar event and update the CRM record.
    Cancelling twice is harmless."""
    return BookingOut.of(await bookings.cancel(tenant.tenant, booking_id))


@router.post(
    "/{tenant}/bookings/{booking_id}/reschedule",
    summary="Move a booking",
    responses={**_COMMON, **_ZOHO, **_TAKEN},
    dependencies=[BookingInZoho],
)
async def reschedule_booking(
    tenant: TenantAccess, booking_id: IdPath, body: SlotChange, bookings: Bookings
) -> BookingOut:
    """Move an active booking to another free slot; the event moves with it."""
    moved = await bookings.reschedule(
        tenant.tenant, booking_id, body.start, duration=body.duration_minutes
    )
    return BookingOut.of(moved)
