"""The push engine's decisions, as plain functions: what to send, how to batch, what to retry.

Nothing here does I/O, so every rule is tested directly: :func:`plan_row` (send or skip a
row, from its ledger entry and new hash), :func:`next_attempt` (failed or parked),
:func:`classify_result` (what one record's answer means) and :func:`split` (halve a batch that
Zoho rejected as a whole, to isolate the bad rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from ..crm import RecordResult
from ..errors import RateLimited, ServerError, TransportError, ZohoAPIError

__all__ = [
    "RETRYABLE_RECORD_CODES",
    "LedgerState",
    "Plan",
    "Verdict",
    "classify_result",
    "next_attempt",
    "plan_row",
    "split",
]

Status = Literal["synced", "pending", "failed", "parked", "deleted"]
Plan = Literal["send", "unchanged", "parked"]
Verdict = Literal["synced", "retry", "split", "failed"]

#: Per-record codes that describe Zoho's state, not the row: the same row may pass later.
RETRYABLE_RECORD_CODES = frozenset(
    {"INTERNAL_ERROR", "TOO_MANY_REQUESTS", "RECORD_LOCKED", "DEPENDENT_SERVICE_ERROR"}
)

T = TypeVar("T")


@dataclass(frozen=True)
class LedgerState:
    """What the ledger remembers of one row, as far as the decisions need it."""

    status: Status
    content_hash: str | None
    attempts: int = 0


def plan_row(entry: LedgerState | None, new_hash: str, max_attempts: int) -> Plan:
    """Whether a row must be sent.

    A row is skipped when the ledger says its current content is in Zoho (``unchanged``), or
    when that same content already failed ``max_attempts`` times (``parked``). Anything else
    is sent: a new row, a changed row (even a parked one: new content gets new chances), a
    row left ``pending`` by a run that died, and a failed row with attempts left.
    """
    if entry is None or entry.content_hash != new_hash:
        return "send"
    if entry.status == "synced":
        return "unchanged"
    if entry.status == "parked" or (entry.status == "failed" and entry.attempts >= max_attempts):
        return "parked"
    return "send"


def next_attempt(
    entry: LedgerState | None, new_hash: str, max_attempts: int
) -> tuple[Literal["failed", "parked"], int]:
    """The status and attempt count of a row whose send failed this run.

    Attempts count failures of the same content; changed content starts again from zero.
    """
    before = entry.attempts if entry is not None and entry.content_hash == new_hash else 0
    attempts = before + 1
    return ("parked" if attempts >= max_attempts else "failed"), attempts


def classify_result(result: RecordResult, batch_size: int) -> Verdict:
    """What to do with one record after an upsert answered (or failed to).

    - ``synced``: Zoho took it.
    - ``retry``: the batch got no usable answer (429, 5xx, a gateway page, a timeout, a
      malformed answer) or Zoho reported a transient per-record code: send it again.
    - ``split``: Zoho rejected the whole batch with a 4xx (one bad row can do that); halve
      the batch so the good rows go through and the bad one is found.
    - ``failed``: Zoho refused this record for a reason that resending will not change.
    """
    if result.ok:
        return "synced"
    error = result.error
    if error is not None:
        if isinstance(error, RateLimited | ServerError | TransportError):
            return "retry"
        status = error.status if isinstance(error, ZohoAPIError) else None
        if status is None or status >= 500 or status == 429:
            return "retry"
        return "split" if batch_size > 1 else "failed"
    if result.code in RETRYABLE_RECORD_CODES:
        return "retry"
    return "failed"


def split(batch: Sequence[T]) -> list[list[T]]:
    """Two halves of ``batch`` (the first one longer), or the batch itself when it is one row."""
    if len(batch) <= 1:
        return [list(batch)]
    middle = (len(batch) + 1) // 2
    return [list(batch[:middle]), list(batch[middle:])]
