"""What the request path sent: Zoho API calls and the credits they cost.

Pure counting, no I/O. :func:`tally_requests` opens a block whose every attempt (retries
included: each reached, or may have reached, Zoho and costs credits there) is counted by the
request path in the :class:`RequestTally` the block yields; the sync report reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..budget import call_cost

__all__ = ["RequestTally", "count_attempt", "credits_for", "current_tally", "tally_requests"]


def credits_for(
    method: str, json: Any, *, path: str = "", params: Mapping[str, Any] | None = None
) -> int:
    """Zoho API credits one call costs: a write of N records ``ceil(N / 10)``, COQL by its
    ``LIMIT``, convert 5, ... (:func:`zohokit.budget.call_cost` has the table), any other 1.
    """
    return call_cost(method, path, params=params, json=json)


@dataclass
class RequestTally:
    """What the request path sent while :func:`tally_requests` was active.

    Every attempt counts, retries included: each one reached (or may have reached) Zoho and
    costs credits there.
    """

    requests: int = 0
    credits: int = 0

    def add(self, credits: int) -> None:
        """Count one attempt that cost ``credits``."""
        self.requests += 1
        self.credits += credits


_tally: ContextVar[RequestTally | None] = ContextVar("zohokit_request_tally", default=None)


def current_tally() -> RequestTally | None:
    """The tally of the innermost :func:`tally_requests` block this task runs in, if any."""
    return _tally.get()


@contextlib.contextmanager
def tally_requests() -> Iterator[RequestTally]:
    """Count every request sent by this task and the tasks it starts, while the block runs.

    >>> with tally_requests() as tally:  # doctest: +SKIP
    ...     await crm.upsert_records("Leads", rows)
    >>> tally.requests, tally.credits  # doctest: +SKIP
    """
    tally = RequestTally()
    reset = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(reset)


def count_attempt(credits: int) -> None:
    """Count one attempt costing ``credits`` in the innermost open tally, if any (the request
    path's call)."""
    tally = _tally.get()
    if tally is not None:
        tally.add(credits)
