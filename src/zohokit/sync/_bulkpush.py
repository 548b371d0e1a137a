"""A push's Bulk Write path: past a threshold of rows to send, 25,000 rows per job.

Records API upserts cost a call per 100 rows (and, by Zoho's table, a credit per 10); a Bulk
Write job takes 25,000 rows. :class:`BulkPush` holds the rows a push plans to send until
their count passes ``threshold``: below it, they go back to the records API path; past it,
they (and every later one) go in Bulk Write jobs, upserting by the mapping's key.

The ledger stays exact. Each job's rows are marked ``pending`` and the job noted in
``sync_bulk_jobs`` before it is created (:class:`~zohokit.sync._bulkjobs.BulkJobLog`); a row
becomes ``synced`` only when the job's result file says ``ADDED`` or ``UPDATED`` for it, and
``failed`` with Zoho's code otherwise. A run killed mid-job is settled by the next run, which
waits for that job and reads its result (:meth:`BulkPush.reconcile`) before planning.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..crm import WRITE_CHUNK, BulkJob, BulkPolicy, RecordResult
from ..errors import BulkJobFailed, TransportError, ZohoAPIError
from ._bulkjobs import BulkJobLog, OpenBulkJob
from ._ledger import Outcome
from ._plan import LedgerState, classify_result
from ._planner import PushRow

if TYPE_CHECKING:
    from ._push import _PushRun

__all__ = ["DEFAULT_BULK_THRESHOLD", "BulkPush"]

#: Rows to send past which a push switches to Bulk Write (``push(bulk_threshold=...)``).
DEFAULT_BULK_THRESHOLD = 20_000


class BulkPush:
    """The Bulk Write half of one push run (see the module docstring)."""

    def __init__(
        self,
        run: _PushRun,
        threshold: int,
        *,
        policy: BulkPolicy | None = None,
        chunk_size: int = WRITE_CHUNK,
    ) -> None:
        if threshold < 1:
            raise ValueError("bulk_threshold must be at least 1 (or None: never bulk)")
        self.run = run
        self.threshold = threshold
        self.policy = policy
        self.chunk_size = chunk_size
        self.log = BulkJobLog(run.ledger)
        self.held: list[PushRow] = []
        self.active = False  # the threshold was passed: every row to send goes in a job
        self.jobs = 0

    # --- deciding --------------------------------------------------------------------

    async def take(self, rows: list[PushRow]) -> bool:
        """Hold ``rows`` (planned, to send); send full jobs once past the threshold.
        ``False`` once it is known the push stays below it (never, while undecided)."""
        self.held.extend(rows)
        if not self.active and len(self.held) >= self.threshold:
            self.active = True
        while self.active and len(self.held) >= self.chunk_size:
            chunk, self.held = self.held[: self.chunk_size], self.held[self.chunk_size :]
            await self.send(chunk)
        return True

    async def finish(self) -> list[PushRow]:
        """At the end of the source: send what is held if past the threshold, else hand it
        back for the records API."""
        held, self.held = self.held, []
        if not self.active:
            return held
        if held:
            await self.send(held)
        return []

    # --- sending ---------------------------------------------------------------------

    async def send(self, rows: list[PushRow]) -> None:
        """One Bulk Write job for ``rows``; each row's outcome goes to the ledger."""
        run = self.run
        key = uuid.uuid4().hex
        pairs = [(row.key, row.hash) for row in rows]
        # Every row (new ones too) is pending and the job noted before Zoho creates it: a run
        # killed from here on leaves what the next run needs to settle or resend them.
        await run.ledger.mark_pending(run.tenant, run.module, pairs)
        await self.log.start(run.tenant, run.module, key, pairs)

        async def created(_first_row: int, job: BulkJob) -> None:
            await self.log.created(run.tenant, run.module, key, job.id)

        self.jobs += 1
        try:
            results = await run.crm.bulk_write(
                run.module,
                [row.record for row in rows],
                operation="upsert",
                find_by=run.mapping.key,
                policy=self.policy,
                on_job=created,
                chunk_size=len(rows),
            )
        except (ZohoAPIError, TransportError) as exc:
            # The job failed, or a step got no answer: every row of it failed this run.
            await self._settle(
                rows, [RecordResult.from_exception(i, exc) for i in range(len(rows))]
            )
            await self.log.finish(run.tenant, run.module, key, "failed")
            return
        await self._settle(rows, results)
        await self.log.finish(run.tenant, run.module, key, "done")

    async def _settle(self, rows: Sequence[PushRow], results: Sequence[RecordResult]) -> None:
        run = self.run
        outcomes: list[Outcome] = []
        for row, result in zip(rows, results, strict=True):
            if classify_result(result, 1) == "synced":
                outcomes.append(run.synced(row, result))
            else:
                outcomes.append(run.failed(row, result))
        # Written here, not through the run's writer: the job is closed only after its rows.
        await run.ledger.record(run.tenant, run.module, outcomes)
        run.progress()

    # --- after a killed run ----------------------------------------------------------

    async def reconcile(self) -> None:
        """Settle the jobs an earlier run of this tenant's module left open: wait for each
        created one and record its rows' results; one never created is abandoned (its
        rows, still ``pending``, are planned and sent again)."""
        run = self.run
        for job in await self.log.open_jobs(run.tenant, run.module):
            if job.job_id is None:
                await self.log.finish(run.tenant, run.module, job.key, "abandoned")
                continue
            await self._reconcile(job, job.job_id)

    async def _reconcile(self, job: OpenBulkJob, job_id: str) -> None:
        run = self.run
        states = await run.ledger.states(run.tenant, run.module, [k for k, _ in job.rows])
        rows: list[PushRow] = []
        for number, (external_id, content) in enumerate(job.rows, start=1):
            state, zoho_id = states.get(external_id, (None, None))
            rows.append(PushRow(external_id, {}, content, state, number, zoho_id is not None))
        try:
            done = await run.crm.wait_bulk_job("write", job_id, self.policy)
            results = await run.crm.bulk_write_results(done, 0, len(rows))
        except BulkJobFailed:
            # Zoho failed it (or it cannot be read): its rows stay pending and are resent.
            await self.log.finish(run.tenant, run.module, job.key, "failed")
            return
        # Only rows still carrying the content that job sent are settled by its result.
        settled = [(r, res) for r, res in zip(rows, results, strict=True) if _unchanged(r, states)]
        await self._settle([r for r, _ in settled], [res for _, res in settled])
        await self.log.finish(run.tenant, run.module, job.key, "done")


def _unchanged(row: PushRow, states: dict[str, tuple[LedgerState, str | None]]) -> bool:
    found = states.get(row.key)
    return found is not None and found[0].content_hash == row.hash
