"""The worker's two tables: ``jobs`` (what is due, and who holds it) and ``job_runs`` (a row
per run, for ``zohokit worker status`` and the admin page).

A job is one row per (``kind``, ``key``): scheduling the same key again moves it rather than
adding a second. ``due_at`` is when it may run (``NULL`` once it failed for good); a worker
that claims it sets ``lease_owner`` and ``lease_expires_at`` and renews the lease while the
handler runs, so a worker that dies loses the job when its lease runs out. ``generation``
counts the times the job was scheduled, so a run that finishes after someone rescheduled it
keeps the new time instead of overwriting it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from ..db import lease_columns, serial_id, timestamps, utc_column

__all__ = ["job_runs", "jobs", "metadata"]

metadata = MetaData()


def _job_columns() -> list[Column[Any]]:
    """What a job and a run of it both start with: an id, and which job (kind, key, tenant)."""
    return [
        serial_id(),
        Column("kind", String(64), nullable=False),
        Column("key", String(255), nullable=False),
        Column("tenant", String(255)),
    ]


jobs = Table(
    "jobs",
    metadata,
    *_job_columns(),
    utc_column("due_at"),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("generation", Integer, nullable=False, default=1, server_default="1"),
    *lease_columns(255, until="lease_expires_at"),
    Column("last_error", Text),
    utc_column("failed_at"),
    *timestamps(),
    UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
    Index("ix_jobs_due_at", "due_at"),
)

job_runs = Table(
    "job_runs",
    metadata,
    *_job_columns(),
    Column("worker", String(255), nullable=False),
    Column("attempt", Integer, nullable=False),
    utc_column("started_at", required=True),
    utc_column("finished_at"),
    # running, ok, failed, lost (its worker died or lost the lease), cancelled (shut down).
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Index("ix_job_runs_kind_started", "kind", "started_at"),
    Index("ix_job_runs_kind_key", "kind", "key"),
)
