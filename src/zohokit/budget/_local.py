"""What one process (one event loop) holds of the fleet's budget, kept in memory.

A :class:`Pool` is the slots this process holds for one tenant, lane and kind (heavy or
not): a grant taken from the database in one transaction, reused for call after call with
no database round trip while it lasts, like a semaphore whose size is the grant. Calls that
find it full queue in order; one fetcher per pool asks the database for more slots while any
wait, and each freed slot goes straight to the next caller in the queue.

An :class:`Account` is the credits this process took from the day's ledger for one tenant
and lane and has not spent yet: calls spend from it in memory, and it is topped up a chunk
at a time (a crash loses no count: credits are written as spent before they are).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..db import Listener
from ._lanes import Lane
from ._orgs import OrgRow
from ._slots import NOBODY, Wanted
from ._store import GrantKey

__all__ = ["Account", "Local", "Org", "Pool"]


@dataclass(eq=False)
class Pool:
    """The slots this process holds for one (tenant, lane, heavy)."""

    tenant: str
    lane: Lane
    heavy: bool
    capacity: int = 0
    in_use: int = 0
    queue: deque[asyncio.Future[None]] = field(default_factory=deque)
    fetcher: asyncio.Task[None] | None = None
    shrinking: bool = False
    #: Slots its row says its callers want (written by the fetcher's takes).
    wants: int = 0
    #: Held while this pool's row is written, so the row always says what ``capacity`` does.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: ``time.monotonic()`` of the last slot taken.
    touched: float = 0.0

    def take_free(self) -> bool:
        """Take a slot if one is free and nobody queues before us."""
        if self.in_use < self.capacity and not self.queue:
            self.in_use += 1
            self.touched = time.monotonic()
            return True
        return False

    def waiting(self) -> int:
        """Callers still queued (a caller that gave up leaves a cancelled future)."""
        while self.queue and self.queue[0].done():
            self.queue.popleft()
        return sum(1 for f in self.queue if not f.done())

    def hand_over(self) -> bool:
        """Give a held slot to the first caller in the queue; ``False`` if none waits."""
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.touched = time.monotonic()
                return True
        return False

    def release(self) -> None:
        """A call is done with its slot: the next caller gets it, else it is free."""
        if not self.hand_over():
            self.in_use -= 1

    def grow(self, slots: int) -> None:
        """``slots`` more were granted: hand them to the queue first."""
        self.capacity += slots
        while self.in_use < self.capacity and self.hand_over():
            self.in_use += 1

    def surplus(self) -> int:
        """Slots held that no call uses or waits for."""
        return max(0, self.capacity - self.in_use) if not self.waiting() else 0


@dataclass(eq=False)
class Account:
    """Credits of ``day`` this process took for one (tenant, lane) and has not spent."""

    tenant: str
    lane: Lane
    day: str
    left: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    touched: float = field(default_factory=time.monotonic)
    #: Credits taken at its last refill, and when (``time.monotonic()``).
    chunk: int = 0
    refilled: float = float("-inf")


@dataclass(eq=False)
class Org:
    """A tenant's org as this process last read it, and what it learnt since."""

    row: OrgRow
    #: The pause in force (``time.time()``), the database's or one this process just set.
    paused_until: float = 0.0
    #: Zoho's last X-API-CREDITS-REMAINING not yet written, and its day.
    remaining: int | None = None
    remaining_day: str = ""
    #: What other processes' callers wait for (as of the last look at the database).
    wanted: Wanted = NOBODY
    #: This process's pools of the org.
    pools: list[Pool] = field(default_factory=list)

    def others_wait(self, pool: Pool) -> bool:
        """Whether callers other than ``pool``'s wait for the org's slots, and could use
        one of ``pool``'s."""
        # Another pool of this process counts once the database could not serve it (its
        # wants): a pool that merely queues for its first slot gets one from the fleet.
        return self.wanted.usable_by_others(pool.lane) or any(
            p.wants for p in self.pools if p is not pool
        )

    def interactive_waits(self, pool: Pool) -> bool:
        """Whether interactive callers other than ``pool``'s wait for the org's slots."""
        return self.wanted.interactive > 0 or any(
            p.wants for p in self.pools if p is not pool and p.lane == "interactive"
        )

    def update(self, row: OrgRow) -> None:
        """Take what the database says (a later pause wins)."""
        self.row = row
        self.paused_until = max(self.paused_until, row.paused_until or 0.0)


@dataclass(eq=False)
class Local:
    """Everything one event loop holds: its ``owner`` id in the grant rows, its pools,
    accounts and orgs, and the keeper task that renews and returns grants."""

    owner: str
    pools: dict[tuple[str, str, bool], Pool] = field(default_factory=dict)
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    orgs: dict[str, Org] = field(default_factory=dict)
    loading: dict[str, asyncio.Lock] = field(default_factory=dict)
    keeper: asyncio.Task[None] | None = None
    renewed: float = 0.0
    #: Set by ``aclose``: the keeper stops after its current step.
    closed: bool = False
    #: Its running tasks (a reference keeps each alive until it ends).
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    #: Fetchers napping until slots may be free (:meth:`wake` ends their naps).
    sleepers: list[asyncio.Future[None]] = field(default_factory=list)
    #: PostgreSQL's word that slots went back anywhere (started by the first wait).
    listener: Listener | None = None
    #: ``time.monotonic()`` after which a listener that could not start is tried again.
    listen_again: float = 0.0

    def key(self, pool: Pool) -> GrantKey:
        """The grant row of ``pool``."""
        return GrantKey(self.owner, pool.tenant, pool.lane, pool.heavy)

    def wake(self) -> None:
        """Slots may be free: the napping fetchers look at once."""
        sleepers, self.sleepers = self.sleepers, []
        for sleeper in sleepers:
            if not sleeper.done():
                sleeper.set_result(None)

    async def nap(self, seconds: float) -> None:
        """Sleep ``seconds``, or until :meth:`wake`."""
        sleeper = asyncio.get_running_loop().create_future()
        self.sleepers.append(sleeper)
        try:
            await asyncio.wait((sleeper,), timeout=seconds)
        finally:
            if not sleeper.done():
                sleeper.cancel()
                self.sleepers.remove(sleeper)

    def start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` as a task of this loop, kept until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def holds_anything(self) -> bool:
        """Whether any slot, queued caller, unspent credit or unwritten count is held."""
        return (
            any(p.capacity or p.queue for p in self.pools.values())
            or any(a.left for a in self.accounts.values())
            or any(o.remaining is not None for o in self.orgs.values())
        )
