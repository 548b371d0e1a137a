"""Prometheus metrics and log events of the job engine, labelled by job kind (a handful of
kinds, never a tenant: per-tenant history is in the ``job_runs`` table)."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["BACKLOG", "DURATION", "RUNNING", "RUNS", "emit", "logger"]

logger = logging.getLogger("zohokit.worker")

RUNS = Counter(
    "zohokit_job_runs_total",
    "Job runs by kind and outcome (ok, failed, lost, cancelled).",
    ["kind", "outcome"],
)
DURATION = Histogram(
    "zohokit_job_run_seconds",
    "How long job runs took, by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
BACKLOG = Gauge(
    "zohokit_job_backlog",
    "Jobs due now and waiting for a worker, by kind (as this worker last counted).",
    ["kind"],
)
RUNNING = Gauge("zohokit_jobs_running", "Jobs this process is running now, by kind.", ["kind"])


def emit(event: str, level: int, kind: str, key: str, **fields: object) -> None:
    """Log one structured event about a job (codes, counts and times only: never a secret)."""
    detail = " ".join(f"{k}={v}" for k, v in fields.items())
    logger.log(
        level,
        "%s kind=%s key=%s %s",
        event,
        kind,
        key,
        detail,
        extra={"event": event, "kind": kind, "key": key, **fields},
    )
