"""The booking flow's errors: each one a 4xx the HTTP service answers (see ``docs/service.md``).

::

    ZohoError
    └── BookingError          a booking request cannot be done as asked
        ├── SlotTaken             409: another booking or hold has the slot, or Zoho shows it busy
        ├── SlotNotOffered        422: not a slot of the schedule
        ├── BookingNotFound       404
        ├── HoldNotFound          404 (confirmed, released or never made)
        │   └── HoldExpired       410
        ├── ScheduleNotFound      404: the tenant has no schedule yet
        └── IdempotencyConflict   422: the key already booked another slot
"""

from __future__ import annotations

from zohokit.errors import ZohoError

__all__ = [
    "BookingError",
    "BookingNotFound",
    "HoldExpired",
    "HoldNotFound",
    "IdempotencyConflict",
    "ScheduleNotFound",
    "SlotNotOffered",
    "SlotTaken",
]


class BookingError(ZohoError):
    """A booking request cannot be done as asked (the HTTP service maps these to 4xx)."""


class SlotTaken(BookingError):
    """The slot is no longer free: another booking or hold has it, or Zoho shows it busy (409)."""


class SlotNotOffered(BookingError):
    """The time is not a slot of the schedule (outside hours, off the grid, too soon, past the
    booking window), whatever else is booked (422)."""


class BookingNotFound(BookingError):
    """No booking with this id for this tenant (404)."""


class HoldNotFound(BookingError):
    """No hold with this id for this tenant, or it was already confirmed or released (404)."""


class HoldExpired(HoldNotFound):
    """The hold ran out before it was confirmed; hold the slot again (410)."""


class ScheduleNotFound(BookingError):
    """The tenant has no schedule yet: ``zohokit schedule set TENANT --file ...`` (404)."""


class IdempotencyConflict(BookingError):
    """This idempotency key already made a booking for a different slot (422)."""
