"""Zoho CRM editions and the API limits each one sets for an org.

Zoho's published numbers (the table and its sources are in ``docs/emulator.md``):

- Concurrency (calls in flight per org): Free 5, Standard 10, Professional 15, Enterprise 20,
  Ultimate 25; "heavy" APIs (the emulator counts COQL) 10 in every edition. Source: Zoho's
  Kaizen #203 on API limits (community.zoho.com / help.zoho.com).
- Credits per rolling 24 hours: Free 5,000; otherwise 50,000 plus a per-user-licence amount
  (Standard 250, Professional 500, Enterprise 1,000, Ultimate 2,000), capped at 100,000
  (Standard), 3,000,000 (Professional), 5,000,000 (Enterprise), uncapped for Ultimate.
  Source: https://www.zoho.com/crm/help/api/api-limits.html
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edition:
    """One edition: what ``/org`` reports and the limits Zoho applies to it."""

    name: str
    concurrency: int
    credits_base: int
    credits_per_user: int
    credits_cap: int | None
    paid: bool
    heavy_concurrency: int = 10

    def daily_credits(self, users: int) -> int:
        """The credits per 24 hours of an org with ``users`` user licences."""
        credits = self.credits_base + self.credits_per_user * users
        return credits if self.credits_cap is None else min(credits, self.credits_cap)


EDITIONS: dict[str, Edition] = {
    e.name: e
    for e in (
        Edition("free", 5, 5_000, 0, 5_000, paid=False),
        Edition("standard", 10, 50_000, 250, 100_000, paid=True),
        Edition("professional", 15, 50_000, 500, 3_000_000, paid=True),
        Edition("enterprise", 20, 50_000, 1_000, 5_000_000, paid=True),
        Edition("ultimate", 25, 50_000, 2_000, None, paid=True),
    )
}

DEFAULT_EDITION = "enterprise"


def edition_named(name: str) -> Edition:
    """The edition called ``name``; :class:`ValueError` listing the choices otherwise."""
    edition = EDITIONS.get(name.lower())
    if edition is None:
        raise ValueError(f"unknown edition {name!r}: choose one of {', '.join(EDITIONS)}")
    return edition
