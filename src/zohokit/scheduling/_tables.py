"""The booking tables and their rows: the schema of schedules, holds and bookings.

Four tables (created by migrations ``0004_bookings.py`` and ``0013_booking_teams.py``):

- ``booking_schedules``: one row per tenant: the :class:`~zohokit.scheduling.Schedule` as
  JSON, the Zoho calendar bookings go to, and the user whose free/busy counts as busy time;
- ``booking_holds``: a slot held for a few minutes while a booker confirms;
- ``bookings``: every booking, with its Zoho event uid/etag, its CRM record id, whether Zoho
  reflects it yet (``event_synced``, ``crm_synced``) and, if not, the reason;
- ``booking_hosts``: for a team's booking, one row per host it was given (the per-host guard
  against double booking, and each host's own busy time).

The row dataclasses mirror the tables column for column (``customer`` opened from its sealed
form, see :mod:`zohokit.scheduling._vault`; ``customer_key``, the e-mail's lookup hash, is
only queried); :mod:`zohokit.scheduling._store` reads and writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, text
from sqlalchemy.types import Boolean, Integer, String, Text

from zohokit.availability import Busy, BusySource, Schedule
from zohokit.db import lease_columns, tenant_column, timestamps, utc_column
from zohokit.scheduling._team import Team

if TYPE_CHECKING:
    from ._vault import CustomerVault

__all__ = [
    "BOOKING_COLUMNS",
    "HOLD_COLUMNS",
    "UNSYNCED_WHERE",
    "BookingRow",
    "HoldRow",
    "TenantSchedule",
    "booking_holds",
    "booking_hosts",
    "booking_of",
    "booking_schedules",
    "bookings",
    "busy_of",
    "hold_of",
    "metadata",
    "row_values",
    "schedule_of",
]

metadata = MetaData()

#: "Zoho does not reflect this booking yet", as each dialect renders the store's own query
#: (``event_synced IS false OR crm_synced IS false``), so the partial index matches it.
UNSYNCED_WHERE = {
    "sqlite": "event_synced IS 0 OR crm_synced IS 0",
    "postgresql": "event_synced IS false OR crm_synced IS false",
}


def _busy_columns() -> list[Column[Any]]:
    """What a hold and a booking both are: a slot of a tenant's calendar, with the buffers it
    was taken with (the columns :func:`busy_of` reads)."""
    return [
        Column("id", String(32), primary_key=True),
        tenant_column(),
        Column("calendar_id", String(255), nullable=False),
        utc_column("start_utc", required=True),
        utc_column("end_utc", required=True),
        Column("buffer_before_s", Integer, nullable=False),
        Column("buffer_after_s", Integer, nullable=False),
    ]


booking_schedules = Table(
    "booking_schedules",
    metadata,
    tenant_column(primary_key=True),
    Column("schedule", Text, nullable=False),
    Column("calendar_id", String(255)),
    Column("user_email", String(320)),
    utc_column("updated_at", required=True),
    # The team (hosts, mode, assignment) as JSON; NULL: the schedule books one calendar.
    Column("team", Text),
)

booking_holds = Table(
    "booking_holds",
    metadata,
    *_busy_columns(),
    utc_column("expires_at", required=True),
    utc_column("created_at", required=True),
    Index("ix_booking_holds_tenant_start", "tenant", "start_utc"),
)

bookings = Table(
    "bookings",
    metadata,
    *_busy_columns(),
    # start_utc while active, NULL once cancelled: the column the double-booking guard is on.
    utc_column("active_start"),
    Column("state", String(16), nullable=False),
    Column("event_synced", Boolean, nullable=False),
    Column("crm_synced", Boolean, nullable=False),
    Column("pending_reason", Text),
    Column("attempts", Integer, nullable=False),
    # Sealed like the customer (a default title names the customer).
    Column("title", Text, nullable=False),
    Column("booker_zone", String(64), nullable=False),
    # Sealed with the token keys (name, e-mail, phone, notes): never plain text.
    Column("customer", Text, nullable=False),
    # A keyed hash of the customer's normalized e-mail, for "this customer's bookings".
    Column("customer_key", String(64)),
    Column("idempotency_key", String(255)),
    Column("zoho_event_uid", String(255)),
    Column("zoho_event_etag", String(64)),
    Column("crm_module", String(100)),
    Column("crm_record_id", String(32)),
    # The hosts given the booking (JSON list of id, email, calendar_id; NULL: no team) and
    # its Zoho CRM Events (Meetings) record.
    Column("hosts", Text),
    Column("crm_meeting_id", String(32)),
    *lease_columns(),
    *timestamps(),
    utc_column("cancelled_at"),
    UniqueConstraint("tenant", "calendar_id", "active_start", name="uq_bookings_active_slot"),
    UniqueConstraint("tenant", "idempotency_key", name="uq_bookings_idempotency_key"),
    Index("ix_bookings_tenant_start", "tenant", "start_utc"),
    Index("ix_bookings_tenant_customer_key", "tenant", "customer_key"),
    # The console's newest bookings, of the fleet and of one tenant, and its count of those
    # Zoho does not reflect yet (a partial index: only those rows are in it).
    Index("ix_bookings_created", "created_at", "id"),
    Index("ix_bookings_tenant_created", "tenant", "created_at", "id"),
    Index(
        "ix_bookings_unsynced",
        "tenant",
        sqlite_where=text(UNSYNCED_WHERE["sqlite"]),
        postgresql_where=text(UNSYNCED_WHERE["postgresql"]),
    ),
)


booking_hosts = Table(
    "booking_hosts",
    metadata,
    Column("booking_id", String(32), primary_key=True),
    Column("host", String(255), primary_key=True),
    tenant_column(),
    utc_column("start_utc", required=True),
    utc_column("end_utc", required=True),
    # start_utc while the booking is active, NULL once cancelled: the per-host guard.
    utc_column("active_start"),
    Column("buffer_before_s", Integer, nullable=False),
    Column("buffer_after_s", Integer, nullable=False),
    # The customer's lookup hash, for "the host this customer met last".
    Column("customer_key", String(64)),
    utc_column("created_at", required=True),
    UniqueConstraint("tenant", "host", "active_start", name="uq_booking_hosts_active"),
    Index("ix_booking_hosts_tenant_host_start", "tenant", "host", "start_utc"),
)


@dataclass(frozen=True)
class TenantSchedule:
    """A tenant's stored schedule, with where bookings go and whose free/busy counts.

    ``calendar_id`` is the Zoho calendar that receives booking events (``None``: the Calendar
    service's own default); ``user_email`` is the Zoho user whose free/busy is busy time
    (``None``: the events of ``calendar_id`` are). ``team`` names the hosts when the
    schedule books several calendars (see :mod:`zohokit.scheduling._team`).
    """

    tenant: str
    schedule: Schedule
    calendar_id: str | None = None
    user_email: str | None = None
    updated_at: datetime | None = None
    team: Team | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the schedule's dict form plus a ``[zoho]`` table (the TOML file shape)."""
        out = self.schedule.to_dict()
        zoho = {
            k: v for k, v in (("calendar_id", self.calendar_id), ("user_email", self.user_email))
        }
        out["zoho"] = {k: v for k, v in zoho.items() if v is not None}
        if self.team is not None:
            out["team"] = self.team.to_dict()
        return out


@dataclass(frozen=True)
class HoldRow:
    """One ``booking_holds`` row."""

    id: str
    tenant: str
    calendar_id: str
    start_utc: datetime
    end_utc: datetime
    buffer_before_s: int
    buffer_after_s: int
    expires_at: datetime
    created_at: datetime

    def busy(self) -> Busy:
        """This hold as busy time, with the buffers it was taken with."""
        return busy_of(self, BusySource.HOLD)


@dataclass(frozen=True)
class BookingRow:
    """One ``bookings`` row (``customer`` decoded from JSON)."""

    id: str
    tenant: str
    calendar_id: str
    start_utc: datetime
    end_utc: datetime
    active_start: datetime | None
    buffer_before_s: int
    buffer_after_s: int
    state: str
    event_synced: bool
    crm_synced: bool
    pending_reason: str | None
    attempts: int
    title: str
    booker_zone: str
    customer: dict[str, Any]
    idempotency_key: str | None
    zoho_event_uid: str | None
    zoho_event_etag: str | None
    crm_module: str | None
    crm_record_id: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    #: The hosts given the booking: ``{"id", "email", "calendar_id"}`` each, the first the
    #: one whose calendar holds the event; ``None`` for a one-calendar schedule.
    hosts: list[dict[str, str]] | None = None
    crm_meeting_id: str | None = None

    def busy(self) -> Busy:
        """This booking as busy time, keeping the buffers it was booked with."""
        return busy_of(self)


BOOKING_COLUMNS = [bookings.c[f.name] for f in fields(BookingRow)]
HOLD_COLUMNS = [booking_holds.c[f.name] for f in fields(HoldRow)]


def booking_of(row: Any, vault: CustomerVault) -> BookingRow:
    """The :class:`BookingRow` of a selected ``bookings`` row (its customer opened)."""
    values = dict(row._mapping)
    tenant, booking_id = values["tenant"], values["id"]
    values["customer"] = vault.open(tenant, booking_id, values["customer"])
    values["title"] = vault.open_text(tenant, booking_id, "title", values["title"])
    values["event_synced"] = bool(values["event_synced"])
    values["crm_synced"] = bool(values["crm_synced"])
    values["hosts"] = json.loads(values["hosts"]) if values["hosts"] else None
    return BookingRow(**values)


def schedule_of(row: Any) -> TenantSchedule:
    """The :class:`TenantSchedule` of a selected ``booking_schedules`` row."""
    return TenantSchedule(
        row.tenant,
        Schedule.from_dict(json.loads(row.schedule)),
        row.calendar_id,
        row.user_email,
        row.updated_at,
        Team.from_dict(json.loads(row.team)) if row.team else None,
    )


def hold_of(row: Any) -> HoldRow:
    """The :class:`HoldRow` of a selected ``booking_holds`` row."""
    return HoldRow(**row._mapping)


def busy_of(row: Any, source: BusySource = BusySource.BOOKING) -> Busy:
    """The busy time of a row (a selected ``bookings`` row, without opening its customer, or
    a hold), with the buffers it was made with."""
    return Busy(
        row.start_utc,
        row.end_utc,
        source,
        buffer_before=timedelta(seconds=row.buffer_before_s),
        buffer_after=timedelta(seconds=row.buffer_after_s),
    )


def row_values(row: BookingRow | HoldRow, vault: CustomerVault | None = None) -> dict[str, Any]:
    """Column values of a row, ready to insert (a booking's customer sealed by ``vault``)."""
    values = {f.name: getattr(row, f.name) for f in fields(row)}
    if isinstance(row, BookingRow):
        if vault is None:
            raise ValueError("a booking's customer is only stored sealed: pass the vault")
        values["customer"] = vault.seal(row.tenant, row.id, row.customer)
        values["customer_key"] = vault.email_key(row.tenant, row.customer)
        values["title"] = vault.seal_text(row.tenant, row.id, "title", row.title)
        values["hosts"] = json.dumps(row.hosts) if row.hosts is not None else None
    return values
