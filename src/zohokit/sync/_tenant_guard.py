"""The per-tenant guard of scheduled syncs: one lease row per tenant in ``sync_tenant_leases``.

A scheduled run holds its tenant's row while it goes, so two workers never run one tenant's
syncs at the same time, whichever schedules fell due together. The guard is a lease, as the
job engine's are: taken with one conditional upsert, renewed while the run goes
(:mod:`._schedule_job` renews it every third of its length and stops the run with
:class:`~zohokit.sync.TenantGuardLost` when a renewal finds it taken), given back at the end;
a worker that dies holding it loses it when the lease runs out.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Coroutine, Mapping
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock
from ..db import dialect_insert
from ._schedule import sync_tenant_leases

__all__ = ["TenantGuard"]

T = TypeVar("T")
_L = sync_tenant_leases.c


class Bounded(Protocol):
    """Runs one unit of database work under the owner's rules (migrated first, bounded)."""

    def __call__(self, work: Coroutine[Any, Any, T], /) -> Awaitable[T]: ...


class TenantGuard:
    """The tenants' guards on one database (``zoho.sync_schedules.guard``).

    ``bounded`` runs each unit of work under the owner's statement timeout (and migrates
    first), so the guard keeps to the same rules as the schedules it guards.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock, bounded: Bounded) -> None:
        self.engine = engine
        self.clock = clock
        self._bounded = bounded

    @staticmethod
    def new_holder() -> str:
        """A fresh holder id for one run (per run, not per worker: two runs in one process
        are two holders)."""
        return uuid.uuid4().hex

    async def acquire(self, tenant: str, name: str, holder: str, *, lease: float) -> str | None:
        """Take ``tenant``'s guard for ``holder`` (a run of schedule ``name``) for ``lease``
        seconds: ``None`` when taken, else the name of the schedule that holds it now.

        One conditional upsert: it takes the row when there is none, when its lease ran out
        (a dead holder), or when ``holder`` has it already. PostgreSQL locks the row for the
        ``ON CONFLICT`` update, so of two workers racing for it exactly one gets it; SQLite
        runs one writer at a time.
        """
        now = self.clock()
        held_by = {
            "holder": holder,
            "schedule": name,
            "acquired_at": now,
            "expires_at": now + timedelta(seconds=lease),
        }

        async def work() -> str | None:
            async with self.engine.begin() as conn:
                stmt = dialect_insert(conn, sync_tenant_leases).values(tenant=tenant, **held_by)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["tenant"],
                    set_=held_by,
                    where=(_L.expires_at <= now) | (_L.holder == holder),
                ).returning(_L.holder)
                if (await conn.execute(stmt)).first() is not None:
                    return None
                held = await conn.execute(select(_L.schedule).where(_L.tenant == tenant))
                return str(held.scalar_one_or_none() or "?")

        return await self._bounded(work())

    async def renew(self, tenant: str, holder: str, *, lease: float) -> bool:
        """Extend ``holder``'s guard on ``tenant``; ``False`` if it was lost (it ran out and
        another run took it)."""
        until = self.clock() + timedelta(seconds=lease)

        async def work() -> bool:
            async with self.engine.begin() as conn:
                done = await conn.execute(
                    update(sync_tenant_leases)
                    .where(_L.tenant == tenant, _L.holder == holder)
                    .values(expires_at=until)
                )
                return int(done.rowcount) == 1

        return await self._bounded(work())

    async def release(self, tenant: str, holder: str) -> None:
        """Give ``tenant``'s guard back (only if ``holder`` still has it)."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(sync_tenant_leases).where(_L.tenant == tenant, _L.holder == holder)
                )

        await self._bounded(work())

    async def holder_of(self, tenant: str) -> Mapping[str, Any] | None:
        """Who holds ``tenant``'s guard now (schedule, acquired_at, expires_at), or ``None``."""
        query = select(_L.schedule, _L.acquired_at, _L.expires_at).where(
            _L.tenant == tenant, _L.expires_at > self.clock()
        )

        async def work() -> Mapping[str, Any] | None:
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
            return dict(row._mapping) if row is not None else None

        return await self._bounded(work())
