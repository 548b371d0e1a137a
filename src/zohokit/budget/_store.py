"""The budget's statements on the shared database: org rows, slot grants, credit debits.

Every change to a tenant's grants or credits runs in one transaction that first locks the
tenant's ``budget_orgs`` row with a conditional UPDATE (a row lock on PostgreSQL, the write
lock on SQLite, so the same code serializes the processes of one host on SQLite and the
whole fleet on PostgreSQL), then reads what is held or spent and writes its change. Only
live grants count: a row whose lease has passed holds nothing, whoever wrote it.

Every statement is bounded (``timeout``) and a database that is away raises
:class:`~zohokit.errors.StorageUnavailable`.
"""

from __future__ import annotations

import math
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import Timeouts, bounded
from ._editions import Limits
from ._slots import NOBODY, Wanted, free_slots, lane_cap
from ._tables import budget_credits, budget_grants, budget_orgs

T = TypeVar("T")

__all__ = ["CHANNEL", "BudgetStore", "Debit", "Grant", "GrantKey", "OrgRow", "TenantUse"]

#: The PostgreSQL ``NOTIFY`` channel that wakes waiting processes when slots go back.
CHANNEL = "zohokit_budget"

_O = budget_orgs.c
_G = budget_grants.c
_C = budget_credits.c


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


@dataclass(frozen=True, slots=True)
class Grant:
    """What a :meth:`BudgetStore.take` gave: slots, the org row (its pause), and what the
    org's other pools wait for."""

    granted: int
    org: OrgRow
    wanted: Wanted = NOBODY


@dataclass(frozen=True, slots=True)
class Debit:
    """Credits taken from the ledger, and the day's total after it."""

    granted: int
    used: int


@dataclass(frozen=True, slots=True)
class TenantUse:
    """What a tenant holds and spent: live slots and credits today, by lane."""

    org: OrgRow
    slots: dict[str, int]
    heavy_slots: int
    holders: int
    credits: dict[str, int]
    used: int


_ORG_COLUMNS = [
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


def _org(row: Any) -> OrgRow:
    limits = Limits(row.edition, row.concurrency, row.heavy_concurrency, row.daily_credits)
    return OrgRow(
        row.tenant,
        limits,
        row.batch_share,
        row.source,
        row.zoho_used,
        row.zoho_day,
        row.paused_until,
    )


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


class BudgetStore:
    """The budget's reads and locked writes on one async engine."""

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
            .returning(*_ORG_COLUMNS)
        )
        row = found.first()
        return None if row is None else _org(row)

    async def org(self, tenant: str) -> OrgRow | None:
        """The tenant's org row, or ``None``."""

        async def work() -> OrgRow | None:
            async with self.engine.connect() as conn:
                row = (await conn.execute(select(*_ORG_COLUMNS).where(_O.tenant == tenant))).first()
                return None if row is None else _org(row)

        return await self._bounded(work(), tenant)

    async def orgs(self, tenants: Iterable[str] | None = None) -> list[OrgRow]:
        """Every org row (or those of ``tenants``), by tenant."""

        async def work() -> list[OrgRow]:
            query = select(*_ORG_COLUMNS).order_by(_O.tenant)
            if tenants is not None:
                query = query.where(_O.tenant.in_(list(tenants)))
            async with self.engine.connect() as conn:
                return [_org(row) for row in await conn.execute(query)]

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
                    await conn.execute(insert(budget_orgs).values(tenant=tenant, **values))
                elif replace:
                    await conn.execute(
                        update(budget_orgs).where(_O.tenant == tenant).values(**values)
                    )
                else:
                    return found
                row = await self._lock(conn, tenant)
                assert row is not None
                return row

        return await self._bounded(work(), tenant)

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
                org = await conn.execute(select(*_ORG_COLUMNS).where(_O.tenant == key.tenant))
                free, _ = await _free(conn, key, _org(org.one()), held, now)
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
            *_ORG_COLUMNS,
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
            orgs = [_org(row) for row in rows]
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

    async def debit(self, *, tenant: str, day: str, lane: str, want: int, least: int) -> Debit:
        """Take ``want`` credits of ``day`` for ``lane``. Batch work gets only what its share
        leaves (at least ``least``, else nothing); interactive calls always get ``want``."""

        async def work() -> Debit:
            async with self.engine.begin() as conn:
                org = await self._lock(conn, tenant)
                assert org is not None, "the org row is written before any debit"
                spent = await conn.execute(
                    select(_C.lane, _C.spent).where(_C.tenant == tenant, _C.day == day)
                )
                by_lane = {row.lane: row.spent for row in spent}
                ours = sum(by_lane.values())
                used = max(ours, org.used_by_zoho(day))
                granted = want
                if lane == "batch":
                    # Batch work is held to its own share: what interactive calls took (a
                    # chunk they may not spend yet) is the reserve, not batch's to lose; what
                    # Zoho counts beyond our ledger (other apps of the org) weighs on both.
                    others = used - ours
                    share = math.floor(org.limits.daily_credits * org.batch_share)
                    allowed = share - others - by_lane.get("batch", 0)
                    granted = min(want, allowed) if allowed >= least else 0
                if granted:
                    await _add_credits(conn, tenant, day, lane, granted)
                return Debit(granted, used + granted)

        return await self._bounded(work(), tenant)

    async def refund(self, *, tenant: str, day: str, lane: str, credits: int) -> None:
        """Give back ``credits`` taken for ``lane`` on ``day`` and not spent."""

        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(budget_credits)
                    .where(_C.tenant == tenant, _C.day == day, _C.lane == lane)
                    .values(spent=_C.spent - credits)
                )

        await self._bounded(work(), tenant)

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

    async def use(self, *, day: str, now: float, tenant: str | None = None) -> list[TenantUse]:
        """Every org's (or one tenant's) live slots and credits spent on ``day``."""

        async def work() -> list[TenantUse]:
            async with self.engine.connect() as conn:
                query = select(*_ORG_COLUMNS).order_by(_O.tenant)
                grants = select(_G.tenant, _G.owner, _G.lane, _G.heavy, _G.slots).where(
                    _G.expires_at > now, _G.slots > 0
                )
                credits = select(_C.tenant, _C.lane, _C.spent).where(_C.day == day)
                if tenant is not None:
                    query = query.where(_O.tenant == tenant)
                    grants = grants.where(_G.tenant == tenant)
                    credits = credits.where(_C.tenant == tenant)
                orgs = [_org(row) for row in await conn.execute(query)]
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


#: The lanes, in the order status shows them.
LANES = ("interactive", "batch")


async def _notify(conn: AsyncConnection, tenant: str) -> None:
    # Delivered at commit, and only then: a rolled-back change wakes nobody.
    await conn.execute(
        text("SELECT pg_notify(:channel, :tenant)"), {"channel": CHANNEL, "tenant": tenant}
    )


async def _add_credits(
    conn: AsyncConnection, tenant: str, day: str, lane: str, credits: int
) -> None:
    # Under the org row's lock: no peer can insert the same row in between.
    changed = await conn.execute(
        update(budget_credits)
        .where(_C.tenant == tenant, _C.day == day, _C.lane == lane)
        .values(spent=_C.spent + credits)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(budget_credits).values(tenant=tenant, day=day, lane=lane, spent=credits)
        )
