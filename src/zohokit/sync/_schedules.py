"""``zoho.sync_schedules``: store, list, remove and start scheduled syncs, and run one.

::

    await zoho.sync_schedules.add_push("acme", "contacts", source=Path("contacts.csv"),
                                       mapping=mapping, every="15m")
    await zoho.sync_schedules.add_pull("acme", "leads", module="Leads",
                                       out="/var/sync/leads-{time}.jsonl", every="1h")
    await zoho.sync_schedules.run_now("acme", "contacts")

Each schedule is a ``sync_schedules`` row and a job of kind :data:`SCHEDULED_SYNC` (key
``tenant:name``), written in one transaction; the worker runs the job
(:mod:`._schedule_job`), which runs :meth:`SyncSchedules.execute` under the tenant's guard
(:mod:`._tenant_guard`).
A schedule is checked before it is stored: the name, the interval, that the tenant has a
stored connection (``default`` may also come from the ``ZOHO_*`` variables), and (one call
to Zoho) that the module and the mapped fields exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import KW_ONLY, asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock
from ..crm import ZohoCRMService
from ..db import Timeouts, bounded, dialect_insert
from ..errors import BudgetExhausted
from ..jobs import Jobs, schedule
from ..tokens import OAuthTokenService
from ._ledger import Ledger
from ._mapping import SyncMapping
from ._pull import pull
from ._push import DEFAULT_BULK_THRESHOLD, DEFAULT_MAX_ATTEMPTS, push
from ._report import RunReport, scheduled_as
from ._schedule import (
    InvalidSyncSchedule,
    SyncSchedule,
    check_name,
    checked_output,
    checked_source,
    drop_if_empty,
    next_run,
    parse_interval,
    sync_schedules,
)
from ._sources import count_rows, read_rows
from ._tenant_guard import TenantGuard

__all__ = ["SCHEDULED_SYNC", "SyncSchedules"]

T = TypeVar("T")

#: The job kind of a scheduled sync (one job per schedule, key ``tenant:name``).
SCHEDULED_SYNC = "sync.scheduled"
#: Where ``{time}`` in a pull's ``out`` goes: the run's start, UTC, in a file-name form.
TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def _every(value: timedelta | str) -> timedelta:
    """An interval given as text (``"15m"``) or as a ``timedelta``, checked alike."""
    text = value if isinstance(value, str) else f"{round(value.total_seconds())}s"
    return parse_interval(text)


@dataclass(eq=False, repr=False)
class SyncSchedules:
    """The scheduled syncs on one database (``zoho.sync_schedules``; see the module docstring).

    Built by the root from its parts: the engine, the ledger, ``crm_for`` (a tenant's CRM
    service), the token service (which tenants are connected), the job registry and the
    clock. ``migrate`` brings the database up to date before the first statement.
    """

    engine: AsyncEngine
    _: KW_ONLY
    ledger: Ledger
    crm_for: Callable[[str], ZohoCRMService]
    tokens: OAuthTokenService
    jobs: Jobs
    clock: Clock
    migrate: Callable[[], Coroutine[Any, Any, None]]
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: The per-tenant guard a scheduled run holds (:class:`TenantGuard`).
    guard: TenantGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = TenantGuard(self.engine, clock=self.clock, bounded=self._bounded)

    async def _bounded(self, work: Coroutine[Any, Any, T]) -> T:
        await self.migrate()
        return await bounded(work, seconds=self.timeouts.statement, url=self.engine.url)

    # --- adding -----------------------------------------------------------------------------

    async def add_push(
        self,
        tenant: str,
        name: str,
        *,
        source: Path,
        mapping: SyncMapping,
        every: timedelta | str,
        mirror: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        replace: bool = False,
        check: bool = True,
    ) -> SyncSchedule:
        """Push the rows of ``source`` (a ``.csv`` or ``.jsonl`` file) into ``mapping``'s
        module every ``every``, as ``zohokit sync push`` does. The first run is due now.
        ``check``: make sure (one call to Zoho) that the module and the mapped fields exist."""
        interval = _every(every)
        path = checked_source(source)
        if max_attempts < 1:
            raise InvalidSyncSchedule("max_attempts must be at least 1")
        await self._check_tenant(tenant)
        if check:
            names = [mapping.key, *mapping.fields.values(), *mapping.constants]
            await self.crm_for(tenant).metadata.check_fields(mapping.module, names)
        raw = asdict(mapping)
        raw["duplicate_check_fields"] = list(mapping.duplicate_check_fields)
        spec = {"source": str(path), "mapping": raw, "mirror": mirror, "max_attempts": max_attempts}
        return await self._store(tenant, name, "push", mapping.module, interval, spec, replace)

    async def add_pull(
        self,
        tenant: str,
        name: str,
        *,
        module: str,
        out: Path | str,
        every: timedelta | str,
        fields: Sequence[str] | None = None,
        overlap: timedelta = timedelta(minutes=5),
        deletions: bool = True,
        replace: bool = False,
        check: bool = True,
    ) -> SyncSchedule:
        """Pull what changed in ``module`` every ``every`` into a new JSONL file per run:
        ``out`` must hold ``{time}``, replaced by the run's start (``20310303T080000Z``), so
        no run overwrites a file its reader has not taken yet (a run that found no change
        leaves no file). The first run is due now."""
        interval = _every(every)
        template = checked_output(out)
        if overlap < timedelta(0):
            raise InvalidSyncSchedule("overlap must not be negative")
        await self._check_tenant(tenant)
        if check:
            await self.crm_for(tenant).metadata.check_fields(module, list(fields or ()))
        spec = {
            "out": template,
            "fields": list(fields) if fields else None,
            "overlap": overlap.total_seconds(),
            "deletions": deletions,
        }
        return await self._store(tenant, name, "pull", module, interval, spec, replace)

    async def _check_tenant(self, tenant: str) -> None:
        if not tenant or len(tenant) > 190:
            raise InvalidSyncSchedule(f"bad tenant {tenant!r}: 1 to 190 characters")
        if tenant == "default" or await self.tokens.status(tenant, "zoho_crm") is not None:
            return
        known = sorted({t.tenant for t in await self.tokens.list_tokens(provider="zoho_crm")})
        raise InvalidSyncSchedule(
            f"unknown tenant {tenant!r}: no Zoho CRM connection is stored for it"
            f" (connected: {', '.join(known) or 'none'}); connect it first, or check the spelling"
        )

    async def _store(
        self,
        tenant: str,
        name: str,
        direction: str,
        module: str,
        interval: timedelta,
        spec: dict[str, Any],
        replace: bool,
    ) -> SyncSchedule:
        check_name(name)
        now = self.clock()
        row = {
            "tenant": tenant,
            "name": name,
            "direction": direction,
            "module": module,
            "interval_seconds": int(interval.total_seconds()),
            "anchor_at": now,
            "spec": json.dumps(spec, sort_keys=True),
            "created_at": now,
            "updated_at": now,
        }
        key = f"{tenant}:{name}"

        async def work() -> None:
            async with self.engine.begin() as conn:
                stmt = dialect_insert(conn, sync_schedules).values(**row)
                if replace:
                    kept = {"created_at", "tenant", "name"}
                    changed = {k: v for k, v in row.items() if k not in kept}
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["tenant", "name"], set_=changed
                    )
                else:
                    stmt = stmt.on_conflict_do_nothing(index_elements=["tenant", "name"])
                stored = await conn.execute(stmt.returning(sync_schedules.c.name))
                if stored.first() is None:
                    raise InvalidSyncSchedule(
                        f"tenant {tenant!r} has a schedule {name!r} already: remove it first,"
                        " or replace it (--replace)"
                    )
                payload = {"tenant": tenant, "name": name}
                await schedule(conn, SCHEDULED_SYNC, key, now, tenant=tenant, payload=payload)

        await self._bounded(work())
        found = await self.get(tenant, name)
        assert found is not None  # just written
        return found

    # --- reading, removing, starting --------------------------------------------------------

    async def get(self, tenant: str, name: str) -> SyncSchedule | None:
        """The schedule ``name`` of ``tenant``, or ``None``."""
        found = await self._select(tenant, name)
        return found[0] if found else None

    async def _select(self, tenant: str | None, name: str | None = None) -> list[SyncSchedule]:
        t = sync_schedules.c
        query = select(sync_schedules).order_by(t.tenant, t.name)
        if tenant is not None:
            query = query.where(t.tenant == tenant)
        if name is not None:
            query = query.where(t.name == name)

        async def work() -> list[Any]:
            async with self.engine.connect() as conn:
                return list((await conn.execute(query)).all())

        rows = await self._bounded(work())
        due = await self.jobs.store.due_times(SCHEDULED_SYNC) if rows else {}
        return [SyncSchedule.from_row(r, due.get(f"{r.tenant}:{r.name}")) for r in rows]

    async def remove(self, tenant: str, name: str) -> bool:
        """Delete the schedule; ``True`` if there was one. A run in progress finishes; no
        other starts."""

        async def work() -> int:
            async with self.engine.begin() as conn:
                gone = await conn.execute(
                    delete(sync_schedules).where(
                        sync_schedules.c.tenant == tenant, sync_schedules.c.name == name
                    )
                )
                return int(gone.rowcount)

        removed = await self._bounded(work()) > 0
        # The job finds no schedule and ends by itself too; cancelling spares it the run.
        await self.jobs.cancel(SCHEDULED_SYNC, f"{tenant}:{name}")
        return removed

    async def run_now(self, tenant: str, name: str) -> SyncSchedule:
        """Make the schedule's job due now (a run in progress finishes first); the grid of
        later runs stays as it was."""
        found = await self.get(tenant, name)
        if found is None:
            names = [s.name for s in await self._select(tenant)]
            raise InvalidSyncSchedule(
                f"tenant {tenant!r} has no schedule {name!r}"
                f" (its schedules: {', '.join(names) or 'none'})"
            )
        payload = {"tenant": tenant, "name": name}
        await self.jobs.schedule(SCHEDULED_SYNC, found.key, tenant=tenant, payload=payload)
        return await self.get(tenant, name) or found

    # --- after a guarded run (the guard itself: :mod:`._tenant_guard`) ----------------------

    async def wake_waiting(self, tenant: str, *, within: timedelta, besides: str) -> int:
        """Make ``tenant``'s schedules due within ``within`` (those that found the tenant
        busy look again then) due now, except ``besides``; how many."""
        now = self.clock()
        woken = 0
        for found in await self._select(tenant):
            due = found.next_run_at
            if found.name != besides and due is not None and now < due <= now + within:
                payload = {"tenant": tenant, "name": found.name}
                await self.jobs.schedule(
                    SCHEDULED_SYNC, found.key, now, tenant=tenant, payload=payload
                )
                woken += 1
        return woken

    # --- running ----------------------------------------------------------------------------

    async def execute(self, found: SyncSchedule) -> RunReport:
        """Run the schedule's push or pull once, now, and note how it went on the schedule.

        Returns the run's report. A run stopped by the budget (``budget_exhausted``: what
        synced stays synced, the next run resumes) raises
        :class:`~zohokit.errors.BudgetExhausted`; any other failure raises too, after the
        report (saved as ``failed``, with its ``sync.run.failed`` event) is noted.
        """
        started = self.clock()
        crm = self.crm_for(found.tenant)
        try:
            with scheduled_as(found.name):
                report = await self._run(crm, found, started)
        except Exception as exc:
            status = "budget_exhausted" if isinstance(exc, BudgetExhausted) else "failed"
            run_id = await self._run_id_since(found, started)
            await self._note(found, started, status, f"{type(exc).__name__}: {exc}", run_id)
            raise
        await self._note(found, started, report.status, report.message, report.run_id)
        return report

    async def _run(self, crm: ZohoCRMService, found: SyncSchedule, started: datetime) -> RunReport:
        spec = found.spec
        if found.direction == "push":
            source = Path(spec["source"])
            mapping = SyncMapping.from_dict(spec["mapping"], source=f"schedule {found.name}")
            try:
                total = count_rows(source)
            except OSError:
                total = 0  # read_rows raises the SourceError inside the run, which saves it
            return await push(
                crm,
                self.ledger,
                read_rows(source),
                mapping,
                max_attempts=int(spec.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
                mirror=bool(spec.get("mirror", False)),
                bulk_threshold=DEFAULT_BULK_THRESHOLD if total >= DEFAULT_BULK_THRESHOLD else None,
            )
        out = Path(str(spec["out"]).replace("{time}", started.strftime(TIME_FORMAT)))
        try:
            return await pull(
                crm,
                self.ledger,
                found.module,
                fields=spec.get("fields"),
                out=out,
                overlap=timedelta(seconds=float(spec.get("overlap", 300))),
                deletions=bool(spec.get("deletions", True)),
            )
        finally:
            drop_if_empty(out)

    async def _run_id_since(self, found: SyncSchedule, started: datetime) -> str | None:
        for report in await self.ledger.runs(found.tenant, limit=10):
            if (
                report.schedule == found.name
                and report.module == found.module
                and report.started_at >= started.isoformat()
            ):
                return report.run_id
        return None

    async def _note(
        self,
        found: SyncSchedule,
        started: datetime,
        status: str,
        message: str,
        run_id: str | None,
    ) -> None:
        t = sync_schedules.c
        now = self.clock()

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(sync_schedules)
                    .where(t.tenant == found.tenant, t.name == found.name)
                    .values(
                        last_started_at=started,
                        last_finished_at=now,
                        last_status=status,
                        last_message=message[:2000],
                        last_run_id=run_id,
                        updated_at=now,
                    )
                )

        await self._bounded(work())

    async def ensure_jobs(self) -> int:
        """Give every schedule without a job one, due at its next grid point (a worker
        does this as it starts); how many were added."""
        have = await self.jobs.store.keys(SCHEDULED_SYNC)
        added = 0
        for found in await self._select(None):
            if found.key in have:
                continue
            due = next_run(found.anchor_at, found.interval, self.clock())
            payload = {"tenant": found.tenant, "name": found.name}
            await self.jobs.schedule(
                SCHEDULED_SYNC, found.key, due, tenant=found.tenant, payload=payload, if_absent=True
            )
            added += 1
        return added

    # Last: inside the class, ``list`` names this method from here on.
    async def list(self, tenant: str | None = None) -> list[SyncSchedule]:
        """Every schedule (of ``tenant``), by tenant and name, with when each runs next."""
        return await self._select(tenant)
