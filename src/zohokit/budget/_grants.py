"""The slot side of the budget: how a process queues for slots, takes them from the
database, and hands them back to the fleet when others want them.

A call that finds its pool full queues; one fetcher per pool asks the database for the
slots its queue lacks (:meth:`BudgetStore.take`), and what it could not get it writes as
**wanted** on its grant row. Holders learn what other pools want (from their keeper's look
at the database every tick, and from each take), and a slot freed by a call is then:

- handed to the next caller of its own pool, if one queues (the process needs it), unless
  the pool is batch work and interactive callers want slots: then it goes back, so a
  booking never queues behind a sync;
- otherwise given back to the fleet at once while anyone wants slots of the org (one write
  for the slots freed meanwhile), and kept for the next call (no database round trip) while
  nobody does, until it has been idle for the linger.

Waiters are woken promptly: a give-back wakes the fetchers of its own process at once, and
on PostgreSQL every process's (``NOTIFY``; a fetcher listens while it waits). Between
wake-ups a fetcher polls with a read (no lock), and only takes when slots look free: every
``poll`` seconds, doubling up to :data:`MAX_POLL` on SQLite (one host, no ``NOTIFY``), and
every :data:`LISTENING_POLL` on PostgreSQL, for slots a lease set free.

A pool that already holds all its lane may have of the org (a sync push holding batch work's
8 of 10 slots, with more batches queued behind them) asks the database nothing: no take could
grant it more, and its callers are served by the slots its own calls free. Its fetcher naps
until a give-back or the keeper's tick and looks at its room again (the limits may change).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..db import Listener
from ..errors import ZohoError
from ._config import BudgetConfig
from ._local import Local, Org, Pool
from ._metrics import GRANTS, SLOTS, WAIT_SECONDS, WAITS
from ._refusals import no_slot
from ._slots import lane_cap
from ._store import CHANNEL, BudgetStore

__all__ = ["MAX_POLL", "Grants", "room"]

log = logging.getLogger("zohokit.budget")

#: Longest wait between two polls for a slot on SQLite.
MAX_POLL = 0.025
#: Wait between two polls while ``NOTIFY`` wakes the waiters (a lease that passed frees
#: slots without a word).
LISTENING_POLL = 0.25


def room(pool: Pool, org: Org) -> int:
    """Slots ``pool`` could still be granted at most: its lane's share of the org's slots
    (and of the heavy cap, for heavy calls) less what it holds. At 0, asking the database for
    more is a round trip that cannot succeed."""
    limits, share = org.row.limits, org.row.batch_share
    most = lane_cap(limits.concurrency, pool.lane, share)
    if pool.heavy:
        most = min(most, lane_cap(limits.heavy_concurrency, pool.lane, share))
    return max(0, most - pool.capacity)


class Grants:
    """Queueing for slots, taking them, and giving them back, for one :class:`Budget`
    (``keep(local)`` starts its keeper)."""

    def __init__(
        self, store: BudgetStore, config: BudgetConfig, keep: Callable[[Local], None]
    ) -> None:
        self.store = store
        self.config = config
        self.keep = keep

    # --- a call's slot ----------------------------------------------------------------------

    def release(self, local: Local, pool: Pool, org: Org) -> None:
        """A call is done with its slot: the next caller of its pool gets it, or the fleet
        does when others want it, or it stays free for the next call."""
        served_first = pool.lane == "batch" and org.interactive_waits(pool)
        if pool.queue and not served_first and pool.hand_over():
            return
        pool.in_use -= 1
        self.offer(local, pool, org)

    def offer(self, local: Local, pool: Pool, org: Org) -> None:
        """Start giving ``pool``'s free slots back, if callers elsewhere want them."""
        if pool.capacity > pool.in_use and not pool.shrinking and org.others_wait(pool):
            pool.shrinking = True
            local.start(self.give_back(local, pool, org))

    async def queue(self, local: Local, pool: Pool, org: Org, deadline: float) -> None:
        """Wait in ``pool``'s queue until a slot is handed over, or the deadline."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        pool.queue.append(waiter)
        WAITS[pool.lane].inc()
        started = time.monotonic()
        if pool.fetcher is None:
            pool.fetcher = local.start(self._fetch(local, pool, org))
        try:
            async with asyncio.timeout_at(loop.time() + (deadline - time.monotonic())):
                await waiter
            WAIT_SECONDS[pool.lane].observe(time.monotonic() - started)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(local, pool, org)  # handed over just as the wait ended: pass it on
            waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise no_slot(pool, org, self.config.lease) from None
            raise

    async def no_wait(self, local: Local, pool: Pool, org: Org) -> None:
        """A call that may not wait: one try at the database for a slot, else RateLimited."""
        if not await self._take(local, pool, org, 1, wait=False):
            raise no_slot(pool, org, self.config.lease)
        pool.in_use += 1
        pool.touched = time.monotonic()

    # --- the database -----------------------------------------------------------------------

    async def _take(self, local: Local, pool: Pool, org: Org, want: int, *, wait: bool) -> int:
        """Ask the database for ``want`` more slots of ``pool`` (with ``wait``, the rest is
        written as wanted); how many it granted."""
        async with pool.lock:
            grant = await self.store.take(
                local.key(pool),
                held=pool.capacity,
                want=want,
                now=time.time(),
                lease=self.config.lease,
                wait=wait,
            )
            pool.capacity += grant.granted
            pool.wants = want - grant.granted if wait else 0
        org.update(grant.org)
        org.wanted = grant.wanted
        if grant.granted:
            GRANTS[pool.lane].inc(grant.granted)
            SLOTS[pool.lane].inc(grant.granted)
        if grant.granted or pool.wants:
            self.keep(local)  # renew the lease of what it holds and wants
        return grant.granted

    async def _fetch(self, local: Local, pool: Pool, org: Org) -> None:
        """Ask the database for slots while callers queue in ``pool``."""
        try:
            while (lacking := pool.waiting() - (pool.capacity - pool.in_use)) > 0:
                want = min(lacking, room(pool, org))
                if not want:
                    # Its callers get the slots its calls free; the database has none for it.
                    await local.nap(self.config.tick)
                elif await self._take(local, pool, org, want, wait=True):
                    pool.grow(0)  # hand the new slots to the queue
                else:
                    await self._until_free(local, pool)
            pool.grow(0)  # slots a caller of its own freed meanwhile
        except Exception as exc:
            # The database is away: the callers get its error rather than waiting blind.
            while pool.queue:
                waiter = pool.queue.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
        finally:
            pool.fetcher = None
            if pool.wants:
                # Its callers got their slots another way (or gave up): it wants no more.
                local.start(self.give_back(local, pool, org))

    async def _until_free(self, local: Local, pool: Pool) -> None:
        """Wait until the database has a slot for ``pool`` (or its queue needs none)."""
        listening = await self._listen(local)
        delay = LISTENING_POLL if listening else self.config.poll
        while pool.waiting() > pool.capacity - pool.in_use:
            await local.nap(delay)
            free = await self.store.peek(local.key(pool), held=pool.capacity, now=time.time())
            if free:
                return
            if not listening:
                delay = min(MAX_POLL, delay * 2)

    async def _listen(self, local: Local) -> bool:
        """Listen for slots given back anywhere (PostgreSQL), if not yet; whether it does."""
        if not self.store.notifies:
            return False
        if local.listener is None:
            local.listener = Listener(
                self.store.engine, CHANNEL, local.wake, timeout=self.store.timeout
            )
        again = time.monotonic() >= local.listen_again
        if not local.listener.listening and again and not await local.listener.start():
            local.listen_again = time.monotonic() + self.config.lease
        return local.listener.listening

    async def give_back(self, local: Local, pool: Pool, org: Org) -> None:
        """Give ``pool``'s free slots back to the fleet, and write what it still wants (the
        processes waiting are woken). Slots freed during the write go in a next one."""
        pool.shrinking = True
        try:
            # A caller of this process that the call's end let through the request path's
            # own cap runs first and takes the slot: the process still needs it.
            await asyncio.sleep(0)
            while True:
                async with pool.lock:
                    give = pool.capacity - pool.in_use
                    wants = pool.wants if pool.fetcher is not None else 0
                    if give <= 0 and wants == pool.wants:
                        return
                    SLOTS[pool.lane].dec(max(0, give))
                    pool.capacity -= max(0, give)
                    pool.wants = wants
                    await self.store.hold(
                        local.key(pool),
                        slots=pool.capacity,
                        wanted=wants,
                        now=time.time(),
                        lease=self.config.lease,
                    )
                local.wake()  # fetchers of this process take them at once
                if not org.others_wait(pool):
                    return
        except ZohoError as exc:
            # The row keeps more than is used until its lease passes: safe, only slower.
            log.warning("could not give budget slots back: %s", exc)
        finally:
            pool.shrinking = False

    async def linger_out(self, local: Local, pool: Pool) -> None:
        """Give back slots idle for the linger (nobody wanted them sooner)."""
        if pool.surplus() and not pool.shrinking:
            org = local.orgs[pool.tenant]
            await self.give_back(local, pool, org)
