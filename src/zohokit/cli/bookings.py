"""``zohokit bookings`` and ``zohokit availability``: the booking flow from a terminal.

The commands read the environment as the rest of zohokit does: ``ZOHOKIT_DATABASE_URL``
holds schedules and bookings next to the tokens; ``ZOHO_*`` give the tenant's OAuth client
and ``ZOHO_CALENDAR_ID`` the calendar when the schedule names none.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape  # messages may hold [brackets]
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import make_console
from zohokit.cli._options import JsonOpt, OnlyTenantOpt
from zohokit.errors import ZohoError
from zohokit.scheduling import Booking, BookingService, Customer, Slot
from zohokit.settings import Settings

app = typer.Typer(help="List, create, cancel and finish bookings.", no_args_is_help=True)
console = make_console(stderr=True)
out = make_console(soft_wrap=True)
T = TypeVar("T")

_STATUSES = ("complete", "pending", "cancel_pending", "cancelled")
SlotMinutesOpt = Annotated[
    int | None, typer.Option("--duration", help="Slot length in minutes (default: schedule).")
]


@asynccontextmanager
async def open_service() -> AsyncIterator[BookingService]:
    """The :class:`BookingService` of a :class:`~zohokit.Zoho` root built from the
    environment, closed afterwards. The migrations run first, so a fresh database works."""
    async with Zoho.from_settings(Settings()) as zoho:
        yield zoho.bookings


def run(work: Callable[[BookingService], Awaitable[T]]) -> T:
    """Run ``work`` with a booking service; zohokit errors become a red line and exit code 1."""

    async def main() -> T:
        async with open_service() as service:
            return await work(service)

    try:
        return asyncio.run(main())
    except (ZohoError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(f'{type(exc).__name__}: {exc}')}")
        raise typer.Exit(1) from exc


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time, e.g. 2031-03-04T10:00:00+01:00",
            param_hint="--start",
        ) from exc
    if moment.tzinfo is None:
        raise typer.BadParameter(
            "give an offset, e.g. 2031-03-04T10:00:00+01:00 or ...Z", param_hint="--start"
        )
    return moment


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD): {exc}", param_hint=option
        ) from exc


def _bookings_table(found: list[Booking]) -> Table:
    columns = ("id", "tenant", "start (UTC)", "local", "status", "customer", "reason")
    table = Table(*columns, title=f"{len(found)} booking(s)")
    for b in found:
        table.add_row(
            b.id,
            b.tenant,
            f"{b.start:%Y-%m-%d %H:%M}",
            f"{b.local_start:%Y-%m-%d %H:%M} {b.booker_zone}",
            b.status,
            b.customer.email,
            b.pending_reason or "",
        )
    return table


def _print_bookings(found: list[Booking], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps([b.to_dict() for b in found]))
    else:
        out.print(_bookings_table(found))


def slot_dict(slot: Slot) -> dict[str, Any]:
    """A slot as JSON: UTC instants and the booker's wall clock."""
    return {
        "start": slot.start_utc.isoformat(),
        "end": slot.end_utc.isoformat(),
        "local_start": slot.local_start.isoformat(),
        "local_end": slot.local_end.isoformat(),
    }


def availability_command(
    tenant: Annotated[str, typer.Argument(help="Whose schedule and calendar.")],
    start: Annotated[str, typer.Option("--start", help="First date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last date (inclusive), YYYY-MM-DD.")],
    duration: SlotMinutesOpt = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="The booker's zone (default: the schedule's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bookable slots of TENANT between two dates, after Zoho busy time and our bookings."""
    first, last = _date(start, "--start"), _date(end, "--end")
    if last < first:
        raise typer.BadParameter(
            f"{last} is before --start {first}; the range runs from --start to --end",
            param_hint="--end",
        )
    slots = run(lambda s: s.availability(tenant, first, last, duration, tz))
    if as_json:
        out.print_json(json.dumps([slot_dict(slot) for slot in slots]))
        return
    table = Table(
        "local start", "local end", "UTC start", title=f"{len(slots)} slot(s) for {tenant}"
    )
    for slot in slots:
        table.add_row(
            slot.local_start.strftime("%a %Y-%m-%d %H:%M %Z"),
            slot.local_end.strftime("%H:%M"),
            slot.start_utc.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@app.command("list")
def list_command(
    tenant: OnlyTenantOpt = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="complete, pending, cancel_pending or cancelled."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bookings by start time, with their Zoho status and any pending reason."""
    if status is not None and status not in _STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(_STATUSES)}", param_hint="--status")
    _print_bookings(run(lambda s: s.list_bookings(tenant, status=status)), as_json)


@app.command("create")
def create_command(
    tenant: Annotated[str, typer.Argument(help="Whose calendar.")],
    start: Annotated[str, typer.Option("--start", help="Slot start, ISO 8601 with offset.")],
    email: Annotated[str, typer.Option("--email", help="The customer's email.")],
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    title: Annotated[str | None, typer.Option("--title", help="The event's title.")] = None,
    duration: Annotated[int | None, typer.Option("--duration", help="Minutes.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="The booker's zone.")] = None,
    key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Run twice, book once.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Book a slot and write it to Zoho Calendar and CRM (exit 1 if the slot is taken)."""
    moment = _aware(start)
    try:
        customer = Customer(email, first_name, last_name, phone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--email") from exc
    booking = run(
        lambda s: s.confirm(
            tenant,
            start=moment,
            customer=customer,
            idempotency_key=key,
            title=title,
            duration=duration,
            tz=tz,
        )
    )
    _print_bookings([booking], as_json)


@app.command("cancel")
def cancel_command(
    tenant: Annotated[str, typer.Argument(help="Whose booking.")],
    booking_id: Annotated[str, typer.Argument(help="The booking's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Cancel a booking: delete its event and record the cancellation in the CRM."""
    _print_bookings([run(lambda s: s.cancel(tenant, booking_id))], as_json)


@app.command("retry")
def retry_command(
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Finish bookings Zoho does not reflect yet; exit 1 if any is still pending."""
    done = run(lambda s: s.retry_pending(tenant))
    _print_bookings(done, as_json)
    if any(b.status in ("pending", "cancel_pending") for b in done):
        raise typer.Exit(1)
