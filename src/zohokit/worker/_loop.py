"""``Worker``: the loop that claims due jobs and runs their handlers, until told to stop.

Any number of workers share one database. Each round a worker claims up to its free slots
(``concurrency``) of due jobs of the kinds it knows (:meth:`JobStore.claim`: ``SKIP LOCKED``
on PostgreSQL), runs each handler as its own task while renewing the job's lease every third
of the lease, and records the run. When nothing is due it waits for a wake-up (``NOTIFY`` on
PostgreSQL, or a job scheduled by this process) or ``poll_interval`` seconds, whichever
comes first.

**The bound for a dead worker:** a worker killed with SIGKILL renews nothing, so each of its
jobs becomes claimable when its lease runs out, at most ``lease`` seconds (the kind's) after
its last renewal; another worker takes it at its next round, within ``poll_interval`` more.

**Graceful stop** (:meth:`Worker.stop`, SIGTERM/SIGINT in the CLI): no new claims; running
handlers get ``grace`` seconds to finish; the rest are cancelled and their jobs handed back
at once (their leases cleared, the attempt not counted), so a peer takes them without
waiting for a lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..db import Listener
from ..errors import StorageUnavailable
from ..jobs import CHANNEL, Job, JobContext, JobKind
from ..jobs._lease import LeaseLost, run_leased
from ..jobs._store import error_text
from ..tokens._policy import backoff_seconds
from . import _metrics as m
from ._standard import install

if TYPE_CHECKING:
    from .._zoho import Zoho

__all__ = ["Worker"]

#: How often (seconds) the worker counts each kind's backlog for the metrics.
BACKLOG_EVERY_SECONDS = 15.0


class Worker:
    """Runs ``zoho.jobs``' registered kinds (or only ``kinds``) until :meth:`stop`.

    ``concurrency`` jobs run at once in this process; ``poll_interval`` seconds is the
    longest a due job waits when no wake-up arrives; ``grace`` seconds is how long a stop
    waits for running handlers. ``name`` identifies this worker in leases and run rows
    (default: host, pid and a random suffix).
    """

    def __init__(
        self,
        zoho: Zoho,
        *,
        kinds: Iterable[str] | None = None,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        grace: float = 30.0,
        name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"a worker needs a concurrency of at least 1, not {concurrency}")
        if poll_interval <= 0 or grace < 0:
            raise ValueError("poll_interval must be positive and grace not negative")
        self.zoho = zoho
        install(zoho.jobs)
        self._only = None if kinds is None else set(kinds)
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.grace = grace
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._kick = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], tuple[Job, int]] = {}
        self._rng = random.Random()
        self._backlog_at = 0.0
        self._started = False

    def __repr__(self) -> str:
        return f"Worker(name={self.name!r}, concurrency={self.concurrency})"

    @property
    def kinds(self) -> dict[str, JobKind]:
        """The kinds this worker runs (registered on ``zoho.jobs``, filtered by ``kinds=``)."""
        registered = self.zoho.jobs.kinds
        if self._only is None:
            return dict(registered)
        unknown = self._only - set(registered)
        if unknown:
            raise ValueError(
                f"unknown job kind(s) {', '.join(sorted(unknown))}; registered:"
                f" {', '.join(sorted(registered)) or 'none'}"
            )
        return {name: kind for name, kind in registered.items() if name in self._only}

    def stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler): no new claims, then a graceful
        end (see the module docstring)."""
        self._stopping.set()
        self._kick.set()

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll."""
        self._kick.set()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`; returns once the running handlers finished or were handed
        back."""
        await self.zoho.migrate()
        kinds = self.kinds
        await self._start_hooks(kinds)
        listener = Listener(
            self.zoho.engine, CHANNEL, self.wake, timeout=self.zoho.db_timeouts.statement
        )
        await listener.start()
        undo = self.zoho.jobs._on_local_schedule(self.wake)
        m.emit(
            "worker.started",
            logging.INFO,
            "*",
            "*",
            worker=self.name,
            kinds=",".join(sorted(kinds)),
            listening=listener.listening,
        )
        try:
            while not self._stopping.is_set():
                self._kick.clear()
                claimed = await self._claim_round(kinds)
                if claimed and len(self._tasks) < self.concurrency:
                    continue  # a full batch: more may be due
                await self._count_backlog(kinds)
                if not listener.listening:
                    await listener.start()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), self.poll_interval)
        finally:
            undo()
            await self._drain()
            await listener.close()
            m.emit("worker.stopped", logging.INFO, "*", "*", worker=self.name)

    async def run_due(self) -> int:
        """Claim and run every job due now, round after round until none is left; the
        number of runs. For ``zohokit worker --once`` and tests that move a clock."""
        await self.zoho.migrate()
        kinds = self.kinds
        await self._start_hooks(kinds)
        runs = 0
        while True:
            claimed = await self._claim_round(kinds)
            if not claimed:
                if not self._tasks:
                    return runs
                await asyncio.wait(set(self._tasks))
                continue
            runs += claimed
            await asyncio.wait(set(self._tasks))

    async def _start_hooks(self, kinds: dict[str, JobKind]) -> None:
        if self._started:
            return
        self._started = True
        for kind in kinds.values():
            if kind.on_start is None:
                continue
            try:
                await kind.on_start(self.zoho)
            except Exception as exc:  # one kind's failing sweep must not stop the others
                m.emit(
                    "worker.start_hook_failed", logging.ERROR, kind.name, "*", error=error_text(exc)
                )

    async def _claim_round(self, kinds: dict[str, JobKind]) -> int:
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        now = self.zoho.clock()
        try:
            claimed = await self.zoho.jobs.store.claim(
                owner=self.name,
                leases={name: kind.lease for name, kind in kinds.items()},
                limit=free,
                now=now,
            )
        except StorageUnavailable as exc:
            m.emit("worker.claim_failed", logging.WARNING, "*", "*", error=exc.message)
            return 0
        for job, run_id in claimed:
            task = asyncio.create_task(self._execute(kinds[job.kind], job, run_id))
            self._tasks[task] = (job, run_id)
            m.RUNNING.labels(job.kind).inc()
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        job, _ = self._tasks.pop(task, (None, 0))
        if job is not None:
            m.RUNNING.labels(job.kind).dec()
        if not task.cancelled() and (exc := task.exception()) is not None:
            logging.getLogger("zohokit.worker").error("worker.task_crashed", exc_info=exc)
        self._kick.set()

    async def _count_backlog(self, kinds: dict[str, JobKind]) -> None:
        if time.monotonic() - self._backlog_at < BACKLOG_EVERY_SECONDS:
            return
        self._backlog_at = time.monotonic()
        try:
            for status in await self.zoho.jobs.store.status(
                now=self.zoho.clock(), kinds=list(kinds)
            ):
                m.BACKLOG.labels(status.kind).set(status.due)
        except StorageUnavailable:
            pass  # counted again next time; the claims report the outage

    async def _drain(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self.grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # --- one run ----------------------------------------------------------------------------

    async def _execute(self, kind: JobKind, job: Job, run_id: int) -> None:
        store = self.zoho.jobs.store
        ctx = JobContext(zoho=self.zoho, job=job, now=self.zoho.clock())

        async def renew() -> bool:
            now = self.zoho.clock()
            until = now + timedelta(seconds=kind.lease)
            return await store.renew(job, owner=self.name, until=until, now=now)

        started = time.perf_counter()
        outcome = "ok"
        try:
            next_due = await run_leased(self._call(kind, ctx), renew=renew, every=kind.lease / 3)
        except (LeaseLost, asyncio.CancelledError) as exc:
            outcome = "lost" if isinstance(exc, LeaseLost) else "cancelled"
            with contextlib.suppress(StorageUnavailable):
                await store.release(
                    job, run_id, owner=self.name, outcome=outcome, now=self.zoho.clock()
                )
            m.emit(f"job.{outcome}", logging.WARNING, job.kind, job.key, tenant=job.tenant)
            if outcome == "cancelled":
                raise
            return
        except Exception as exc:
            outcome = "failed"
            await self._failed(kind, job, run_id, exc)
        else:
            now = self.zoho.clock()
            if not await store.finish(job, run_id, owner=self.name, next_due=next_due, now=now):
                m.emit("job.lease_lost_at_finish", logging.WARNING, job.kind, job.key)
        finally:
            m.RUNS.labels(job.kind, outcome).inc()
            m.DURATION.labels(job.kind).observe(time.perf_counter() - started)

    @staticmethod
    async def _call(kind: JobKind, ctx: JobContext[Zoho]) -> datetime | None:
        if kind.timeout is None:
            result = await kind.handler(ctx)
        else:
            try:
                async with asyncio.timeout(kind.timeout):
                    result = await kind.handler(ctx)
            except TimeoutError as exc:
                raise TimeoutError(
                    f"the handler ran past its timeout of {kind.timeout:g} s"
                ) from exc
        if result is not None and not isinstance(result, datetime):
            raise TypeError(
                f"a {kind.name} handler returned {type(result).__name__}: return an aware"
                " datetime (when to run again) or None (finished)"
            )
        return result

    async def _failed(self, kind: JobKind, job: Job, run_id: int, exc: Exception) -> None:
        now = self.zoho.clock()
        error = error_text(exc)
        retry_at: datetime | None = None
        if kind.max_attempts is None or job.attempts < kind.max_attempts:
            wait = backoff_seconds(
                job.attempts, self._rng, base=kind.retry_base, cap=kind.retry_cap
            )
            retry_at = now + timedelta(seconds=wait)
        m.emit(
            "job.failed",
            logging.WARNING if retry_at is not None else logging.ERROR,
            job.kind,
            job.key,
            tenant=job.tenant,
            attempt=job.attempts,
            retry_at=retry_at.isoformat() if retry_at else "never",
            error=error,
        )
        await self.zoho.jobs.store.fail(
            job, run_id, owner=self.name, error=error, retry_at=retry_at, now=now
        )
