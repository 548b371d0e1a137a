"""Scheduled syncs, the pure half: what a schedule is, its tables, and when it runs next.

A schedule is a push or a pull of one tenant, named (``tenant``, ``name``), repeated every
``interval``: the same push and pull as ``zohokit sync push`` / ``pull`` (:mod:`._schedules`
runs them as worker jobs). Its runs fall on a fixed grid, ``anchor + k * interval``, so a
run that starts late or lasts long does not push the following ones back, and a worker that
was down runs a missed schedule once, not once per missed slot.

Two tables (migration ``0018_sync_schedules``):

- ``sync_schedules``: one row per (tenant, name): direction, module, interval, the grid's
  ``anchor_at``, the push's source and mapping or the pull's output and options (``spec``,
  JSON), and how the last run went;
- ``sync_tenant_leases``: the per-tenant guard. A scheduled run holds its tenant's row (a
  lease, renewed while it runs, like the job engine's) so that two workers never run one
  tenant's syncs at the same time, whichever schedules fell due together.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Column, Integer, String, Table, Text

from ..db import from_row, json_ready, tenant_column, timestamps, utc_column
from ._ledger import metadata
from ._mapping import MappingError

__all__ = [
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "InvalidSyncSchedule",
    "SyncSchedule",
    "check_name",
    "checked_output",
    "checked_source",
    "drop_if_empty",
    "format_interval",
    "next_run",
    "parse_interval",
    "sync_schedules",
    "sync_tenant_leases",
]

Direction = Literal["push", "pull"]

#: The shortest interval: a schedule is for unattended work, not a busy loop on Zoho's credits.
MIN_INTERVAL = timedelta(minutes=1)
#: The longest: a month (a rarer sync is a cron line's job).
MAX_INTERVAL = timedelta(days=31)
#: What a schedule's name may hold (it is half of a job key and a file-name-like word).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([a-z]+)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?[a-z]+)+$")
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}


class InvalidSyncSchedule(MappingError):
    """A schedule that cannot be stored (a bad interval, name, tenant or module); the
    message says what to fix. A :class:`~zohokit.sync.MappingError`, so also a
    ``ValueError``."""


def parse_interval(text: str) -> timedelta:
    """``"15m"``, ``"1h30m"``, ``"90s"``, ``"2d"``, ``"1 hour"`` as a :class:`timedelta`, between
    :data:`MIN_INTERVAL` and :data:`MAX_INTERVAL`; :class:`InvalidSyncSchedule` otherwise."""
    raw = re.sub(r"\s+", "", text.lower())
    hint = "give a number and a unit, e.g. 90s, 15m, 1h30m or 1d"
    if not _WHOLE.match(raw):
        raise InvalidSyncSchedule(f"bad interval {text!r}: {hint}")
    parts = list(_PART.finditer(raw))
    seconds = 0.0
    for part in parts:
        number, unit = part.groups()
        if unit not in _UNITS:
            raise InvalidSyncSchedule(f"bad interval {text!r}: unknown unit {unit!r}; {hint}")
        seconds += float(number) * _UNITS[unit]
    interval = timedelta(seconds=round(seconds))
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise InvalidSyncSchedule(
            f"bad interval {text!r}: it must be between {format_interval(MIN_INTERVAL)} and"
            f" {format_interval(MAX_INTERVAL)}"
        )
    return interval


def format_interval(interval: timedelta) -> str:
    """``timedelta(minutes=90)`` as ``"1h30m"`` (what :func:`parse_interval` reads back)."""
    left = int(interval.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"


def next_run(anchor: datetime, interval: timedelta, after: datetime) -> datetime:
    """The first point of the grid ``anchor + k * interval`` (k >= 0) later than ``after``
    (the anchor itself when ``after`` is before it)."""
    if after < anchor:
        return anchor
    steps = math.floor((after - anchor) / interval) + 1
    return anchor + steps * interval


def check_name(name: str) -> str:
    """``name`` if it can name a schedule; :class:`InvalidSyncSchedule` otherwise."""
    if not _NAME.match(name):
        raise InvalidSyncSchedule(
            f"bad schedule name {name!r}: 1 to 64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def checked_source(source: Path) -> Path:
    """A push schedule's source as an absolute path (the worker's folder is not the CLI's),
    once it is a ``.csv`` or ``.jsonl`` file that exists."""
    path = source.expanduser().resolve()
    if path.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise InvalidSyncSchedule(f"{source}: a source is a .csv or .jsonl file")
    if not path.is_file():
        raise InvalidSyncSchedule(f"{source}: no such file (a scheduled push reads it each run)")
    return path


def checked_output(out: Path | str) -> str:
    """A pull schedule's output as an absolute path template, once it holds ``{time}`` (a
    new file each run: none overwrites one its reader has not taken yet) in a folder that
    exists."""
    template = str(Path(out).expanduser().resolve()) if str(out) else ""
    if "{time}" not in template:
        raise InvalidSyncSchedule(
            f"--out {str(out)!r}: a scheduled pull writes a new file each run; put {{time}} in"
            " it, e.g. changes-{time}.jsonl"
        )
    if not Path(template).parent.is_dir():
        raise InvalidSyncSchedule(
            f"--out {str(out)!r}: the folder {Path(template).parent} is missing"
        )
    return template


def drop_if_empty(out: Path) -> None:
    """Remove a pull's output that received no change: no empty file for the reader."""
    if out.exists() and out.stat().st_size == 0:
        out.unlink()


@dataclass(frozen=True)
class SyncSchedule:
    """One stored schedule: push or pull ``module`` for ``tenant`` every ``interval``.

    ``spec`` holds what the run needs: for a push ``source`` (the file, an absolute path),
    ``mapping`` (as :meth:`SyncMapping.from_dict` reads it), ``mirror`` and
    ``max_attempts``; for a pull ``out`` (a path where ``{time}`` becomes the run's start),
    ``fields``, ``overlap`` (seconds) and ``deletions``. ``next_run_at`` is when its job is
    due (``None``: no job, e.g. it failed for good); the ``last_*`` fields say how the last
    run went (``last_status`` is a run report's status, or ``failed``).
    """

    tenant: str
    name: str
    direction: Direction
    module: str
    interval: timedelta
    anchor_at: datetime
    spec: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_status: str | None = None
    last_message: str = ""
    last_run_id: str | None = None
    next_run_at: datetime | None = None

    @property
    def key(self) -> str:
        """The schedule's job key: ``tenant:name``."""
        return f"{self.tenant}:{self.name}"

    @property
    def what(self) -> str:
        """One line for people: ``push contacts.csv -> Contacts``, ``pull Leads -> out``."""
        if self.direction == "push":
            return f"push {self.spec.get('source')} -> {self.module}"
        return f"pull {self.module} -> {self.spec.get('out')}"

    def to_dict(self) -> dict[str, Any]:
        """The schedule as plain JSON values (``zohokit sync schedule list --json``)."""

        return json_ready(
            self,
            skip=("interval",),
            every=format_interval(self.interval),
            interval_seconds=int(self.interval.total_seconds()),
        )

    @classmethod
    def from_row(cls, row: Any, next_run_at: datetime | None = None) -> SyncSchedule:
        """A schedule from its ``sync_schedules`` row."""
        return from_row(
            cls,
            row,
            interval=timedelta(seconds=row.interval_seconds),
            spec=json.loads(row.spec),
            last_message=row.last_message or "",
            next_run_at=next_run_at,
        )


sync_schedules = Table(
    "sync_schedules",
    metadata,
    tenant_column(primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("direction", String(8), nullable=False),
    Column("module", String(100), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    utc_column("anchor_at", required=True),
    Column("spec", Text, nullable=False),
    *timestamps(),
    utc_column("last_started_at"),
    utc_column("last_finished_at"),
    Column("last_status", String(32)),
    Column("last_message", Text),
    Column("last_run_id", String(32)),
)

sync_tenant_leases = Table(
    "sync_tenant_leases",
    metadata,
    tenant_column(primary_key=True),
    # A fresh id per run, not per worker: two runs in one process are two holders.
    Column("holder", String(64), nullable=False),
    Column("schedule", String(64), nullable=False),
    utc_column("acquired_at", required=True),
    utc_column("expires_at", required=True),
)
