"""When to try a delivery again, and when to give up: plain functions of the attempt count,
the times and a random source (passed in, so tests fix it).

The wait after the ``n``-th failed attempt is ``base * factor ** (n - 1)``, capped at
``cap``, times a random factor in ``[1 - jitter, 1 + jitter]`` so a fleet of failing
deliveries does not retry in lockstep. A delivery keeps trying until ``horizon`` has passed
since its round began (the fan-out, or a re-delivery): with the defaults (5 s doubling to a
2-hour cap, 24 hours) that is about 22 attempts, the last one after at least 24 hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["DeliveryPolicy", "is_success", "next_attempt_at"]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry timing, the per-attempt timeout and what is read of an answer.

    ``timeout`` bounds one attempt end to end (connect, send, the answer); ``max_response``
    is how many bytes of an answer are read at most (the rest is dropped unread);
    ``lease`` how long a worker may hold one delivery before another may send it.
    """

    base: float = 5.0
    factor: float = 2.0
    cap: float = 2 * 3600.0
    jitter: float = 0.2
    horizon: timedelta = timedelta(hours=24)
    timeout: float = 10.0
    max_response: int = 64 * 1024
    lease: timedelta = timedelta(seconds=60)
    #: Deliveries one worker sends at once.
    concurrency: int = 8
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.horizon < timedelta(hours=24):
            raise ValueError("webhook deliveries must be retried for at least 24 hours")
        if not 0 <= self.jitter < 1 or self.base <= 0 or self.factor < 1 or self.cap < self.base:
            raise ValueError(
                "delivery backoff: base > 0, factor >= 1, cap >= base, 0 <= jitter < 1"
            )
        if self.lease.total_seconds() <= self.timeout:
            raise ValueError("the delivery lease must outlast one attempt's timeout")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure (1 for the first)."""
        raw = min(self.cap, self.base * self.factor ** max(0, attempts - 1))
        return raw * self.rng.uniform(1 - self.jitter, 1 + self.jitter)


def next_attempt_at(
    policy: DeliveryPolicy, attempts: int, round_started_at: datetime, now: datetime
) -> datetime | None:
    """When to try again after ``attempts`` failures, or ``None`` to give up: the horizon
    since ``round_started_at`` has passed."""
    if now - round_started_at >= policy.horizon:
        return None
    return now + timedelta(seconds=policy.delay(attempts))


def is_success(status_code: int) -> bool:
    """A 2xx answer; anything else (a redirect included: it is not followed) is a failure."""
    return 200 <= status_code < 300
