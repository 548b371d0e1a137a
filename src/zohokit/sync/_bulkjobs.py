"""The bulk jobs a push started, kept in the ledger's database so a rerun can find them.

A push that writes through Bulk Write notes each job here *before* asking Zoho to create it
(``creating``, with the (external id, content hash) of every row it carries), then its Zoho
id once created (``created``), then ``done`` once every row's outcome is in the ledger. A run
killed in between leaves the row open: the next run waits for that job, reads its result file
and settles its rows, instead of sending them again; a job that never got its Zoho id is
``abandoned`` and its rows are simply sent again (an upsert by the key: still one record).
Table ``sync_bulk_jobs``, created by migration ``0012_sync_bulk_jobs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Column, Integer, String, Table, Text, insert, select, update

from ..db import tenant_module, timestamps
from ._ledger import Ledger, metadata

__all__ = ["BulkJobLog", "OpenBulkJob"]

JobStatus = Literal["creating", "created", "done", "failed", "abandoned"]

sync_bulk_jobs = Table(
    "sync_bulk_jobs",
    metadata,
    *tenant_module(primary_key=True),
    Column("job_key", String(32), primary_key=True),
    Column("job_id", String(40)),
    Column("status", String(16), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("rows", Text, nullable=False),
    *timestamps(),
)


@dataclass(frozen=True)
class OpenBulkJob:
    """A job an earlier run started and did not finish: its Zoho id (``None`` when it was
    never created) and the (external id, content hash) of its rows, in file order."""

    key: str
    job_id: str | None
    rows: list[tuple[str, str]]


class BulkJobLog:
    """The ``sync_bulk_jobs`` rows of one ledger's database."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def start(
        self, tenant: str, module: str, key: str, rows: Sequence[tuple[str, str]]
    ) -> None:
        """Note a job about to be created, with the rows it carries."""
        now = self.ledger.clock()
        async with self.ledger.engine.begin() as conn:
            await conn.execute(
                insert(sync_bulk_jobs).values(
                    tenant=tenant,
                    module=module,
                    job_key=key,
                    job_id=None,
                    status="creating",
                    row_count=len(rows),
                    rows=json.dumps([list(r) for r in rows]),
                    created_at=now,
                    updated_at=now,
                )
            )

    async def created(self, tenant: str, module: str, key: str, job_id: str) -> None:
        """Note the Zoho id the job was created with."""
        await self._set(tenant, module, key, status="created", job_id=job_id)

    async def finish(self, tenant: str, module: str, key: str, status: JobStatus) -> None:
        """Close a job: ``done`` (its rows are settled), ``failed`` or ``abandoned``."""
        await self._set(tenant, module, key, status=status)

    async def open_jobs(self, tenant: str, module: str) -> list[OpenBulkJob]:
        """The jobs of ``tenant``'s ``module`` that an earlier run left open, oldest first."""
        t = sync_bulk_jobs.c
        query = (
            select(t.job_key, t.job_id, t.rows)
            .where(t.tenant == tenant, t.module == module, t.status.in_(("creating", "created")))
            .order_by(t.created_at, t.job_key)
        )
        async with self.ledger.engine.connect() as conn:
            found = (await conn.execute(query)).all()
        return [
            OpenBulkJob(
                row.job_key, row.job_id, [(str(k), str(h)) for k, h in json.loads(row.rows)]
            )
            for row in found
        ]

    async def _set(self, tenant: str, module: str, key: str, **values: str) -> None:
        t = sync_bulk_jobs.c
        async with self.ledger.engine.begin() as conn:
            await conn.execute(
                update(sync_bulk_jobs)
                .where(t.tenant == tenant, t.module == module, t.job_key == key)
                .values(**values, updated_at=self.ledger.clock())
            )
