"""The worker's value types: a claimed :class:`Job`, the :class:`JobContext` a handler gets,
a :class:`JobKind` registration, and the read-only views (:class:`JobRun`,
:class:`KindStatus`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from ..db import json_ready

#: The root a handler runs on: :class:`zohokit.Zoho` (``zohokit.worker.JobContext`` says so;
#: this part sits below the root and does not import it).
RootT = TypeVar("RootT")

__all__ = ["Handler", "Job", "JobContext", "JobKind", "JobRun", "KindStatus", "StartHook"]
__all__ += ["ensure_scheduled"]

#: What a job kind runs: returns when to run again (an aware ``datetime``), or ``None`` when
#: the job is finished (its row is then removed). Raising records a failed run and retries.
Handler = Callable[["JobContext[Any]"], Awaitable[datetime | None]]
#: Run by each worker as it starts, for every kind it runs: makes sure the kind's recurring
#: jobs exist (``zoho.jobs.schedule(..., if_absent=True)``), or sweeps for work to schedule.
StartHook = Callable[[Any], Awaitable[None]]


def ensure_scheduled(*kinds: tuple[str, timedelta]) -> StartHook:
    """The :data:`StartHook` of kinds that run as one job for the whole fleet (key
    ``all``): each ``(kind, after)`` is scheduled ``after`` from the root's clock, unless it
    is scheduled already."""

    async def ensure(zoho: Any) -> None:
        now = zoho.clock()
        for kind, after in kinds:
            await zoho.jobs.schedule(kind, "all", now + after, if_absent=True)

    return ensure


@dataclass(frozen=True, slots=True)
class Job:
    """One claimed job, as its handler sees it.

    ``attempts`` counts this run (1 on the first try; it goes back to 0 after a success), so
    a handler can tell a retry from a first run. ``generation`` is internal: it says whether
    the job was scheduled again while it ran.
    """

    id: int
    kind: str
    key: str
    tenant: str | None
    payload: dict[str, Any]
    attempts: int
    due_at: datetime
    generation: int = field(default=1, repr=False)


@dataclass(frozen=True, slots=True)
class JobContext(Generic[RootT]):
    """What a handler is given: the root it runs on, the job, and the time it was claimed
    (the root's clock, so a test with a simulated clock sees simulated time)."""

    zoho: RootT
    job: Job
    now: datetime


@dataclass(frozen=True, slots=True)
class JobKind:
    """A registered kind of job: its name, handler, and how it is run.

    ``lease`` seconds bound how long a dead worker keeps a job (the worker renews the lease
    every third of it while the handler runs); ``timeout`` bounds one run (``None``: the
    lease renewal keeps a long run alive); a failed run is retried after an exponential
    backoff from ``retry_base`` to ``retry_cap`` seconds, at most ``max_attempts`` times in a
    row (``None``: until it succeeds), after which the job is marked failed. ``on_start`` is
    awaited by every worker as it starts (:data:`StartHook`).
    """

    name: str
    handler: Handler = field(repr=False)
    lease: float = 60.0
    timeout: float | None = 300.0
    max_attempts: int | None = None
    retry_base: float = 2.0
    retry_cap: float = 3600.0
    description: str = ""
    on_start: StartHook | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise ValueError(f"a job kind needs a name of 1 to 64 characters, not {self.name!r}")
        if self.lease <= 0:
            raise ValueError(f"job kind {self.name!r}: lease must be positive, not {self.lease}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"job kind {self.name!r}: timeout must be positive or None")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"job kind {self.name!r}: max_attempts must be at least 1 or None")
        if not 0 < self.retry_base <= self.retry_cap:
            raise ValueError(
                f"job kind {self.name!r}: need 0 < retry_base <= retry_cap,"
                f" not {self.retry_base} and {self.retry_cap}"
            )


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a job, as the history keeps it. ``outcome`` is ``running``, ``ok``,
    ``failed``, ``lost`` (its worker died or lost the lease) or ``cancelled`` (shut down)."""

    kind: str
    key: str
    tenant: str | None
    worker: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    error: str | None


@dataclass(frozen=True, slots=True)
class KindStatus:
    """How one job kind stands: jobs due now (not running), scheduled later, running (leased),
    failed for good; and its last run."""

    kind: str
    due: int = 0
    scheduled: int = 0
    running: int = 0
    failed: int = 0
    last_run: JobRun | None = None

    def as_dict(self) -> dict[str, Any]:
        """The status as plain JSON values (``zohokit worker status --json``)."""
        return json_ready(self)
