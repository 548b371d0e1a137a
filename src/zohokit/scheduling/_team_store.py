"""A team's bookings in the database: each host's own busy time, and host assignment inside
the transaction that re-checks the slot.

The guards of :mod:`zohokit.scheduling._store` hold per host: the write runs in the tenant's
serialized transaction, re-checks the slot against *each host's* busy time there (their
``booking_hosts`` rows, bookings made before the tenant had a team, and every hold: holds
name no host, so they block all of them), chooses among the hosts still free
(:func:`~zohokit.scheduling._team.choose_hosts`, with the booking history read in the same
transaction), and inserts one ``booking_hosts`` row per chosen host under
``UNIQUE (tenant, host, active_start)``. Two bookings racing for one slot therefore see each
other's hosts, and no host can end up twice at one start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from zohokit.availability import Busy
from zohokit.scheduling._errors import SlotNotOffered, SlotTaken
from zohokit.scheduling._tables import (
    BOOKING_COLUMNS,
    HOLD_COLUMNS,
    BookingRow,
    HoldRow,
    booking_holds,
    booking_hosts,
    bookings,
    busy_of,
    hold_of,
)
from zohokit.scheduling._team import Team, choose_hosts

__all__ = ["FAIRNESS_WINDOW", "HostChecks", "assign_and_insert", "holds_busy", "own_busy"]
__all__ += ["slot_busy"]
__all__ += ["move_hosts"]

#: How far back ``weighted`` assignment counts a host's bookings.
FAIRNESS_WINDOW = timedelta(days=30)
#: How far around a slot own bookings are read for the re-check: a week and a day covers the
#: per-week limit (ISO weeks in the schedule's zone) and any buffer.
_CONTEXT = timedelta(days=8)

#: Per host id, the re-check of the slot against that host's busy time (raises to refuse).
HostChecks = Mapping[str, Callable[[list[Busy]], None]]


async def own_busy(
    conn: AsyncConnection,
    tenant: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    host: str | None = None,
    exclude_booking: str | None = None,
    exclude_hold: str | None = None,
) -> list[Busy]:
    """Our own busy time near ``[start, end)`` (read :data:`_CONTEXT` wider each side, so
    booking limits count right): the tenant's active bookings or, for a team ``host``, that
    host's (their ``booking_hosts`` rows, and bookings without hosts, made before the team),
    and the tenant's unexpired holds (holds name no host, so they block every host)."""
    lo, hi = start - _CONTEXT, end + _CONTEXT
    b = bookings.c
    active = select(*BOOKING_COLUMNS).where(
        b.tenant == tenant, b.active_start.is_not(None), b.start_utc < hi, b.end_utc > lo
    )
    if host is None:
        if exclude_booking is not None:
            active = active.where(b.id != exclude_booking)
        busy = [busy_of(row) for row in await conn.execute(active)]
    else:
        h = booking_hosts.c
        mine = select(h.start_utc, h.end_utc, h.buffer_before_s, h.buffer_after_s).where(
            h.tenant == tenant,
            h.host == host,
            h.active_start.is_not(None),
            h.start_utc < hi,
            h.end_utc > lo,
        )
        if exclude_booking is not None:
            mine = mine.where(h.booking_id != exclude_booking)
        busy = [busy_of(row) for row in await conn.execute(mine)]
        busy.extend(busy_of(row) for row in await conn.execute(active.where(b.hosts.is_(None))))
    return busy + await holds_busy(conn, tenant, lo, hi, now=now, exclude_hold=exclude_hold)


async def slot_busy(
    conn: AsyncConnection,
    row: BookingRow | HoldRow,
    *,
    now: datetime,
    host: str | None = None,
    exclude_booking: str | None = None,
    exclude_hold: str | None = None,
) -> list[Busy]:
    """:func:`own_busy` around the slot of ``row`` (a booking or hold being written), for
    the re-check inside its transaction."""
    return await own_busy(
        conn,
        row.tenant,
        row.start_utc,
        row.end_utc,
        now=now,
        host=host,
        exclude_booking=exclude_booking,
        exclude_hold=exclude_hold,
    )


async def holds_busy(
    conn: AsyncConnection,
    tenant: str,
    lo: datetime,
    hi: datetime,
    *,
    now: datetime,
    exclude_hold: str | None = None,
) -> list[Busy]:
    """The tenant's unexpired holds touching ``[lo, hi)``, as busy time."""
    holds = select(*HOLD_COLUMNS).where(
        booking_holds.c.tenant == tenant,
        booking_holds.c.expires_at > now,
        booking_holds.c.start_utc < hi,
        booking_holds.c.end_utc > lo,
    )
    if exclude_hold is not None:
        holds = holds.where(booking_holds.c.id != exclude_hold)
    return [hold_of(row).busy() for row in await conn.execute(holds)]


async def _free_hosts(
    conn: AsyncConnection,
    booking: BookingRow,
    checks: HostChecks,
    *,
    now: datetime,
    hold_id: str | None,
    exclude_booking: str | None = None,
) -> list[str]:
    """The hosts (in ``checks``' order) whose re-check passes; ``SlotNotOffered`` when no
    host's schedule has the slot at all."""
    free: list[str] = []
    offered = False
    for host, check in checks.items():
        own = await slot_busy(
            conn, booking, now=now, host=host, exclude_booking=exclude_booking, exclude_hold=hold_id
        )
        try:
            check(own)
        except SlotNotOffered:
            continue
        except SlotTaken:
            offered = True
            continue
        offered = True
        free.append(host)
    if not offered:
        start = booking.start_utc.isoformat()
        raise SlotNotOffered(f"{start} is not a slot of any host", tenant=booking.tenant)
    return free


async def _history(
    conn: AsyncConnection, tenant: str, customer_key: str | None, now: datetime
) -> tuple[dict[str, datetime], dict[str, int], str | None]:
    """Per host: when they were last booked, how often in the fairness window; and the host
    this customer met last (all active bookings, read in the assigning transaction)."""
    h = booking_hosts.c
    active = (h.tenant == tenant, h.active_start.is_not(None))
    last = select(h.host, func.max(h.created_at)).where(*active).group_by(h.host)
    last_booked = {row[0]: row[1] for row in await conn.execute(last)}
    recent_rows = await conn.execute(
        select(h.host, func.count())
        .where(*active, h.created_at >= now - FAIRNESS_WINDOW)
        .group_by(h.host)
    )
    recent = {row[0]: int(row[1]) for row in recent_rows}
    returning_to = None
    if customer_key is not None:
        met = await conn.execute(
            select(h.host)
            .where(*active, h.customer_key == customer_key)
            .order_by(h.created_at.desc())
            .limit(1)
        )
        returning_to = met.scalar()
    return last_booked, recent, returning_to


def _host_rows(booking: BookingRow, customer_key: str | None) -> list[dict[str, Any]]:
    return [
        {
            "booking_id": booking.id,
            "host": host["id"],
            "tenant": booking.tenant,
            "start_utc": booking.start_utc,
            "end_utc": booking.end_utc,
            "active_start": booking.start_utc,
            "buffer_before_s": booking.buffer_before_s,
            "buffer_after_s": booking.buffer_after_s,
            "customer_key": customer_key,
            "created_at": booking.created_at,
        }
        for host in booking.hosts or []
    ]


async def assign_and_insert(
    conn: AsyncConnection,
    booking: BookingRow,
    team: Team,
    checks: HostChecks,
    *,
    values: Callable[[BookingRow], dict[str, Any]],
    now: datetime,
    hold_id: str | None,
) -> BookingRow:
    """Inside the caller's serialized transaction: choose the booking's hosts among those
    free at the slot, insert it with them. Raises ``SlotTaken`` when too few hosts are free
    and ``IntegrityError`` if a per-host guard refuses (only if serialization were bypassed).
    ``values`` gives the row's column values (the store seals its customer)."""
    free = await _free_hosts(conn, booking, checks, now=now, hold_id=hold_id)
    stored = values(booking)
    key = stored.get("customer_key")
    last_booked, recent, returning_to = await _history(conn, booking.tenant, key, now)
    chosen = choose_hosts(
        team, free, last_booked=last_booked, recent=recent, returning_to=returning_to
    )
    if not chosen:
        raise SlotTaken(
            f"the slot at {booking.start_utc.isoformat()} has {len(free)} of the "
            f"{team.needed} hosts it needs free",
            tenant=booking.tenant,
        )
    hosts = [team.host(host) for host in chosen]
    given = replace(
        booking,
        calendar_id=hosts[0].calendar_id,
        hosts=[{"id": x.id, "email": x.email, "calendar_id": x.calendar_id} for x in hosts],
    )
    stored = values(given)
    await conn.execute(insert(bookings).values(**stored))
    await conn.execute(insert(booking_hosts), _host_rows(given, key))
    return given


async def move_hosts(
    conn: AsyncConnection,
    current: BookingRow,
    start: datetime,
    end: datetime,
    checks: HostChecks,
    *,
    now: datetime,
) -> None:
    """Re-check a team booking's own hosts at its new slot (without the booking itself) and
    move their rows. Raises ``SlotTaken`` naming a host who is not free there."""
    moved = replace(current, start_utc=start, end_utc=end)
    mine = {h["id"]: checks[h["id"]] for h in current.hosts or [] if h["id"] in checks}
    free = await _free_hosts(conn, moved, mine, now=now, hold_id=None, exclude_booking=current.id)
    busy = [host for host in mine if host not in free]
    if busy:
        raise SlotTaken(f"host {busy[0]} is not free at {start.isoformat()}", tenant=current.tenant)
    await conn.execute(
        update(booking_hosts)
        .where(booking_hosts.c.booking_id == current.id)
        .values(start_utc=start, end_utc=end, active_start=start)
    )
