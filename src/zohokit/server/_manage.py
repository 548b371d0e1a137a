"""The customer's manage page: a signed link (:mod:`zohokit.scheduling._links`) opens the
booking, with a button to cancel it (a cancel link) or the free slots to move it to (a
reschedule link).

Server-rendered HTML with plain forms: it loads nothing from elsewhere, needs no JavaScript
and reads on a 390 px phone. The link is the customer's only credential, so every request
verifies it first: a link changed in any character is answered 403, an expired one (the
booking has started) 410, each with a page that says so and nothing about the booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse

from ..scheduling import Booking, BookingNotFound, SlotNotOffered, SlotTaken
from ..scheduling._links import LinkClaims, LinkExpired, LinkInvalid
from ._state import ServiceState, State

__all__ = ["RESCHEDULE_DAYS", "router"]

router = APIRouter(prefix="/manage", include_in_schema=False)

#: How many days ahead the reschedule page offers slots.
RESCHEDULE_DAYS = 14
#: The most slots it lists.
MAX_SLOTS = 60

Token = Annotated[str, Path(max_length=1024, pattern=r"^[A-Za-z0-9_\-]+\.[0-9a-f]{64}$")]


def _page(state: ServiceState, status: int = 200, **context: Any) -> HTMLResponse:
    context = {
        "title": "Your booking",
        "refused": None,
        "note": None,
        "booking": None,
        "action": None,
        "slots": [],
        "days": RESCHEDULE_DAYS,
        "path": "",
    } | context
    body = state.templates.get_template("manage.html").render(**context)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _verified(state: ServiceState, token: str) -> LinkClaims | HTMLResponse:
    try:
        return state.zoho.bookings.links.verify(token, now=state.clock())
    except LinkExpired:
        return _page(state, 410, refused="This link has expired: the booking has started.")
    except LinkInvalid:
        return _page(state, 403, refused="This link is not valid. Use the link from your e-mail.")


async def _view(
    state: ServiceState, request: Request, claims: LinkClaims, booking: Booking, **extra: Any
) -> HTMLResponse:
    slots: list[Any] = []
    if claims.action == "reschedule" and booking.status not in ("cancelled", "cancel_pending"):
        today = state.clock().astimezone(booking.local_start.tzinfo).date()
        found = await state.zoho.bookings.availability(
            claims.tenant,
            today,
            today + timedelta(days=RESCHEDULE_DAYS - 1),
            int((booking.end - booking.start).total_seconds() // 60),
            booking.booker_zone,
        )
        slots = [s for s in found if s.start_utc != booking.start][:MAX_SLOTS]
    return _page(
        state,
        booking=booking,
        action=claims.action,
        slots=slots,
        days=RESCHEDULE_DAYS,
        path=request.url.path.removesuffix("/cancel").removesuffix("/reschedule"),
        **extra,
    )


async def _booking(state: ServiceState, claims: LinkClaims) -> Booking | HTMLResponse:
    try:
        return await state.zoho.bookings.get(claims.tenant, claims.booking_id)
    except BookingNotFound:
        return _page(state, 404, refused="This booking no longer exists.")


@router.get("/{token}")
async def show(token: Token, request: Request, state: State) -> HTMLResponse:
    """The booking, with the cancel button or the slots to move it to."""
    claims = _verified(state, token)
    if isinstance(claims, HTMLResponse):
        return claims
    booking = await _booking(state, claims)
    if isinstance(booking, HTMLResponse):
        return booking
    return await _view(state, request, claims, booking)


@router.post("/{token}/cancel")
async def cancel(token: Token, request: Request, state: State) -> HTMLResponse:
    """Cancel the booking (a cancel link only)."""
    claims = _verified(state, token)
    if isinstance(claims, HTMLResponse):
        return claims
    if claims.action != "cancel":
        return _page(state, 403, refused="This link cannot cancel the booking.")
    booking = await state.zoho.bookings.cancel(claims.tenant, claims.booking_id)
    return await _view(state, request, claims, booking, note="Your booking is cancelled.")


@router.post("/{token}/reschedule")
async def reschedule(
    token: Token,
    request: Request,
    state: State,
    start: Annotated[datetime, Form()],
) -> HTMLResponse:
    """Move the booking to the chosen slot (a reschedule link only)."""
    claims = _verified(state, token)
    if isinstance(claims, HTMLResponse):
        return claims
    if claims.action != "reschedule":
        return _page(state, 403, refused="This link cannot move the booking.")
    current = await _booking(state, claims)
    if isinstance(current, HTMLResponse):
        return current
    try:
        moved = await state.zoho.bookings.reschedule(claims.tenant, claims.booking_id, start)
    except (SlotTaken, SlotNotOffered) as exc:
        refused = "That time was just taken: pick another one."
        page = await _view(state, request, claims, current, refused=refused)
        page.status_code = 409 if isinstance(exc, SlotTaken) else 422
        return page
    when = moved.local_start.strftime("%A %d %B, %H:%M")
    return await _view(state, request, claims, moved, note=f"Your booking is moved to {when}.")
