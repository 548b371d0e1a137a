"""The run report: what one push or pull did, in counts a person can check.

A report is built while a run goes (``count``, ``error``; API calls and credits come from
the request path's exact tally, retries included), saved as JSON in the
``sync_runs`` table and listed by ``zohokit sync status``. :func:`tracked_run` is how a push or
a pull keeps one: saved as it starts and as it ends, on the ledger's clock.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..budget import batch_lane
from ..errors import BudgetExhausted
from ..events import Session, emit
from ..http import tally_requests

if TYPE_CHECKING:
    from ..http import RequestTally
    from ._ledger import Ledger

__all__ = ["ErrorGroup", "RunReport", "emit_run_event", "scheduled_as", "tracked_run"]

Direction = Literal["push", "pull"]
#: ``completed_with_errors``: the run went to the end, but some rows failed or were refused;
#: ``budget_exhausted``: it stopped at the batch share of the tenant's Zoho credits (run it
#: again after the day's reset: what synced is skipped); ``planned``: a dry run (nothing was
#: sent, nothing saved).
Status = Literal[
    "running", "completed", "completed_with_errors", "budget_exhausted", "failed", "planned"
]
#: Problems and samples a report keeps (the counts are always complete).
KEPT = 20
#: The schedule whose run this is (set by the scheduled-sync job around its push or pull).
_SCHEDULE: ContextVar[str | None] = ContextVar("zohokit_sync_schedule", default=None)


@contextmanager
def scheduled_as(name: str) -> Iterator[None]:
    """Runs started inside the block are the schedule ``name``'s: their reports and events
    say so (``schedule``)."""
    token = _SCHEDULE.set(name)
    try:
        yield
    finally:
        _SCHEDULE.reset(token)


@dataclass
class ErrorGroup:
    """Every failure of one Zoho error code in a run, with one example to look at."""

    count: int = 0
    example_key: str | None = None
    example_message: str = ""
    example_details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    """Counts of one sync run.

    ``created``/``updated``: records Zoho inserted or updated (push) or changes read back
    (pull); ``unchanged``: rows skipped because their hash matched the last push;
    ``failed``: rows that failed this run and will be retried next run; ``parked``: rows given
    up on after too many attempts; ``invalid``: rows refused before sending because a value
    does not fit its field (``problems`` lists the first of them as row, field, expected,
    got); ``deleted``: records deleted (mirror push) or deletions read (pull); ``echoes``:
    records a pull skipped because they were our own writes. A dry run (``status`` planned)
    counts what a push would do, with a few external ids of each kind in ``samples``.
    """

    tenant: str
    module: str
    direction: Direction
    #: When the run began (ISO 8601, UTC), on the clock of the ledger that keeps the report.
    started_at: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    finished_at: str | None = None
    status: Status = "running"
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    parked: int = 0
    invalid: int = 0
    deleted: int = 0
    echoes: int = 0
    api_calls: int = 0
    credits: int = 0
    errors: dict[str, ErrorGroup] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""
    #: The schedule that ran it (``zohokit sync schedule``), ``None`` for a run by hand.
    schedule: str | None = None

    def settle_calls(self, tally: RequestTally) -> None:
        """Take the run's API calls and credits from the request path's exact count."""
        self.api_calls = tally.requests
        self.credits = tally.credits

    def error(
        self, code: str, key: str | None, message: str, details: dict[str, Any] | None = None
    ) -> None:
        """Count one failure under Zoho's ``code``; the first one is kept as the example."""
        group = self.errors.get(code)
        if group is None:
            group = self.errors[code] = ErrorGroup(
                example_key=key, example_message=message, example_details=dict(details or {})
            )
        group.count += 1

    def problem(self, entry: dict[str, Any]) -> None:
        """Keep one refused value (row, field, expected, got), up to :data:`KEPT` of them."""
        if len(self.problems) < KEPT:
            self.problems.append(entry)

    def sample(self, kind: str, key: str) -> None:
        """Keep ``key`` as an example of ``kind`` (create, update, ...) in a dry run."""
        kept = self.samples.setdefault(kind, [])
        if len(kept) < 5:
            kept.append(key)

    @property
    def status_text(self) -> str:
        """The status in plain words, as the CLI and the admin page show it."""
        return self.status.replace("_", " ")

    def finish(self, status: Status | None = None, message: str = "", *, now: datetime) -> None:
        """Stamp the end of the run at ``now``; without a ``status``, ``completed`` when no
        row failed or was refused, else ``completed_with_errors``."""
        if status is None:
            status = "completed_with_errors" if self.errors or self.invalid else "completed"
        self.status = status
        self.message = message
        self.finished_at = now.isoformat()

    @property
    def seconds(self) -> float | None:
        """How long the run took, once finished."""
        if self.finished_at is None:
            return None
        end = datetime.fromisoformat(self.finished_at)
        return (end - datetime.fromisoformat(self.started_at)).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        data = asdict(self)
        data["seconds"] = self.seconds
        return data

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        """Read back what :meth:`to_dict` wrote."""
        data = dict(data)
        data.pop("seconds", None)
        errors = {code: ErrorGroup(**group) for code, group in data.pop("errors", {}).items()}
        return cls(**data, errors=errors)


#: The counts a run's event carries (the full report stays in ``zohokit sync status``).
_EVENT_COUNTS = (
    "rows_read",
    "created",
    "updated",
    "unchanged",
    "failed",
    "parked",
    "invalid",
    "deleted",
)


async def emit_run_event(session: Session, report: RunReport, *, now: datetime) -> str:
    """``sync.run.failed`` for a failed run, else ``sync.run.completed``, in ``session``'s
    transaction (the one that saves the finished report)."""
    kind = "sync.run.failed" if report.status == "failed" else "sync.run.completed"
    data: dict[str, Any] = {
        "run_id": report.run_id,
        "module": report.module,
        "direction": report.direction,
        "status": report.status,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        **{name: getattr(report, name) for name in _EVENT_COUNTS},
        "error_codes": sorted(report.errors),
        "message": report.message,
        "schedule": report.schedule,
    }
    return await emit(session, kind, report.tenant, data, now=now)


@asynccontextmanager
async def tracked_run(
    ledger: Ledger, tenant: str, module: str, direction: Direction
) -> AsyncIterator[RunReport]:
    """The report of one run, saved when the block starts and again when it ends: failed,
    with the exception's name, if the block raises (saved even if the run is cancelled), else
    completed (``completed_with_errors`` when rows failed or were refused). Its API calls and
    credits are the request path's count of the block's calls, made in the budget's batch
    lane: a run that reaches the batch share of the day's credits ends ``budget_exhausted``
    and raises :class:`~zohokit.errors.BudgetExhausted`."""
    report = RunReport(
        tenant, module, direction, ledger.clock().isoformat(), schedule=_SCHEDULE.get()
    )
    await ledger.save_run(report)
    with tally_requests() as tally, batch_lane():
        try:
            yield report
        except BaseException as exc:
            report.settle_calls(tally)
            status: Status = "budget_exhausted" if isinstance(exc, BudgetExhausted) else "failed"
            report.finish(status, f"{type(exc).__name__}: {exc}", now=ledger.clock())
            await asyncio.shield(ledger.save_run(report))
            raise
        report.settle_calls(tally)
    report.finish(now=ledger.clock())
    await ledger.save_run(report)
