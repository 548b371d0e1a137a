"""The fleet-wide Zoho budget of each tenant's org: slots in flight, credits, pauses.

:class:`Budget` is what the request path asks before each Zoho CRM call (``admit``) and
tells after it (``answered``). Its state is in the shared database (:mod:`._store`) and
what this process holds of it is in memory (:mod:`._local`), so the hot path is a few
counters while the process holds a grant:

- **slots** (:mod:`._grants`): a call takes a slot of its pool (tenant, lane, heavy or
  not); when the pool is full it queues, and one fetcher asks the database for more and
  says what it wants, until the org has one free or the caller's wait ends
  (:class:`~zohokit.errors.RateLimited`); holders give free slots back at once while
  others want them.
- **credits**: a call spends its cost from the process's account; an empty account takes a
  chunk from the day's ledger, and batch work that finds its share spent gets
  :class:`~zohokit.errors.BudgetExhausted`.
- **the keeper**, one task per event loop while anything is held: every ``tick`` (up to
  :data:`CALM_TICKS` ticks apart while no org is paused and nobody waits) it reads the orgs
  and what other processes want of them (so a pause another process set reaches this one,
  and so does a wait for slots), every fifth of a lease it renews the grants, it gives back
  slots idle for ``linger`` and credits idle for ``credit_linger``, and writes Zoho's latest
  ``X-API-CREDITS-REMAINING``. A process that dies holds its slots until its lease passes
  (``lease`` seconds at most after its last renewal), and its unspent credits stay counted
  as spent: never fewer than were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..db import Timeouts
from ..errors import RateLimited, ZohoError
from ._config import BudgetConfig, next_day, owner_id
from ._editions import Limits, limits_for
from ._grants import Grants, room
from ._lanes import Lane, current_lane, current_wait
from ._local import Account, Local, Org, Pool
from ._metrics import CREDITS, PAUSES, REFUSED, SLOTS
from ._orgs import OrgRow
from ._refusals import exhausted
from ._state import BudgetState
from ._store import BudgetStore

__all__ = ["Budget", "BudgetConfig", "Ticket"]

log = logging.getLogger("zohokit.budget")

#: Grants are renewed this many times per lease: a keeper delayed by a loaded machine
#: still renews long before its lease passes.
RENEWALS = 5
#: While all is calm the keeper looks at most this many ticks apart.
CALM_TICKS = 3
#: At most this many chunks of credits are taken at once (by an account that spends fast):
#: the most a crash can leave counted as spent though it was not.
CHUNK_GROWTH = 8


@dataclass(eq=False, repr=False, slots=True)
class Ticket:
    """One admitted call: its slot, and the credits it spent (refunded on a 429)."""

    budget: Budget
    local: Local
    pool: Pool
    account: Account
    cost: int
    org: Org

    def release(self) -> None:
        """The call is over: its slot goes to the next caller, or back to the fleet."""
        self.budget.grants.release(self.local, self.pool, self.org)


class Budget:
    """The budget of every tenant's org, held in the database ``engine`` for the fleet.

    ``clock`` gives the day of the credit ledger (UTC); leases and pauses are on the
    machine's time (``time.time()``), as they are compared between processes.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        config: BudgetConfig | None = None,
        clock: Clock = system_clock,
        statement_timeout: float = Timeouts().statement,
    ) -> None:
        self.config = config or BudgetConfig()
        self.store = BudgetStore(engine, timeout=statement_timeout)
        self.grants = Grants(self.store, self.config, self._keep)
        self.clock = clock
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Local] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        c = self.config
        return f"Budget(edition={c.edition!r}, batch_share={c.batch_share}, lease={c.lease})"

    def _local(self) -> Local:
        loop = asyncio.get_running_loop()
        local = self._loops.get(loop)
        if local is None:
            local = self._loops[loop] = Local(owner_id())
        return local

    def day(self) -> str:
        """Today, as the credit ledger counts days (UTC)."""
        return self.clock().astimezone(UTC).date().isoformat()

    # --- the hot path -----------------------------------------------------------------------

    async def admit(self, tenant: str, *, cost: int, heavy: bool) -> Ticket:
        """Wait for a slot and spend ``cost`` credits for one call of ``tenant``'s org in the
        current lane; :class:`RateLimited` when the wait runs out (or may not start),
        :class:`BudgetExhausted` when batch work reached its share of today's credits."""
        local = self._local()
        org = local.orgs.get(tenant) or await self._load(local, tenant)
        lane = current_lane()
        wait = current_wait(self.config.wait)
        deadline = time.monotonic() + wait
        while True:
            await self._sit_out_pause(org, tenant, deadline)
            account = await self._spend(local, tenant, lane, cost)
            pool = local.pools.get((tenant, lane, heavy))
            if pool is None:
                pool = local.pools[(tenant, lane, heavy)] = Pool(tenant, lane, heavy)
                org.pools.append(pool)
            if not pool.take_free():
                try:
                    if deadline > time.monotonic():
                        await self.grants.queue(local, pool, org, deadline)
                    else:
                        await self.grants.no_wait(local, pool, org)
                except BaseException:
                    account.left += cost
                    raise
            if org.paused_until <= time.time():
                CREDITS[lane].inc(cost)
                return Ticket(self, local, pool, account, cost, org)
            # A pause began while this call waited: it waits the pause out without a slot.
            account.left += cost
            self.grants.release(local, pool, org)

    async def answered(
        self,
        ticket: Ticket,
        *,
        throttled: bool,
        retry_after: float | None = None,
        credits_remaining: int | None = None,
    ) -> None:
        """Learn from Zoho's answer: a 429 (``throttled``) gives the call's credits back
        (Zoho did not count it) and, with ``retry_after``, pauses the org for the fleet;
        ``credits_remaining`` (Zoho's ``X-API-CREDITS-REMAINING``) corrects the ledger."""
        org = ticket.org
        if throttled:
            ticket.account.left += ticket.cost
            if retry_after:
                PAUSES.inc()
                until = time.time() + retry_after
                org.paused_until = max(org.paused_until, until)
                log.warning(
                    "Zoho answered 429 with Retry-After %.0fs: pausing tenant %s's calls"
                    " in every process",
                    retry_after,
                    ticket.pool.tenant,
                )
                await self.store.pause(tenant=ticket.pool.tenant, until=until)
        if credits_remaining is not None:
            org.remaining = credits_remaining
            org.remaining_day = self.day()
            self._keep(self._local())

    async def _sit_out_pause(self, org: Org, tenant: str, deadline: float) -> None:
        while (left := org.paused_until - time.time()) > 0:
            if time.monotonic() + left > deadline:
                REFUSED.labels(current_lane(), "paused").inc()
                raise RateLimited(
                    f"Zoho asked to wait {left:.1f}s before calling tenant {tenant}'s org again",
                    retry_after=left,
                    code="BUDGET_PAUSED",
                    tenant=tenant,
                    provider="zoho_crm",
                )
            await asyncio.sleep(left)

    # --- credits ----------------------------------------------------------------------------

    async def _spend(self, local: Local, tenant: str, lane: Lane, cost: int) -> Account:
        account = local.accounts.get((tenant, lane))
        day = self.day()
        if account is not None and account.left >= cost and account.day == day:
            account.left -= cost
            account.touched = time.monotonic()
            return account
        if account is None or account.day != day:
            if account is not None and account.left:
                await self._refund(account)
            account = local.accounts[(tenant, lane)] = Account(tenant, lane, day)
        async with account.lock:
            if account.left < cost:
                want = max(self._chunk(account), cost) - account.left
                debit = await self.store.debit(
                    tenant=tenant, day=day, lane=lane, want=want, least=cost - account.left
                )
                if not debit.granted:
                    raise exhausted(local.orgs[tenant].row, tenant, day, debit.used)
                account.left += debit.granted
                self._keep(local)
            account.left -= cost
            account.touched = time.monotonic()
            return account

    def _chunk(self, account: Account) -> int:
        """Credits to take for ``account`` now: an account emptied within a second of its
        last refill spends fast (a bulk write: 10 credits a call), so it takes twice as much
        as last time, up to :data:`CHUNK_GROWTH` chunks; otherwise one chunk."""
        now, base = time.monotonic(), self.config.credit_chunk
        fast = now - account.refilled < 1.0
        account.chunk = min(CHUNK_GROWTH * base, 2 * account.chunk) if fast else base
        account.refilled = now
        return account.chunk

    async def _refund(self, account: Account) -> None:
        left, account.left = account.left, 0
        try:
            await self.store.refund(
                tenant=account.tenant, day=account.day, lane=account.lane, credits=left
            )
        except ZohoError as exc:
            log.warning("could not give unspent budget credits back: %s", exc)

    # --- orgs -------------------------------------------------------------------------------

    async def _load(self, local: Local, tenant: str) -> Org:
        lock = local.loading.setdefault(tenant, asyncio.Lock())
        async with lock:
            org = local.orgs.get(tenant)
            if org is None:
                row = await self.store.org(tenant)
                if row is None:
                    row = await self.store.put_org(
                        tenant,
                        limits=limits_for(self.config.edition, self.config.users),
                        batch_share=self.config.batch_share,
                        source="default",
                        now=time.time(),
                        replace=False,
                    )
                org = local.orgs[tenant] = Org(row)
                org.update(row)
            return org

    async def set_limits(
        self,
        tenant: str,
        *,
        edition: str | None = None,
        users: int | None = None,
        concurrency: int | None = None,
        heavy_concurrency: int | None = None,
        daily_credits: int | None = None,
        batch_share: float | None = None,
        source: str = "set",
    ) -> OrgRow:
        """Set ``tenant``'s limits: from ``edition`` (and ``users``), each number overriding
        it; what is not given keeps its stored (or default) value."""
        current = await self.store.org(tenant)
        base = current.limits if current is not None else None
        if edition is not None or base is None:
            base = limits_for(edition or self.config.edition, users or 0)
        limits = Limits(
            base.edition,
            concurrency or base.concurrency,
            heavy_concurrency or min(base.heavy_concurrency, concurrency or base.concurrency),
            daily_credits or base.daily_credits,
        )
        share = batch_share or (current.batch_share if current else self.config.batch_share)
        if not 0 < share < 1:
            raise ValueError("the batch share must be between 0 and 1 (0.8 keeps 20%)")
        row = await self.store.put_org(
            tenant, limits=limits, batch_share=share, source=source, now=time.time()
        )
        for local in list(self._loops.values()):
            if tenant in local.orgs:
                local.orgs[tenant].update(row)
        return row

    async def learn_org(self, tenant: str, answer: Any) -> OrgRow:
        """Size ``tenant``'s budget from Zoho's ``GET /org`` answer (its edition and user
        licences); :class:`ValueError` when the answer names no edition."""
        try:
            details = answer["org"][0]["license_details"]
            edition = str(details["paid_type"])
            users = int(details.get("users_license_purchased") or 0)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError("Zoho's /org answer names no edition (license_details)") from exc
        return await self.set_limits(tenant, edition=edition, users=users, source="org")

    # --- the keeper -------------------------------------------------------------------------

    def _keep(self, local: Local) -> None:
        if local.keeper is None or local.keeper.done():
            local.keeper = local.start(self._keeper(local))

    async def _keeper(self, local: Local) -> None:
        c = self.config
        delay = c.tick
        try:
            while local.holds_anything() and not local.closed:
                await asyncio.sleep(delay)
                if local.closed:
                    break
                try:
                    calm = await self._tend(local)
                except ZohoError as exc:
                    log.warning("the budget keeper could not reach the database: %s", exc)
                    calm = False
                # While no org is paused and nobody waits, it looks less often (the budget's
                # database work on a bulk write): a pause still reaches it within CALM_TICKS.
                delay = min(CALM_TICKS * c.tick, 2 * delay) if calm else c.tick
        finally:
            local.keeper = None

    async def _tend(self, local: Local) -> bool:
        """One look after what this loop holds; whether all was calm (no pause, nobody
        waiting here or elsewhere)."""
        c = self.config
        now, mono = time.time(), time.monotonic()
        for pool in list(local.pools.values()):
            if mono - pool.touched >= c.linger:
                await self.grants.linger_out(local, pool)
        for account in list(local.accounts.values()):
            if account.left and mono - account.touched >= c.credit_linger:
                await self._refund(account)
        await self._write_zoho_counts(local)
        tenants = {p.tenant for p in local.pools.values() if p.capacity or p.queue}
        if not tenants:
            return True
        renew = now - local.renewed >= c.lease / RENEWALS
        rows, wanted = await self.store.look(
            owner=local.owner,
            tenants=tenants,
            now=now,
            renew_until=now + c.lease if renew else None,
        )
        if renew:
            local.renewed = now
        for row in rows:
            org = local.orgs[row.tenant]
            org.update(row)
            org.wanted = wanted[row.tenant]
            for pool in org.pools:  # slots freed before it heard that others want them
                self.grants.offer(local, pool, org)
        # A pool queueing at its lane's whole share waits for its own calls, not the fleet.
        waiting = any(p.queue and room(p, local.orgs[p.tenant]) for p in local.pools.values())
        paused = any(local.orgs[t].paused_until > now for t in tenants)
        return not (waiting or paused or any(wanted.values()))

    async def _write_zoho_counts(self, local: Local) -> None:
        for tenant, org in list(local.orgs.items()):
            if org.remaining is not None:
                used = max(0, org.row.limits.daily_credits - org.remaining)
                day, org.remaining = org.remaining_day, None
                await self.store.note_zoho_used(tenant=tenant, day=day, used=used)

    async def aclose(self) -> None:
        """Give back what this event loop holds (slots, unspent credits) and stop its tasks."""
        loop = asyncio.get_running_loop()
        local = self._loops.pop(loop, None)
        if local is None:
            return
        local.closed = True
        if local.listener is not None:
            await local.listener.close()
        # Let a statement under way finish (cancelled mid-statement, its clean-up could
        # outlive the engine), then cancel what still waits.
        tasks = list(local.tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.store.timeout + self.config.tick)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        try:
            await self._write_zoho_counts(local)
            for account in local.accounts.values():
                if account.left:
                    await self._refund(account)
            if any(p.capacity for p in local.pools.values()):
                for pool in local.pools.values():
                    SLOTS[pool.lane].dec(pool.capacity)
                await self.store.drop(local.owner)
        except ZohoError as exc:
            log.warning("could not give the budget back on close (the lease will): %s", exc)

    # --- what it shows ----------------------------------------------------------------------

    async def status(self, tenant: str | None = None) -> list[BudgetState]:
        """Every org's budget (or ``tenant``'s) as the fleet holds it now."""
        now = time.time()
        day = self.day()
        return [
            BudgetState.of(use, now=now, resets_at=next_day(day))
            for use in await self.store.use(day=day, now=now, tenant=tenant)
        ]
