"""The errors the budget raises before sending: no slot in time, batch credits spent."""

from __future__ import annotations

import math

from ..errors import BudgetExhausted, RateLimited
from ._config import next_day
from ._local import Org, Pool
from ._metrics import REFUSED
from ._orgs import OrgRow

__all__ = ["exhausted", "no_slot"]


def no_slot(pool: Pool, org: Org, lease: float) -> RateLimited:
    """No slot of ``pool``'s org came free in the call's wait."""
    limits = org.row.limits
    cap = limits.heavy_concurrency if pool.heavy else limits.concurrency
    REFUSED.labels(pool.lane, "no_slot").inc()
    return RateLimited(
        f"no Zoho slot came free for tenant {pool.tenant}'s org in time ({cap}"
        f"{' heavy' if pool.heavy else ''} calls in flight across the fleet)",
        # Slots turn over in a call's time; a tenth of the lease is a fair next try.
        retry_after=lease / 10,
        code="BUDGET_NO_SLOT",
        tenant=pool.tenant,
        provider="zoho_crm",
    )


def exhausted(row: OrgRow, tenant: str, day: str, used: int) -> BudgetExhausted:
    """Batch work of ``tenant`` reached its share of ``day``'s credits (``used`` so far)."""
    daily = row.limits.daily_credits
    allowed = math.floor(daily * row.batch_share)
    resets = next_day(day)
    REFUSED.labels("batch", "exhausted").inc()
    return BudgetExhausted(
        f"tenant {tenant}'s batch work used its share of today's Zoho credits ({used} of"
        f" {allowed}; {daily - allowed} are kept for interactive calls): nothing more was"
        f" sent. Run it again after {resets} (what already synced is skipped), or raise"
        " the share with `zohokit budget set`",
        used=used,
        allowed=allowed,
        daily=daily,
        resets_at=resets,
        tenant=tenant,
        provider="zoho_crm",
    )
