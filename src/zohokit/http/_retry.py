"""The retry policy and the classification of failures: plain functions of their inputs.

- 429, 5xx, HTML or otherwise non-JSON answers and connection failures are retried, up to
  ``max_retries`` times, with exponential backoff, jitter, and Zoho's ``Retry-After`` if sent;
- a request that may have reached Zoho (read timeout, dropped connection, 5xx) is retried only
  when it is idempotent: an insert is never sent twice blindly (use an upsert to get retries);
- a 401 ``INVALID_TOKEN`` / ``INVALID_OAUTHTOKEN`` is not retried here: the request path
  recovers from it once with a fresh token (:data:`TOKEN_DEAD_CODES`).

Nothing here does I/O or reads the clock except :func:`parse_retry_after` for an HTTP date
when no ``now`` is given.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = [
    "IDEMPOTENT_METHODS",
    "TOKEN_DEAD_CODES",
    "Failure",
    "RetryPolicy",
    "classify_exception",
    "classify_response",
    "parse_retry_after",
    "should_retry",
]

#: 401 codes that mean "this token is dead, a fresh one will do" (not a scope or header error).
TOKEN_DEAD_CODES = frozenset({"INVALID_TOKEN", "INVALID_OAUTHTOKEN"})
#: Methods that may be sent twice with the same effect.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: What a failed attempt was, for the retry decision.
Failure = Literal["not_sent", "maybe_processed", "throttled", "server"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before sending a failed request again.

    The delay before retry ``n`` (0-based) is ``initial_delay * 2**n`` capped at ``max_delay``,
    then jittered into ``[delay/2, delay]`` so that many clients do not retry in lockstep.
    A ``Retry-After`` from Zoho wins when it is longer; one longer than ``max_retry_after`` is
    not waited for at all (the error is raised with ``retry_after`` for the caller to plan).
    """

    max_retries: int = 3
    initial_delay: float = 0.2
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def jitter(self, delay: float) -> float:
        """Spread ``delay`` randomly over its upper half (override to make tests exact)."""
        return random.uniform(delay / 2, delay)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (0-based), or ``None`` to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        backoff = self.jitter(min(self.max_delay, self.initial_delay * 2**attempt))
        return max(backoff, retry_after or 0.0)


def should_retry(failure: Failure, idempotent: bool) -> bool:
    """Whether a failed attempt may be sent again.

    A request that never left (``not_sent``) or that Zoho refused before doing anything
    (``throttled``: 429) is always safe to resend. One that may have been processed (a read
    timeout, a dropped answer, a 5xx or a gateway page) is resent only if it is idempotent.
    """
    if failure in ("not_sent", "throttled"):
        return True
    return idempotent


def classify_exception(exc: httpx.TransportError) -> Failure:
    """Whether a transport error happened before the request could reach Zoho."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "not_sent"
    return "maybe_processed"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_response(status: int, is_json: bool, body: Any) -> Failure | None:
    """The retryable failure an answer represents, or ``None`` if it is final."""
    if status == 429:
        return "throttled"
    if status >= 500 or not is_json:
        # A non-JSON answer is a proxy or maintenance page, never Zoho's API speaking.
        return "server"
    return None
