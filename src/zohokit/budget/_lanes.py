"""Which lane a call travels in, and how long it may wait for a slot: set per call site.

Both are context variables, so they follow a block of work into the tasks it starts:

- the **lane**: ``interactive`` (the default: bookings, the admin page, a user's script) or
  ``batch`` (sync push and pull, bulk jobs: :func:`batch_lane`). Batch work uses only its
  share of the org's slots and credits; the rest is kept for interactive calls.
- the **policy**: wait for a slot at most ``seconds`` (:func:`wait_for_slot`; the budget's
  default otherwise), or :func:`fail_fast`: raise :class:`~zohokit.errors.RateLimited` with
  ``retry_after`` at once when no slot is free or the org is paused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Literal, TypeVar

__all__ = ["Lane", "batch_lane", "current_lane", "current_wait", "fail_fast", "wait_for_slot"]

#: ``interactive`` keeps a reserved share; ``batch`` stops at its share.
Lane = Literal["interactive", "batch"]

V = TypeVar("V")

_lane: ContextVar[Lane] = ContextVar("zohokit_budget_lane", default="interactive")
_wait: ContextVar[float | None] = ContextVar("zohokit_budget_wait", default=None)


def current_lane() -> Lane:
    """The lane of the calls this task makes."""
    return _lane.get()


def current_wait(default: float) -> float:
    """Seconds a call of this task may wait for a slot (``default`` unless a block set it)."""
    wait = _wait.get()
    return default if wait is None else wait


@contextlib.contextmanager
def _set(var: ContextVar[V], value: V) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def batch_lane() -> contextlib.AbstractContextManager[None]:
    """Make the block's Zoho calls batch work (sync, bulk): they use only the batch share
    and stop with :class:`~zohokit.errors.BudgetExhausted` when its credits run out.

    >>> with batch_lane():  # doctest: +SKIP
    ...     await crm.upsert_records("Leads", rows)
    """
    return _set(_lane, "batch")


def fail_fast() -> contextlib.AbstractContextManager[None]:
    """Make the block's calls raise :class:`~zohokit.errors.RateLimited` rather than wait
    when the org has no slot free or is paused."""
    return _set(_wait, 0.0)


def wait_for_slot(seconds: float) -> contextlib.AbstractContextManager[None]:
    """Let the block's calls wait at most ``seconds`` for a slot (or a pause to end), then
    raise :class:`~zohokit.errors.RateLimited`."""
    if seconds < 0:
        raise ValueError("a wait for a slot cannot be negative")
    return _set(_wait, float(seconds))
