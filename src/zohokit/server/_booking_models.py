"""The booking API's bodies and answers: what a caller sends and what it gets back.

Bodies refuse unknown keys (``extra="forbid"``) and check what they can (patterns, ranges,
zones, years), so a bad request is a 422 naming the field before the booking flow runs.
Answers are read straight from the booking flow's values (``from_attributes``) and take
their fields from those values' dataclasses, so a booking has one field list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self, get_type_hints

from fastapi import Header, HTTPException, Path, Query
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from ..scheduling import (
    Booking,
    Customer,
    Hold,
    Slot,
    TeamSlot,
    TenantSchedule,
    Verdict,
    load_zone,
    parse_schedule_file,
)

__all__ = [
    "MAX_AVAILABILITY_DAYS",
    "MAX_MINUTES",
    "AvailabilityOut",
    "BookingCreate",
    "BookingOut",
    "BookingStatus",
    "CustomerIn",
    "CustomerOut",
    "DurationQuery",
    "ExplainOut",
    "HoldOut",
    "IdPath",
    "IdempotencyKey",
    "ScheduleBody",
    "SlotChange",
    "SlotOut",
    "VerdictOut",
    "check_dates",
    "check_zone",
]

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
#: ``?duration=``: a slot's length in minutes, when the caller wants another than the schedule's.
DurationQuery = Annotated[
    int | None, Query(ge=1, le=MAX_MINUTES, description="Minutes (default: the schedule's)")
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=_PRINTABLE,
        description="Any unique string per booking attempt; a retry with it books once",
    ),
]


def check_zone(name: str) -> str:
    """``name`` if it is an IANA zone (a ``ValueError``, which pydantic makes a 422, if not)."""
    load_zone(name)  # UnknownTimeZone is a ValueError: pydantic turns it into a 422
    return name


def check_dates(start: date, end: date, tz: str | None) -> None:
    """A 422 unless ``start``-``end`` (the booker's dates, inclusive) is a range one
    availability call may ask for, and ``tz`` (if given) is a zone."""
    if end < start:
        raise HTTPException(422, "end: must not be before start")
    if (end - start).days > MAX_AVAILABILITY_DAYS - 1:
        raise HTTPException(422, f"end: ask for at most {MAX_AVAILABILITY_DAYS} days at once")
    if not (start.year >= _FIRST_YEAR and end.year <= _LAST_YEAR):
        raise HTTPException(422, f"start: dates lie between {_FIRST_YEAR} and {_LAST_YEAR}")
    if tz is not None:
        try:
            check_zone(tz)
        except ValueError as exc:
            raise HTTPException(422, f"tz: {exc}") from exc


def _check_instant(moment: datetime) -> datetime:
    # An offset can push an instant at the calendar's very ends (0001-01-01T00:00+01:00) out
    # of datetime's range: pydantic turns only ValueError into a 422, so OverflowError is one.
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
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
        return None if value is None else check_zone(value)

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


class _Answer(BaseModel):
    """An answer read straight from a value of the booking flow (``from_attributes``)."""

    @classmethod
    def of(cls, value: Any) -> Self:
        """The answer for one value of the booking flow."""
        return cls.model_validate(value, from_attributes=True)


def _fields_of(view: type[Any], *, drop: Collection[str] = (), **retyped: Any) -> type[BaseModel]:
    """The fields of a booking-flow value (a dataclass) as a model to build an answer on, so
    the answer and :meth:`~zohokit.scheduling.Booking.to_dict` (the CLI's JSON) keep one
    field list: each field with its type, required (an answer carries them all), less
    ``drop``; ``retyped`` gives some another type (``name=(type, default or Field)``)."""
    hints = get_type_hints(view)
    own = {f.name: (hints[f.name], ...) for f in dataclasses.fields(view) if f.name not in drop}
    return create_model(f"_{view.__name__}Fields", **{**own, **retyped})


# mypy sees the bases built from the views' fields as Any (hence the ignores); pydantic and
# FastAPI (the schema, the answers) see their fields.
class CustomerOut(_Answer, _fields_of(Customer, drop={"notes"}, fields=(dict[str, Any], ...))):  # type: ignore[misc]
    """The customer as stored with the booking."""


class BookingOut(
    _Answer,
    _fields_of(  # type: ignore[misc]
        Booking,
        status=(BookingStatus, ...),
        customer=(CustomerOut, ...),
        hosts=(
            list[str],
            Field(
                default_factory=list,
                description="A team's hosts given the booking (the first holds it)",
            ),
        ),
        crm_meeting_id=(
            str | None,
            Field(default=None, description="The booking's Zoho CRM Events (Meetings) record"),
        ),
    ),
):
    """A booking. ``status``: ``complete`` (Zoho has the event and the CRM record),
    ``pending`` (booked, Zoho not written yet: see ``pending_reason``), ``cancel_pending``
    or ``cancelled``. ``start``/``end`` are UTC; ``local_*`` are in ``booker_zone``."""

    manage_links: dict[str, str] | None = Field(
        default=None,
        description="Signed links for the customer (cancel, reschedule), valid until the "
        "booking starts; they open the manage page of this service",
    )


class HoldOut(_Answer, _fields_of(Hold)):  # type: ignore[misc]
    """A held slot; confirm it with ``POST .../bookings`` and ``hold_id`` before
    ``expires_at``."""


class SlotOut(BaseModel):
    """A bookable slot: UTC instants and the booker's wall clock (and for a team, the hosts
    free to take it)."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    hosts: list[str] | None = None

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        """The answer for one slot."""
        return cls(
            start=slot.start_utc,
            end=slot.end_utc,
            local_start=slot.local_start,
            local_end=slot.local_end,
            hosts=list(slot.hosts) if isinstance(slot, TeamSlot) else None,
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


class VerdictOut(BaseModel):
    """One slot (or stretch outside working hours) of one host, and why it is not offered."""

    host: str
    start: datetime
    end: datetime
    rule: str | None = Field(description="The rule that removed it; null: offered")
    detail: str

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictOut:
        """The answer for one verdict."""
        rule = verdict.rule.value if verdict.rule is not None else None
        return cls(
            host=verdict.host,
            start=verdict.start,
            end=verdict.end,
            rule=rule,
            detail=verdict.detail,
        )


class ExplainOut(BaseModel):
    """Why (not): a verdict per host and slot, by host then start."""

    verdicts: list[VerdictOut]


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
    team: dict[str, Any] | None = Field(
        default=None,
        description="Several hosts: mode (one, all or k), assignment, sticky and hosts "
        "(id, email, calendar_id, optional user_email, weight, schedule); see "
        "docs/scheduling.md",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    def to_entry(self, tenant: str) -> TenantSchedule:
        """The stored form; raises ``InvalidSchedule`` for what the model cannot check
        (overlapping blocks, an end before a start)."""
        data = self.model_dump(mode="json", exclude_none=True)
        return parse_schedule_file(tenant, data)

    @classmethod
    def of(cls, entry: TenantSchedule) -> ScheduleBody:
        """The answer for a stored schedule."""
        return cls.model_validate(entry.to_dict())
