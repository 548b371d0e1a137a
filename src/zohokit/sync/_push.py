"""Push: rows from a source into a Zoho CRM module by upsert, through the ledger.

The I/O shell around :mod:`._plan`'s decisions. The source is read in chunks, which the
:class:`~._planner.Planner` turns into the rows to send (unchanged and parked rows skipped,
values in Zoho's form); those the ledger already holds are marked ``pending``, and all are
gathered into batches of 100 (across chunks, so 100 changed rows anywhere in
a file make one call). Workers, as many as the request path lets run at once, upsert the
batches; each batch's outcome is written to the ledger as soon as it is known. A batch Zoho
rejects whole is halved until the bad rows are found; a batch that got no answer is sent
again after a pause, up to ``retry_rounds`` times; what still fails is ``failed`` (retried by
the next run) or, after ``max_attempts`` runs with the same content, ``parked``.

Kill the process anywhere and run again: rows whose outcome was written are skipped or
retried by the ledger's rules, rows left ``pending`` are sent again, and because every write
is an upsert on the match key, a row sent twice is still one record.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..crm import (
    BATCH_SIZE,
    WRITE_CHUNK,
    BulkPolicy,
    RecordResult,
    ZohoCRMService,
    stale_metadata,
)
from ..errors import BudgetExhausted
from ..http import current_tally, tally_requests
from ._bulkpush import DEFAULT_BULK_THRESHOLD, BulkPush
from ._ledger import Ledger, Outcome
from ._mapping import SyncMapping
from ._plan import classify_result, next_attempt, split
from ._planner import PLAN_CHUNK, Planner, PushRow, chunked
from ._report import RunReport, tracked_run

__all__ = ["DEFAULT_BULK_THRESHOLD", "DEFAULT_MAX_ATTEMPTS", "push"]

#: Runs a row's content may fail before it is parked.
DEFAULT_MAX_ATTEMPTS = 5
#: Seconds the ledger writer gathers outcomes before writing them in one transaction; a
#: process killed meanwhile sends those rows again next run (upserts: still one record).
FLUSH_WINDOW = 0.02

Progress = Callable[[RunReport], None]


@dataclass(frozen=True, slots=True)
class PushOptions:
    """How one push treats its rows (see :func:`push`, which takes them one by one)."""

    max_attempts: int
    retry_rounds: int
    retry_delay: float
    trigger: Sequence[str] | None
    on_progress: Progress | None


def _modified_time(result: RecordResult) -> datetime | None:
    value = result.details.get("Modified_Time")
    return _parse_time(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=256)
def _parse_time(value: str) -> datetime | None:
    # Cached: a batch's records share their Modified_Time (Zoho's times have whole seconds).
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(eq=False)
class _PushRun:
    """One push: the report, the workers and their shared settings."""

    crm: ZohoCRMService
    ledger: Ledger
    mapping: SyncMapping
    report: RunReport
    options: PushOptions
    planner: Planner = field(init=False)
    outcomes: asyncio.Queue[list[Outcome] | None] = field(default_factory=asyncio.Queue, init=False)
    #: The Bulk Write path, when the push may take it.
    bulk: BulkPush | None = field(default=None, init=False)
    #: Set when the batch share of the day's credits ran out: the writes in flight finish
    #: and are recorded, nothing more is sent, and the run raises it at the end.
    stopped: BudgetExhausted | None = field(default=None, init=False)
    #: Set once every batch was sent and settled: the writer stops gathering then.
    sent: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    tenant: str = field(init=False)
    module: str = field(init=False)

    def __post_init__(self) -> None:
        self.tenant, self.module = self.crm.tenant, self.mapping.module
        self.planner = Planner(
            self.crm, self.ledger, self.mapping, self.report, self.options.max_attempts
        )

    async def write(self) -> None:
        """The one ledger writer: whatever outcomes are waiting go in one transaction.

        Workers hand their outcomes over and go on sending, instead of queueing for SQLite's
        single write lock. Outcomes not yet written when the process dies leave their rows
        ``pending``, and the next run sends them again (an upsert, so no duplicate).
        """
        done = False
        while not done:
            waiting = [await self.outcomes.get()]
            if waiting[0] is not None:
                # The answers of the batches in flight arrive together: gather them for a
                # moment, so a wave is one transaction (each costs a round of database
                # thread hops and a commit: 100 writes of 100 rows take about 1.7 times the
                # CPU of 10 writes of 1,000), and the write falls in the wait for the next
                # answers. Not past the last batch: a small push ends as soon as it can.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.sent.wait(), FLUSH_WINDOW)
            while not self.outcomes.empty():
                waiting.append(self.outcomes.get_nowait())
            done = None in waiting
            batch = [o for item in waiting if item is not None for o in item]
            await self.ledger.record(self.tenant, self.module, batch)
            self.progress()

    def progress(self) -> None:
        on_progress = self.options.on_progress
        if on_progress is not None:
            tally = current_tally()
            if tally is not None:
                self.report.settle_calls(tally)  # so the progress line shows calls so far
            on_progress(self.report)

    # --- planning ------------------------------------------------------------------------

    async def produce(
        self,
        rows: Iterable[Mapping[str, Any]],
        queue: asyncio.Queue[list[PushRow] | None] | None,
        seen: set[str],
        workers: int,
    ) -> None:
        """Plan the rows chunk by chunk and hand the ones to send to the workers in batches
        (a dry run, ``queue`` ``None``, only counts them)."""
        batch: list[PushRow] = []
        for chunk in chunked(rows, PLAN_CHUNK):
            if self.stopped is not None:
                break
            to_send = await self.planner.plan(chunk, seen)
            if queue is None:
                for row in to_send:
                    if row.known:
                        self.report.updated += 1
                    else:
                        self.report.created += 1
                    self.report.sample("update" if row.known else "create", row.key)
                continue
            # Only rows the ledger already holds are marked: a new row's first write is its
            # outcome. Should the run die first, the row is simply new again next run, and
            # the upsert keeps it one record; this halves a first push's ledger writes.
            await self.ledger.mark_pending(
                self.tenant, self.module, [(r.key, r.hash) for r in to_send if r.entry is not None]
            )
            if self.bulk is not None:
                await self.bulk.take(to_send)  # held until the count decides the path
                self.progress()
                continue
            for row in to_send:
                batch.append(row)
                if len(batch) == BATCH_SIZE:
                    await queue.put(batch)
                    batch = []
            self.progress()
        if queue is None:
            return
        for row in await self.bulk.finish() if self.bulk is not None else []:
            batch.append(row)  # fewer than the bulk threshold: the records API sends them
            if len(batch) == BATCH_SIZE:
                await queue.put(batch)
                batch = []
        if batch:
            await queue.put(batch)
        for _ in range(workers):
            await queue.put(None)

    # --- sending -------------------------------------------------------------------------

    async def work(self, queue: asyncio.Queue[list[PushRow] | None]) -> None:
        while (batch := await queue.get()) is not None:
            if self.stopped is None:
                try:
                    await self.send(batch, 0)
                except BudgetExhausted as exc:
                    self.stopped = exc

    async def send(self, batch: list[PushRow], round_: int) -> None:
        """Upsert one batch and settle every row of it (recursing on halves and retries)."""
        extra: dict[str, Any] = {}
        if self.options.trigger is not None:
            extra["trigger"] = self.options.trigger
        results = await self.crm.upsert_records(
            self.module,
            [row.record for row in batch],
            duplicate_check_fields=self.mapping.duplicate_check_fields,
            **extra,
        )
        outcomes: list[Outcome] = []
        retry: list[PushRow] = []
        rejected: list[PushRow] = []
        last_failure: dict[str, RecordResult] = {}
        for row, result in zip(batch, results, strict=True):
            verdict = classify_result(result, len(batch))
            if verdict == "synced":
                outcomes.append(self.synced(row, result))
            elif verdict == "retry" and round_ < self.options.retry_rounds:
                retry.append(row)
                last_failure[row.key] = result
            elif verdict == "split":
                rejected.append(row)
            else:
                outcomes.append(self.failed(row, result))
        if outcomes:
            await self.outcomes.put(outcomes)
        if rejected:
            for half in split(rejected):
                await self.send(half, round_)
        if retry:
            await asyncio.sleep(self.options.retry_delay * 2**round_)
            await self.send(retry, round_ + 1)

    def synced(self, row: PushRow, result: RecordResult) -> Outcome:
        if result.action == "insert":
            self.report.created += 1
        else:
            self.report.updated += 1
        return Outcome.synced(row.key, row.hash, result.id, _modified_time(result))

    def failed(self, row: PushRow, result: RecordResult) -> Outcome:
        status, attempts = next_attempt(row.entry, row.hash, self.options.max_attempts)
        if status == "parked":
            self.report.parked += 1
        else:
            self.report.failed += 1
        message = result.message
        field = result.details.get("api_name")
        if field:
            message = f"{message} ({field})"  # say which field, not only that one is wrong
        if result.error is None and stale_metadata(result.code, result.message, result.details):
            # Zoho sees this field otherwise than our metadata: read it again next time.
            self.crm.metadata.forget(self.module)
        self.report.error(result.code, row.key, message, result.details)
        return Outcome(
            row.key,
            status,
            row.hash,
            attempts=attempts,
            error_code=result.code,
            error_details={"message": result.message, **result.details},
        )

    # --- mirror --------------------------------------------------------------------------

    async def mirror(self, seen: set[str]) -> None:
        """Delete the records of rows that are no longer in the source."""
        entries = await self.ledger.all_entries(self.tenant, self.module)
        gone = [e for e in entries if e.external_id not in seen and e.status != "deleted"]
        never_sent = [e.external_id for e in gone if not e.zoho_id]
        await self.ledger.forget(self.tenant, self.module, never_sent)
        targets = [e for e in gone if e.zoho_id]
        if not targets:
            return
        ids = [e.zoho_id for e in targets if e.zoho_id]
        results = await self.crm.delete_records(self.module, ids)
        done: list[str] = []
        for entry, result in zip(targets, results, strict=True):
            # "record not deleted" for an id that no longer exists: someone deleted it first.
            already_gone = result.error is None and result.code == "INVALID_DATA"
            if result.ok or already_gone:
                done.append(entry.external_id)
                self.report.deleted += 1
            else:
                self.report.failed += 1
                self.report.error(result.code, entry.external_id, result.message, result.details)
        await self.ledger.mark_deleted(self.tenant, self.module, done)


async def push(
    crm: ZohoCRMService,
    ledger: Ledger,
    rows: Iterable[Mapping[str, Any]],
    mapping: SyncMapping,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_rounds: int = 3,
    retry_delay: float = 1.0,
    mirror: bool = False,
    trigger: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
    bulk_policy: BulkPolicy | None = None,
    bulk_chunk: int = WRITE_CHUNK,
) -> RunReport:
    """Push ``rows`` (mappings, e.g. from :func:`~zohokit.sync.read_rows`) into
    ``mapping.module`` for ``crm``'s tenant, and return the run's report.

    Before the first write the module and the mapped fields are checked against the tenant's
    field metadata, and every row's values are put in Zoho's form; a misspelt module or field
    stops the run (:class:`~zohokit.errors.WriteRefused`, naming the closest), a value that
    does not fit its field leaves its row out (``invalid``, with the row, field, expected and
    got in ``problems``). The run ends ``completed``, or ``completed_with_errors`` when any
    row failed or was refused.

    ``max_attempts``: runs the same content may fail before its row is parked.
    ``retry_rounds``/``retry_delay``: how often, and after how long (doubling), rows whose
    batch got no answer are sent again within this run. ``mirror``: also delete the records
    of ledger rows missing from ``rows`` (only after the whole source was read).
    ``trigger``: Zoho's ``trigger`` list (``[]`` runs no workflow). ``workers``: batches
    worked on at once (default: twice the request path's per-tenant cap). ``dry_run``: only
    plan: the report (status ``planned``, not saved) counts the rows that would be created,
    updated, left unchanged, parked or refused, with ``samples`` of each; nothing is written
    to Zoho or the ledger.

    ``bulk_threshold``: past this many rows to send, they go through Bulk Write jobs of
    ``bulk_chunk`` rows (upserts by the key; ``bulk_policy`` is how each job is waited for)
    instead of the records API; ``None`` never does. A source whose length is known and
    below the threshold takes the records API at once; otherwise rows to send are held until
    their count decides. Jobs a killed run left open are settled first.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    options = PushOptions(max_attempts, retry_rounds, retry_delay, trigger, on_progress)

    def run_for(report: RunReport) -> _PushRun:
        run = _PushRun(crm, ledger, mapping, report, options)
        small = isinstance(rows, Sized) and len(rows) < (bulk_threshold or 0)
        if bulk_threshold is not None and not small and not dry_run:
            run.bulk = BulkPush(run, bulk_threshold, policy=bulk_policy, chunk_size=bulk_chunk)
        return run

    if dry_run:
        plan = RunReport(crm.tenant, mapping.module, "push", ledger.clock().isoformat())
        with tally_requests() as tally:
            await run_for(plan).produce(rows, None, set(), 0)
        plan.settle_calls(tally)
        plan.finish("planned", now=ledger.clock())
        return plan
    # Twice the request path's cap: while some workers write their batch to the ledger,
    # others keep the cap full (the request path still lets only max_in_flight through).
    count = workers or 2 * crm.http.max_in_flight
    queue: asyncio.Queue[list[PushRow] | None] = asyncio.Queue(maxsize=2 * count)
    async with tracked_run(ledger, crm.tenant, mapping.module, "push") as report:
        await _run_push(run_for(report), rows, queue, set(), count, mirror)
    return report


async def _run_push(
    run: _PushRun,
    rows: Iterable[Mapping[str, Any]],
    queue: asyncio.Queue[list[PushRow] | None],
    seen: set[str],
    count: int,
    mirror: bool,
) -> None:
    # Jobs a killed run left open are settled first: their rows then plan as unchanged.
    await BulkPush(run, 1, policy=run.bulk.policy if run.bulk else None).reconcile()
    try:
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(run.write())
            async with asyncio.TaskGroup() as senders:
                senders.create_task(run.produce(rows, queue, seen, count))
                for _ in range(count):
                    senders.create_task(run.work(queue))
            run.sent.set()
            await run.outcomes.put(None)
            await writer
    except BaseExceptionGroup as failed:
        # Callers catch zohokit's errors (a token error, a database error), not a group.
        first: BaseException = failed
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    if run.stopped is not None:
        raise run.stopped
    if mirror:
        await run.mirror(seen)
