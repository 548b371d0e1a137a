"""How many slots an org has free for one pool, and who waits for them: pure arithmetic on
the live grant rows, shared by the locked grant (``take``) and the read-only look a waiter
polls with (``peek``), so both agree on what is free.

Interactive waiters come first: slots other holders' interactive callers wait for are not
free for batch work, even within the batch share, so a booking never queues behind a sync.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._editions import Limits

__all__ = ["Wanted", "free_slots", "lane_cap", "wanted_of"]


def lane_cap(total: int, lane: str, batch_share: float) -> int:
    """How many of ``total`` a lane may hold: all of it for interactive calls; for batch
    work its share, always leaving at least one to interactive calls (when there are two)."""
    if lane != "batch" or total < 2:
        return total
    reserve = max(1, math.ceil(total * (1 - batch_share) - 1e-9))
    return max(1, total - reserve)


@dataclass(frozen=True, slots=True)
class Wanted:
    """Slots of an org that callers wait for in other pools: in all, and for interactive
    calls; ``batch_full``: batch work holds its whole share, so only interactive waiters can
    use a slot given back. A holder that has no caller of its own waiting gives its free
    slots back at once when someone can use them (batch work: even with its own callers
    waiting, when ``interactive`` is not 0)."""

    total: int = 0
    interactive: int = 0
    batch_full: bool = False

    def __bool__(self) -> bool:
        return self.total > 0

    def usable_by_others(self, lane: str) -> bool:
        """Whether a slot of ``lane`` given back now would serve someone who waits."""
        if lane == "interactive" and self.batch_full:
            return self.interactive > 0
        return self.total > 0


NOBODY = Wanted()


def wanted_of(rows: Iterable[Any], *, batch_full: bool = False) -> Wanted:
    """What the grant ``rows`` (``lane``, ``wanted``) wait for."""
    total = interactive = 0
    for row in rows:
        total += row.wanted
        interactive += row.wanted if row.lane == "interactive" else 0
    return Wanted(total, interactive, batch_full) if total else NOBODY


def free_slots(
    limits: Limits,
    batch_share: float,
    *,
    lane: str,
    heavy: bool,
    held: int,
    others: Iterable[Any],
) -> tuple[int, Wanted]:
    """Slots a pool holding ``held`` may still take beside the live grant rows ``others``
    (``lane``, ``heavy``, ``slots``, ``wanted``: every row but the pool's own), and what
    those rows wait for."""
    others = list(others)
    total = lane_total = heavy_total = lane_heavy = held
    batch_total = held if lane == "batch" else 0
    for row in others:
        total += row.slots
        lane_total += row.slots if row.lane == lane else 0
        heavy_total += row.slots if row.heavy else 0
        lane_heavy += row.slots if row.heavy and row.lane == lane else 0
        batch_total += row.slots if row.lane == "batch" else 0
    free = min(
        limits.concurrency - total,
        lane_cap(limits.concurrency, lane, batch_share) - lane_total,
    )
    if heavy:
        free = min(
            free,
            limits.heavy_concurrency - heavy_total,
            lane_cap(limits.heavy_concurrency, lane, batch_share) - lane_heavy,
        )
    batch_full = batch_total >= lane_cap(limits.concurrency, "batch", batch_share)
    wanted = wanted_of(others, batch_full=batch_full)
    if lane == "batch":
        free -= wanted.interactive
    return max(0, free), wanted
