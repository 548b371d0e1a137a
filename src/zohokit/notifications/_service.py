"""``zoho.notifications``: Zoho CRM notification channels per tenant and module, kept alive,
received once, and turned into record changes; with a reconcile pull behind them.

::

    @zoho.notifications.on_change
    async def changed(change: RecordChange) -> None: ...

    await zoho.notifications.enable("acme", "Contacts", notify_url=PUBLIC + "/zoho/notifications")
    # zohokit serve receives them; the worker (or zohokit notifications process) fetches the
    # notified records, hands them to the handlers, the ledger and the outbox;
    await zoho.notifications.renew_due()          # before each channel expires
    await zoho.notifications.reconcile("acme", "Contacts")  # what a lost notification missed

Channel ids are random 18-digit numbers and each channel has its own random token, sealed at
rest with the token keys; a notification is accepted only with the right pair, compared in
constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..crm import ZohoCRMService
from ..errors import ZohoError
from ..jobs import schedule
from ..sync import Change, Ledger, RunReport, pull
from ..tokens import Cipher
from ._changes import ChangeHandler, RecordChange, apply
from ._channels import RECONCILE_CURSORS, ChannelOps, Parts, token_context
from ._fetch import fetch_changes
from ._inbox import InboxItem, claim, done, failed, parse, prune, store
from ._tables import notification_channels

__all__ = [
    "NotificationRefused",
    "Notifications",
    "Received",
]

log = logging.getLogger("zohokit.notifications")

#: A processor's hold on the inbox rows it took.
INBOX_LEASE = timedelta(seconds=60)
#: How long a processed notification stays in the inbox (to tell a late duplicate).
INBOX_KEEP = timedelta(days=7)


class NotificationRefused(ZohoError):
    """A notification for a channel zohokit does not know (or disabled), or with the wrong
    token: it is not stored. The message never shows the token."""


@dataclass(frozen=True)
class Received:
    """What :meth:`Notifications.receive` did: whose notification, and whether it was new
    (``False``: a copy of one already stored)."""

    tenant: str
    module: str
    stored: bool


class Notifications(ChannelOps):
    """Channels, the inbox and the reconcile pull on one database (a :class:`~zohokit.Zoho`
    root builds it: ``zoho.notifications``). ``crm_for(tenant)`` gives a tenant's CRM
    service; ``cipher`` seals the channels' tokens; ``clock`` is the time of every row;
    ``handlers`` is the list :meth:`on_change` adds to.

    Handlers registered with :meth:`on_change` run in the process that processes the inbox
    and the reconcile pull (the worker): register them where that runs.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cipher: Cipher,
        ledger: Ledger,
        crm_for: Callable[[str], ZohoCRMService],
        clock: Clock = system_clock,
        migrate: Callable[[], Awaitable[None]] | None = None,
        handlers: list[tuple[ChangeHandler, str | None, str | None]] | None = None,
    ) -> None:
        self._zoho = Parts(engine, cipher, ledger, crm_for, clock, migrate)
        #: (handler, module, tenant); a list handed in is shared (the root's outlives this).
        self._handlers = handlers if handlers is not None else []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    # --- handlers ------------------------------------------------------------------------

    def on_change(
        self,
        handler: ChangeHandler | None = None,
        /,
        *,
        module: str | None = None,
        tenant: str | None = None,
    ) -> Any:
        """Register ``handler(change: RecordChange)`` (sync or async) for record changes,
        of one ``module`` and/or ``tenant`` when given; usable as a decorator, with or
        without arguments. Returns the handler."""

        def register(fn: ChangeHandler) -> ChangeHandler:
            self._handlers.append((fn, module, tenant))
            return fn

        return register(handler) if handler is not None else register

    def _handlers_for(self, tenant: str, module: str) -> list[ChangeHandler]:
        return [
            fn
            for fn, mod, ten in self._handlers
            if (mod is None or mod == module) and (ten is None or ten == tenant)
        ]

    # --- receiving -----------------------------------------------------------------------

    async def receive(self, body: Any) -> Received:
        """Check a notification Zoho posted (the decoded JSON body) and store it once.

        Raises :class:`~zohokit.notifications.InvalidNotification` for a
        body that is not a notification and :class:`NotificationRefused` for an unknown or
        disabled channel or a wrong token."""
        note = parse(body)
        c = notification_channels.c
        engine = self._zoho.engine
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(notification_channels).where(c.channel_id == note.channel_id)
                )
            ).first()
        expected = (
            self._zoho.cipher.decrypt(row.token, context=token_context(row.channel_id))
            if row is not None
            else secrets.token_urlsafe(32)  # compare all the same: no timing difference
        )
        given = note.token or ""
        matches = hmac.compare_digest(expected.encode(), given.encode())
        if row is None or row.status != "active" or not matches:
            raise NotificationRefused(
                f"no active notification channel {note.channel_id} with that token"
            )
        if note.module.lower() != row.module.lower():
            raise NotificationRefused(
                f"channel {note.channel_id} watches {row.module}, not {note.module}",
                tenant=row.tenant,
            )
        now = self._zoho.clock()
        async with engine.begin() as conn:
            stored = await store(conn, note, row.tenant, now)
            if stored:
                # The durable path: a worker processes it even if this process dies now.
                await schedule(conn, "notifications.inbox", row.tenant, now, tenant=row.tenant)
        return Received(row.tenant, row.module, stored)

    def kick(self, tenant: str) -> None:
        """Process ``tenant``'s inbox soon, in this process, if handlers are registered here
        (what ``zohokit serve`` does after storing a notification). Without handlers the
        worker's job processes it: the process whose handlers should see a change is the
        one that processes it."""
        if not self._handlers:
            return
        task = self._running.get(tenant)
        if task is not None and not task.done():
            self._again.add(tenant)
            return
        self._running[tenant] = asyncio.get_running_loop().create_task(self._drain(tenant))

    async def _drain(self, tenant: str) -> None:
        while True:
            self._again.discard(tenant)
            try:
                await self.process(tenant)
            except Exception as exc:  # the worker's job tries again; nothing is lost
                log.warning("processing %s's notifications failed: %s", tenant, type(exc).__name__)
            if tenant not in self._again:
                return

    async def aclose(self) -> None:
        """Stop the processing :meth:`kick` started."""
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    # --- processing ----------------------------------------------------------------------

    async def process(self, tenant: str | None = None, *, limit: int = 200) -> int:
        """Turn pending notifications (of ``tenant``, or all) into fetched records for the
        ledger, the handlers and the outbox; returns how many changes were delivered."""
        await self._zoho.migrate()
        engine, clock = self._zoho.engine, self._zoho.clock
        delivered = 0
        failure: Exception | None = None
        while True:
            items = await claim(engine, tenant=tenant, now=clock(), lease=INBOX_LEASE, limit=limit)
            if not items:
                break
            groups: dict[tuple[str, str], list[InboxItem]] = {}
            for item in items:
                groups.setdefault((item.tenant, item.module), []).append(item)
            for (owner, module), group in groups.items():
                try:
                    changes = await fetch_changes(self._zoho.crm(owner), module, group)

                    async def finish(conn: Any, group: list[InboxItem] = group) -> None:
                        await done(conn, group, clock())

                    delivered += len(
                        await apply(
                            engine,
                            self._zoho.ledger,
                            changes,
                            self._handlers_for(owner, module),
                            now=clock(),
                            also=finish,
                        )
                    )
                except Exception as exc:
                    failure = failure or exc
                    await failed(engine, group, f"{type(exc).__name__}: {exc}")
            if failure is not None or len(items) < limit:
                break
        if failure is not None:
            raise failure
        return delivered

    async def prune(self, *, keep: timedelta = INBOX_KEEP) -> int:
        """Forget the notifications processed more than ``keep`` ago; how many went."""
        return await prune(self._zoho.engine, self._zoho.clock() - keep)

    # --- the reconcile pull --------------------------------------------------------------

    async def reconcile(self, tenant: str, module: str) -> RunReport:
        """Pull what changed in ``module`` since the last reconcile (``If-Modified-Since``
        with an overlap, ties broken by (``Modified_Time``, id)), so a notification that
        never came loses nothing. Changes go the same way as notified ones, once."""
        await self._zoho.migrate()
        engine, ledger, clock = self._zoho.engine, self._zoho.ledger, self._zoho.clock
        handlers = self._handlers_for(tenant, module)

        async def take(change: Change) -> None:
            found = RecordChange(
                tenant,
                module,
                change.op,
                change.id,
                datetime.fromisoformat(change.time),
                change.record,
                (),
                "reconcile",
            )
            await apply(engine, ledger, [found], handlers, now=clock())

        return await pull(
            self._zoho.crm(tenant), ledger, module, on_change=take, cursors=RECONCILE_CURSORS
        )

    async def reconcile_all(self) -> int:
        """:meth:`reconcile` every module with an active channel; how many changes it
        delivered in all."""
        total = 0
        for channel in await self.channels():
            if channel.status == "active":
                report = await self.reconcile(channel.tenant, channel.module)
                total += report.created + report.updated + report.deleted
        return total
