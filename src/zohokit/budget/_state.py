"""One org's budget as the fleet holds it: what ``zohokit budget status`` and the admin page
show."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._slots import lane_cap
from ._store import TenantUse

__all__ = ["BudgetState"]


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One org's budget as ``zohokit budget status`` and the admin page show it."""

    tenant: str
    edition: str
    source: str
    concurrency: int
    heavy_concurrency: int
    batch_slots: int
    slots: dict[str, int]
    heavy_slots: int
    holders: int
    daily_credits: int
    batch_credits: int
    credits: dict[str, int]
    used: int
    zoho_used: int | None
    paused_for: float
    resets_at: str

    @classmethod
    def of(cls, use: TenantUse, *, now: float, resets_at: str) -> BudgetState:
        """The state of ``use`` at ``now`` (``time.time()``)."""
        org, limits = use.org, use.org.limits
        return cls(
            tenant=org.tenant,
            edition=limits.edition,
            source=org.source,
            concurrency=limits.concurrency,
            heavy_concurrency=limits.heavy_concurrency,
            batch_slots=lane_cap(limits.concurrency, "batch", org.batch_share),
            slots=use.slots,
            heavy_slots=use.heavy_slots,
            holders=use.holders,
            daily_credits=limits.daily_credits,
            batch_credits=math.floor(limits.daily_credits * org.batch_share),
            credits=use.credits,
            used=use.used,
            zoho_used=org.zoho_used,
            paused_for=max(0.0, (org.paused_until or 0.0) - now),
            resets_at=resets_at,
        )

    @property
    def credits_left(self) -> int:
        """Credits left today, all lanes (never below 0)."""
        return max(0, self.daily_credits - self.used)

    def as_json(self) -> dict[str, Any]:
        """The state as plain JSON values."""
        return {
            "tenant": self.tenant,
            "edition": self.edition,
            "source": self.source,
            "concurrency": self.concurrency,
            "heavy_concurrency": self.heavy_concurrency,
            "batch_slots": self.batch_slots,
            "slots_in_use": dict(self.slots),
            "heavy_slots_in_use": self.heavy_slots,
            "processes_holding": self.holders,
            "daily_credits": self.daily_credits,
            "batch_credits": self.batch_credits,
            "credits_spent": dict(self.credits),
            "credits_used": self.used,
            "credits_left": self.credits_left,
            "zoho_used": self.zoho_used,
            "paused_for_seconds": round(self.paused_for, 3),
            "resets_at": self.resets_at,
        }
