"""The budget's statements on the shared database: slot grants, and what each tenant holds.

Every change to a tenant's grants runs in one transaction that first locks the tenant's
``budget_orgs`` row (:mod:`._orgs`), then reads what is held and writes its change. Only live
grants count: a row whose lease has passed holds nothing, whoever wrote it. The org rows and
the credit ledger are in :mod:`._orgs` and :mod:`._credits`; :class:`BudgetStore` is all three.

Every statement is bounded (``timeout``) and a database that is away raises
:class:`~zohokit.errors.StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ._credits import CreditStatements, Debit
from ._orgs import ORG_COLUMNS, OrgRow, org_from_row
from ._slots import NOBODY, Wanted, free_slots, lane_cap
from ._tables import budget_credits, budget_grants, budget_orgs

__all__ = ["CHANNEL", "LANES", "BudgetStore", "Debit", "Grant", "GrantKey", "OrgRow", "TenantUse"]

#: The PostgreSQL ``NOTIFY`` channel that wakes waiting processes when slots go back.
CHANNEL = "zohokit_budget"
#: The lanes, in the order status shows them.
LANES = ("interactive", "batch")

_O = budget_orgs.c
_G = budget_grants.c
_C = budget_credits.c


@dataclass(frozen=True, slots=True)
class Grant:
    """What a :meth:`BudgetStore.take` gave: slots, the org row (its pause), and what the
    org's other pools wait for."""

    granted: int
    org: OrgRow
    wanted: Wanted = NOBODY


@dataclass(frozen=True, slots=True)
class TenantUse:
    """What a tenant holds and spent: live slots and credits today, by lane."""

    org: OrgRow
    slots: dict[str, int]
    heavy_slots: int
    holders: int
    credits: dict[str, int]
    used: int


@dataclass(frozen=True, slots=True)
class GrantKey:
    """One grant row: a process's (``owner``) pool of slots for one tenant, lane and kind."""

    owner: str
    tenant: str
    lane: str
    heavy: bool


def _grant_key(key: GrantKey) -> Any:
    return and_(
        _G.owner == key.owner, _G.tenant == key.tenant, _G.lane == key.lane, _G.heavy == key.heavy
    )


async def _free(
    conn: AsyncConnection, key: GrantKey, org: OrgRow, held: int, now: float
) -> tuple[int, Wanted]:
    """What ``key``'s pool, holding ``held``, may take beside every other live grant."""
    others = await conn.execute(
        select(_G.lane, _G.heavy, _G.slots, _G.wanted).where(
            _G.tenant == key.tenant, _G.expires_at > now, ~_grant_key(key)
        )
    )
    return free_slots(
        org.limits, org.batch_share, lane=key.lane, heavy=key.heavy, held=held, others=others
    )


class BudgetStore(CreditStatements):
    """The budget's reads and locked writes on one async engine: the org rows and credits
    (inherited) and the slot grants."""

    async def take(
        self, key: GrantKey, *, held: int, want: int, now: float, lease: float, wait: bool = True
    ) -> Grant:
        """Grant ``key``'s pool up to ``want`` more slots beside the ``held`` it has, within
        the org's limits and the lane's share. With ``wait``, what is not granted is written
        as wanted, so the holders give slots back as they free them."""

        async def work() -> Grant:
            async with self.engine.begin() as conn:
                org = await self._lock(conn, key.tenant)
                assert org is not None, "the org row is written before any grant"
                await conn.execute(
                    delete(budget_grants).where(
                        _G.tenant == key.tenant, _G.expires_at <= now, _G.owner != key.owner
                    )
                )
                free, wanted = await _free(conn, key, org, held, now)
                granted = min(want, free)
                slots, waits = held + granted, want - granted if wait else 0
                values = {"slots": slots, "wanted": waits, "expires_at": now + lease}
                changed = await conn.execute(
                    update(budget_grants).where(_grant_key(key)).values(**values)
                )
                if not changed.rowcount and (slots or waits):
                    await conn.execute(
                        insert(budget_grants).values(
                            owner=key.owner,
                            tenant=key.tenant,
                            lane=key.lane,
                            heavy=key.heavy,
                            **values,
                        )
                    )
                return Grant(granted, org, wanted)

        return await self._bounded(work(), key.tenant)

    async def peek(self, key: GrantKey, *, held: int, now: float) -> int:
        """How many slots a :meth:`take` would grant now: a read, no lock, for waiters to
        poll with (only a take grants)."""

        async def work() -> int:
            async with self.engine.connect() as conn:
                org = await conn.execute(select(*ORG_COLUMNS).where(_O.tenant == key.tenant))
                free, _ = await _free(conn, key, org_from_row(org.one()), held, now)
                return free

        return await self._bounded(work(), key.tenant)

    async def hold(
        self, key: GrantKey, *, slots: int, now: float, lease: float, wanted: int = 0
    ) -> None:
        """Set what ``key``'s pool holds to ``slots`` and wants to ``wanted`` (the rest go
        back to the fleet, and on PostgreSQL the processes waiting hear of it at once)."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                if slots or wanted:
                    await conn.execute(
                        update(budget_grants)
                        .where(_grant_key(key))
                        .values(slots=slots, wanted=wanted, expires_at=now + lease)
                    )
                else:
                    await conn.execute(delete(budget_grants).where(_grant_key(key)))
                if self.notifies:
                    await _notify(conn, key.tenant)

        await self._bounded(work(), key.tenant)

    async def look(
        self, *, owner: str, tenants: Iterable[str], now: float, renew_until: float | None
    ) -> tuple[list[OrgRow], dict[str, Wanted]]:
        """The orgs of ``tenants`` (their pauses and limits) and the slots other processes
        wait for there, in one round trip; with ``renew_until``, every lease ``owner`` holds
        is extended to it first."""

        def waiting(*lanes: str) -> Any:
            return (
                select(func.coalesce(func.sum(_G.wanted), 0))
                .where(
                    _G.tenant == _O.tenant,
                    _G.owner != owner,
                    _G.wanted > 0,
                    _G.expires_at > now,
                    _G.lane.in_(lanes),
                )
                .scalar_subquery()
            )

        batch = (
            select(func.coalesce(func.sum(_G.slots), 0))
            .where(_G.tenant == _O.tenant, _G.expires_at > now, _G.lane == "batch")
            .scalar_subquery()
        )
        query = select(
            *ORG_COLUMNS,
            waiting(*LANES).label("wanted_total"),
            waiting("interactive").label("wanted_interactive"),
            batch.label("batch_slots"),
        ).where(_O.tenant.in_(list(tenants)))

        async def work() -> tuple[list[OrgRow], dict[str, Wanted]]:
            async with self.engine.begin() as conn:
                if renew_until is not None:
                    await conn.execute(
                        update(budget_grants)
                        .where(_G.owner == owner)
                        .values(expires_at=renew_until)
                    )
                rows = list(await conn.execute(query))
            orgs = [org_from_row(row) for row in rows]
            wanted = {
                org.tenant: Wanted(
                    row.wanted_total,
                    row.wanted_interactive,
                    row.batch_slots >= lane_cap(org.limits.concurrency, "batch", org.batch_share),
                )
                if row.wanted_total
                else NOBODY
                for org, row in zip(orgs, rows, strict=True)
            }
            return orgs, wanted

        return await self._bounded(work())

    async def drop(self, owner: str) -> None:
        """Give back every slot ``owner`` holds."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(delete(budget_grants).where(_G.owner == owner))

        await self._bounded(work())

    async def use(self, *, day: str, now: float, tenant: str | None = None) -> list[TenantUse]:
        """Every org's (or one tenant's) live slots and credits spent on ``day``."""

        async def work() -> list[TenantUse]:
            async with self.engine.connect() as conn:
                query = select(*ORG_COLUMNS).order_by(_O.tenant)
                grants = select(_G.tenant, _G.owner, _G.lane, _G.heavy, _G.slots).where(
                    _G.expires_at > now, _G.slots > 0
                )
                credits = select(_C.tenant, _C.lane, _C.spent).where(_C.day == day)
                if tenant is not None:
                    query = query.where(_O.tenant == tenant)
                    grants = grants.where(_G.tenant == tenant)
                    credits = credits.where(_C.tenant == tenant)
                orgs = [org_from_row(row) for row in await conn.execute(query)]
                held = list(await conn.execute(grants))
                spent = list(await conn.execute(credits))
            out = []
            for org in orgs:
                mine = [g for g in held if g.tenant == org.tenant]
                slots = {lane: sum(g.slots for g in mine if g.lane == lane) for lane in LANES}
                paid = {
                    lane: sum(c.spent for c in spent if c.tenant == org.tenant and c.lane == lane)
                    for lane in LANES
                }
                out.append(
                    TenantUse(
                        org,
                        slots,
                        sum(g.slots for g in mine if g.heavy),
                        len({g.owner for g in mine}),
                        paid,
                        max(sum(paid.values()), org.used_by_zoho(day)),
                    )
                )
            return out

        return await self._bounded(work(), tenant)


async def _notify(conn: AsyncConnection, tenant: str) -> None:
    # Delivered at commit, and only then: a rolled-back change wakes nobody.
    await conn.execute(
        text("SELECT pg_notify(:channel, :tenant)"), {"channel": CHANNEL, "tenant": tenant}
    )
