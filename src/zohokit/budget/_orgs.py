"""The budget's org rows (``budget_orgs``): each tenant's limits, its lane share, its pause and
what Zoho says the org spent today; and the row lock every change to a tenant's grants or
credits takes first.

The lock is a conditional UPDATE of the tenant's row (a row lock on PostgreSQL, the write lock
on SQLite, so the same code serializes the processes of one host on SQLite and the whole fleet
on PostgreSQL). Every statement is bounded (``timeout``) and a database that is away raises
:class:`~zohokit.errors.StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import Timeouts, bounded, dialect_insert, from_row
from ._editions import Limits
from ._tables import budget_orgs

T = TypeVar("T")

__all__ = ["ORG_COLUMNS", "OrgRow", "OrgStatements", "org_from_row"]

_O = budget_orgs.c


@dataclass(frozen=True, slots=True)
class OrgRow:
    """A tenant's org as the budget knows it."""

    tenant: str
    limits: Limits
    batch_share: float
    source: str
    zoho_used: int | None
    zoho_day: str | None
    paused_until: float | None

    def used_by_zoho(self, day: str) -> int:
        """Credits Zoho said were used on ``day`` (0 when it said nothing that day)."""
        return self.zoho_used or 0 if self.zoho_day == day else 0


#: The columns an :class:`OrgRow` is read from.
ORG_COLUMNS = [
    _O.tenant,
    _O.edition,
    _O.concurrency,
    _O.heavy_concurrency,
    _O.daily_credits,
    _O.batch_share,
    _O.source,
    _O.zoho_used,
    _O.zoho_day,
    _O.paused_until,
]


def org_from_row(row: Any) -> OrgRow:
    """An :class:`OrgRow` from a row of :data:`ORG_COLUMNS`."""
    limits = Limits(row.edition, row.concurrency, row.heavy_concurrency, row.daily_credits)
    return from_row(OrgRow, row, limits=limits)


def _org_values(limits: Limits, batch_share: float, source: str, now: float) -> dict[str, Any]:
    return {
        "edition": limits.edition,
        "concurrency": limits.concurrency,
        "heavy_concurrency": limits.heavy_concurrency,
        "daily_credits": limits.daily_credits,
        "batch_share": batch_share,
        "source": source,
        "updated_at": now,
    }


class OrgStatements:
    """The org rows on one async engine, and the bound every budget statement keeps."""

    def __init__(self, engine: AsyncEngine, *, timeout: float = Timeouts().statement) -> None:
        self.engine = engine
        self.timeout = timeout
        #: PostgreSQL tells waiting processes at once (``NOTIFY``); SQLite's poll.
        self.notifies = engine.dialect.name == "postgresql"

    async def _bounded(self, work: Coroutine[Any, Any, T], tenant: str | None = None) -> T:
        return await bounded(work, seconds=self.timeout, url=self.engine.url, tenant=tenant)

    @staticmethod
    async def _lock(conn: AsyncConnection, tenant: str) -> OrgRow | None:
        """Lock the tenant's org row for this transaction and read it (one statement)."""
        found = await conn.execute(
            update(budget_orgs)
            .where(_O.tenant == tenant)
            .values(updated_at=_O.updated_at)
            .returning(*ORG_COLUMNS)
        )
        row = found.first()
        return None if row is None else org_from_row(row)

    async def org(self, tenant: str) -> OrgRow | None:
        """The tenant's org row, or ``None``."""

        async def work() -> OrgRow | None:
            async with self.engine.connect() as conn:
                row = (await conn.execute(select(*ORG_COLUMNS).where(_O.tenant == tenant))).first()
                return None if row is None else org_from_row(row)

        return await self._bounded(work(), tenant)

    async def orgs(self, tenants: Iterable[str] | None = None) -> list[OrgRow]:
        """Every org row (or those of ``tenants``), by tenant."""

        async def work() -> list[OrgRow]:
            query = select(*ORG_COLUMNS).order_by(_O.tenant)
            if tenants is not None:
                query = query.where(_O.tenant.in_(list(tenants)))
            async with self.engine.connect() as conn:
                return [org_from_row(row) for row in await conn.execute(query)]

        return await self._bounded(work())

    async def put_org(
        self,
        tenant: str,
        *,
        limits: Limits,
        batch_share: float,
        source: str,
        now: float,
        replace: bool = True,
    ) -> OrgRow:
        """Store the tenant's limits (``replace=False``: only if it has none yet); the row."""

        async def work() -> OrgRow:
            values = _org_values(limits, batch_share, source, now)
            async with self.engine.begin() as conn:
                found = await self._lock(conn, tenant)
                if found is None:
                    # Processes meeting a new org at once all find no row to lock. The first
                    # insert wins; the others' wait for it, do nothing, and then go on with
                    # the row it stored as the one found.
                    added = await conn.execute(
                        dialect_insert(conn, budget_orgs)
                        .values(tenant=tenant, **values)
                        .on_conflict_do_nothing(index_elements=["tenant"])
                    )
                    if not added.rowcount:
                        found = await self._lock(conn, tenant)
                if found is not None:
                    if not replace:
                        return found
                    await conn.execute(
                        update(budget_orgs).where(_O.tenant == tenant).values(**values)
                    )
                row = await self._lock(conn, tenant)
                assert row is not None
                return row

        return await self._bounded(work(), tenant)

    async def pause(self, *, tenant: str, until: float) -> None:
        """Pause every call to the tenant's org until ``until``, for the whole fleet (a
        pause already reaching later stays)."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(budget_orgs)
                    .where(
                        _O.tenant == tenant,
                        (_O.paused_until.is_(None)) | (_O.paused_until < until),
                    )
                    .values(paused_until=until)
                )

        await self._bounded(work(), tenant)

    async def note_zoho_used(self, *, tenant: str, day: str, used: int) -> None:
        """Record that Zoho counts ``used`` credits spent by the org on ``day``."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(budget_orgs)
                    .where(_O.tenant == tenant)
                    .values(zoho_used=used, zoho_day=day)
                )

        await self._bounded(work(), tenant)
