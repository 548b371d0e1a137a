"""What each Zoho CRM edition lets one org do: calls in flight and credits per day.

Zoho's published numbers (``docs/budget.md`` has the table and its sources):

- calls in flight per org: Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25;
  the heavy APIs (COQL, search, bulk, convert, composite, writes of more than 10 records)
  10 in every edition (Kaizen #203);
- credits per rolling 24 hours: Free 5,000; otherwise 50,000 plus an amount per user licence
  (Standard 250, Professional 500, Enterprise 1,000, Ultimate 2,000), capped at 100,000,
  3,000,000 and 5,000,000, Ultimate uncapped (https://www.zoho.com/crm/help/api/api-limits.html).

The emulator keeps its own copy of the table (it imports nothing of the client side).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EDITION_NAMES", "HEAVY_CONCURRENCY", "Limits", "limits_for"]

#: Zoho's cap on heavy API calls in flight, the same in every edition.
HEAVY_CONCURRENCY = 10

#: edition -> (calls in flight, credits base, credits per user licence, credits cap or None)
_TABLE: dict[str, tuple[int, int, int, int | None]] = {
    "free": (5, 5_000, 0, 5_000),
    "standard": (10, 50_000, 250, 100_000),
    "professional": (15, 50_000, 500, 3_000_000),
    "enterprise": (20, 50_000, 1_000, 5_000_000),
    "ultimate": (25, 50_000, 2_000, None),
}
#: Zoho's other names for the same editions (``/org``'s ``paid_type`` varies by product).
_ALIASES = {"starter": "standard", "zohoone": "enterprise", "crmplus": "ultimate"}
#: The editions by name, as ``/org`` reports them and the CLI accepts them.
EDITION_NAMES = tuple(_TABLE)


@dataclass(frozen=True, slots=True)
class Limits:
    """One org's limits: ``concurrency`` calls in flight (``heavy_concurrency`` of them
    heavy) and ``daily_credits`` per day."""

    edition: str
    concurrency: int
    heavy_concurrency: int
    daily_credits: int

    def __post_init__(self) -> None:
        for name in ("concurrency", "heavy_concurrency", "daily_credits"):
            if getattr(self, name) < 1:
                raise ValueError(f"the budget's {name} must be at least 1")


def limits_for(edition: str, users: int = 0) -> Limits:
    """The limits of an org on ``edition`` with ``users`` user licences.

    :class:`ValueError` naming the editions for a name Zoho does not use.
    """
    name = edition.strip().lower().replace(" ", "").replace("_", "")
    name = _ALIASES.get(name, name)
    row = _TABLE.get(name)
    if row is None:
        raise ValueError(f"unknown Zoho edition {edition!r}: use one of {', '.join(_TABLE)}")
    concurrency, base, per_user, cap = row
    credits = base + per_user * max(0, users)
    return Limits(
        name,
        concurrency,
        min(HEAVY_CONCURRENCY, concurrency),
        credits if cap is None else min(credits, cap),
    )
