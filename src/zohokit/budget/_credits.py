"""The budget's credit ledger (``budget_credits``): credits per tenant, UTC day and lane.

A debit runs under the tenant's org row lock (:meth:`OrgStatements._lock`): it reads what the
day's lanes spent and what Zoho says the org used, grants what the lane may take and adds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ._orgs import OrgStatements
from ._tables import budget_credits

__all__ = ["CreditStatements", "Debit"]

_C = budget_credits.c


@dataclass(frozen=True, slots=True)
class Debit:
    """Credits taken from the ledger, and the day's total after it."""

    granted: int
    used: int


class CreditStatements(OrgStatements):
    """The org rows and the credit ledger on one async engine."""

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
