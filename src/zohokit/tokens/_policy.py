"""Pure decisions of the token protocol: when a token is fresh, how long to cool down.

Nothing here does I/O or reads the clock: the current time is an argument, so the tests can
check every decision (property tests included) without patching anything.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

__all__ = [
    "THROTTLE_COOLDOWN_SECONDS",
    "RefreshPolicy",
    "backoff_seconds",
    "jitter_fraction",
]

#: Zoho's mint window is 10 minutes; reports say a block can last longer, so add a little.
THROTTLE_COOLDOWN_SECONDS = 600.0
#: Transient failures back off exponentially from this base up to the cap.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


def jitter_fraction(tenant: str, provider: str, salt: str = "") -> float:
    """A stable number in [0, 1) per (tenant, provider).

    Stable, so every process of the fleet agrees on when a tenant's token is due (they then
    meet at the lease instead of refreshing one after the other); different per tenant, so a
    thousand tenants seeded at once do not all refresh in the same second.
    """
    digest = hashlib.sha256(f"{tenant}\x00{provider}{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def backoff_seconds(
    failures: int,
    rng: random.Random | None = None,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Cooldown after ``failures`` consecutive transient failures: exponential, full jitter.

    The first failure waits about ``base`` seconds; the wait doubles up to ``cap``. Half of
    the wait is fixed so a failing tenant (or job) never retries in a tight loop.
    """
    # The exponent is bounded: 2.0 ** 1024 overflows, and a tenant failing for a few days
    # reaches that many failures (the cap is hit long before anyway).
    exponent = min(max(0, failures - 1), 64)
    ceiling = min(cap, base * 2.0**exponent)
    r = rng.random() if rng is not None else random.random()
    return ceiling / 2 + r * ceiling / 2


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """How early tokens are refreshed and how long a refresh may take.

    ``margin`` seconds before expiry plus up to ``jitter`` seconds (per tenant) a token counts
    as due. The worker refreshes earlier still (:meth:`ahead_at`): at a stable point per
    tenant spread over ``ahead`` seconds before the earliest caller's moment, so a fleet's
    refreshes are spread out and callers find a fresh token. ``lease`` bounds how long one
    process may hold a tenant's refresh; ``timeout`` bounds each accounts call and is kept
    below the lease so a live holder never outlives it.
    """

    margin: float = 300.0
    jitter: float = 120.0
    lease: float = 15.0
    timeout: float = 10.0
    ahead: float = 600.0

    def __post_init__(self) -> None:
        if self.lease <= 0 or self.timeout <= 0:
            raise ValueError("lease and timeout must be positive")
        if self.ahead < 0:
            raise ValueError("ahead must not be negative")
        if self.timeout >= self.lease:
            raise ValueError(
                f"the refresh timeout ({self.timeout}s) must be shorter than the lease "
                f"({self.lease}s), or a slow refresh would outlive its lease"
            )

    def refresh_at(self, expires_at: float, tenant: str, provider: str) -> float:
        """The moment a token expiring at ``expires_at`` becomes due for refresh."""
        return expires_at - self.margin - self.jitter * jitter_fraction(tenant, provider)

    def ahead_at(self, expires_at: float, tenant: str, provider: str) -> float:
        """When the worker refreshes a token expiring at ``expires_at``: never later than any
        caller's :meth:`refresh_at`, and spread per tenant over ``ahead`` seconds."""
        spread = self.ahead * jitter_fraction(tenant, provider, "\x00ahead")
        return expires_at - self.margin - self.jitter - spread

    def is_fresh(self, expires_at: float | None, now: float, tenant: str, provider: str) -> bool:
        """Whether a token can be served without refreshing."""
        return expires_at is not None and now < self.refresh_at(expires_at, tenant, provider)

    @staticmethod
    def is_usable(expires_at: float | None, now: float, *, safety: float = 5.0) -> bool:
        """Whether a token is still valid at all (used during a cooldown, past the margin)."""
        return expires_at is not None and now + safety < expires_at

    def wait_bound(self) -> float:
        """How long a caller waits for a peer's refresh before giving up.

        A dead holder's lease expires after ``lease``; the next caller then needs up to
        ``timeout`` to refresh. Past that, something is wrong.
        """
        return 2 * self.lease + self.timeout
