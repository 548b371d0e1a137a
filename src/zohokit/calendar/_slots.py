"""Bookable slots inside working hours, minus busy time: a pure function of its inputs.

This is the simple form the Calendar service offers as the seed's ``get_available_slots``;
the availability engine (``zohokit.scheduling``) replaces it with buffers, rules and
many calendars.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._times import BusyInterval, merge

__all__ = ["Slot", "free_slots"]


@dataclass(frozen=True, order=True)
class Slot:
    """A free ``[start, end)``, in the timezone the working hours were given in."""

    start: datetime
    end: datetime


def free_slots(
    window_start: datetime,
    window_end: datetime,
    busy: Iterable[BusyInterval],
    duration: timedelta,
    step: timedelta | None = None,
) -> list[Slot]:
    """Slots of ``duration`` starting every ``step`` (default: ``duration``) from
    ``window_start``, that end by ``window_end`` and overlap no busy interval."""
    if duration <= timedelta(0):
        raise ValueError("a slot needs a positive duration")
    step = step or duration
    if step <= timedelta(0):
        raise ValueError("the step between slots must be positive")
    blocks = merge([b for b in busy if b.end > window_start and b.start < window_end])
    slots = []
    start = window_start
    while start + duration <= window_end:
        end = start + duration
        if not any(b.start < end and b.end > start for b in blocks):
            slots.append(Slot(start, end))
        start += step
    return slots
