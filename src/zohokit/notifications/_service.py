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
import contextlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..crm import ZohoCRMService
from ..db import dialect_insert
from ..errors import BadRequest, ConfigurationError, ZohoError
from ..sync import Change, Cursor, Ledger, RunReport, pull
from ..tokens import Cipher
from . import _api
from ._changes import ChangeHandler, RecordChange, apply
from ._fetch import fetch_changes
from ._inbox import InboxItem, claim, done, failed, parse, store
from ._tables import notification_channels

__all__ = [
    "DEFAULT_LIFETIME",
    "RECONCILE_CURSORS",
    "RECONCILE_INTERVAL",
    "RENEW_MARGIN",
    "Channel",
    "NotificationRefused",
    "Notifications",
    "Received",
]

log = logging.getLogger("zohokit.notifications")

#: How long zohokit asks a channel to live: under Zoho's week (v4 on), so a clock a little
#: ahead of Zoho's never asks past it (Zoho would then give one hour, silently).
DEFAULT_LIFETIME = timedelta(days=6)
#: A channel is renewed this long before it expires.
RENEW_MARGIN = timedelta(days=1)
#: How often the reconcile pull runs per tenant and module.
RECONCILE_INTERVAL = timedelta(minutes=10)
#: The reconcile pull's own cursors (records, deletions) in ``sync_cursors``.
RECONCILE_CURSORS = ("notify:records", "notify:deleted")
#: A processor's hold on the inbox rows it took.
INBOX_LEASE = timedelta(seconds=60)
_ALL_OPERATIONS = ("create", "edit", "delete")


class NotificationRefused(ZohoError):
    """A notification for a channel zohokit does not know (or disabled), or with the wrong
    token: it is not stored. The message never shows the token."""


@dataclass(frozen=True)
class Channel:
    """One tenant's notification channel on one module (its token is never shown)."""

    tenant: str
    module: str
    channel_id: str
    notify_url: str
    operations: tuple[str, ...]
    status: Literal["active", "disabled"]
    expires_at: datetime | None
    renewed_at: datetime | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        """As ``zohokit notifications list --json`` prints it."""
        return {
            "tenant": self.tenant,
            "module": self.module,
            "channel_id": self.channel_id,
            "notify_url": self.notify_url,
            "events": [f"{self.module}.{op}" for op in self.operations],
            "status": self.status,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "renewed_at": self.renewed_at.isoformat() if self.renewed_at else None,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Received:
    """What :meth:`Notifications.receive` did: whose notification, and whether it was new
    (``False``: a copy of one already stored)."""

    tenant: str
    module: str
    stored: bool


def _channel(row: Any) -> Channel:
    return Channel(
        row.tenant,
        row.module,
        row.channel_id,
        row.notify_url,
        tuple(row.events.split(",")),
        row.status,
        row.expires_at,
        row.renewed_at,
        row.last_error,
    )


def _context(channel_id: str) -> str:
    return f"notification_channels\x00{channel_id}\x00token"


@dataclass(frozen=True)
class _Parts:
    """What the service uses, under the names a root gives them."""

    engine: AsyncEngine
    cipher: Cipher
    ledger: Ledger
    crm: Callable[[str], ZohoCRMService]
    clock: Clock
    _migrate: Callable[[], Awaitable[None]] | None

    async def migrate(self) -> None:
        if self._migrate is not None:
            await self._migrate()


class Notifications:
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
        self._zoho = _Parts(engine, cipher, ledger, crm_for, clock, migrate)
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

    # --- channels ------------------------------------------------------------------------

    async def channels(self, tenant: str | None = None) -> list[Channel]:
        """The channels zohokit keeps (every tenant's, or one's), by tenant and module."""
        await self._zoho.migrate()
        c = notification_channels.c
        query = select(notification_channels).order_by(c.tenant, c.module)
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        async with self._zoho.engine.connect() as conn:
            return [_channel(row) for row in await conn.execute(query)]

    async def _row(self, tenant: str, module: str) -> Any:
        c = notification_channels.c
        async with self._zoho.engine.connect() as conn:
            return (
                await conn.execute(
                    select(notification_channels).where(c.tenant == tenant, c.module == module)
                )
            ).first()

    async def enable(
        self,
        tenant: str,
        module: str,
        *,
        notify_url: str,
        operations: Sequence[str] = _ALL_OPERATIONS,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> Channel:
        """Watch ``module`` of ``tenant``'s CRM: enable a channel at Zoho that posts to
        ``notify_url`` (the public URL of ``zohokit serve`` + ``/zoho/notifications``).

        Enabling a module that has a channel keeps its id and token (and renews it). The
        reconcile pull starts from now: changes made before are not replayed.
        """
        wrong = [op for op in operations if op not in _ALL_OPERATIONS]
        if wrong or not operations:
            raise ConfigurationError(
                f"operations must be some of {', '.join(_ALL_OPERATIONS)}, not {wrong or '[]'}"
            )
        if not notify_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"notify_url must be an http(s) URL, e.g. https://zoho.example.com"
                f"/zoho/notifications, not {notify_url!r}",
                variables=("ZOHOKIT_PUBLIC_URL",),
            )
        await self._zoho.migrate()
        row = await self._row(tenant, module)
        channel_id = (
            row.channel_id if row is not None else str(secrets.randbelow(9 * 10**17) + 10**17)
        )
        cipher = self._zoho.cipher
        token = (
            cipher.decrypt(row.token, context=_context(channel_id))
            if row is not None
            else secrets.token_urlsafe(32)
        )
        now = self._zoho.clock()
        expires = await _api.enable(
            self._zoho.crm(tenant),
            channel_id=channel_id,
            module=module,
            operations=list(operations),
            notify_url=notify_url,
            token=token,
            expiry=now + lifetime,
        )
        values = {
            "tenant": tenant,
            "module": module,
            "token": cipher.encrypt(token, context=_context(channel_id)),
            "notify_url": notify_url,
            "events": ",".join(op for op in _ALL_OPERATIONS if op in operations),
            "status": "active",
            "expires_at": expires,
            "renewed_at": now,
            "last_error": None,
            "updated_at": now,
        }
        async with self._zoho.engine.begin() as conn:
            stmt = dialect_insert(conn, notification_channels).values(
                channel_id=channel_id, created_at=now, **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["channel_id"], set_=values)
            )
        ledger = self._zoho.ledger
        if (await ledger.cursor(tenant, module, RECONCILE_CURSORS[0])).position is None:
            for name in RECONCILE_CURSORS:
                await ledger.save_cursor(tenant, module, name, Cursor(now, frozenset()))
        row = await self._row(tenant, module)
        return _channel(row)

    async def renew(self, tenant: str, module: str) -> Channel:
        """Renew ``tenant``'s channel on ``module`` now (as it was enabled)."""
        row = await self._row(tenant, module)
        if row is None or row.status != "active":
            raise ConfigurationError(
                f"{tenant} has no active notification channel on {module}: "
                f"zohokit notifications enable --tenant {tenant} --module {module}"
            )
        return await self.enable(
            tenant, module, notify_url=row.notify_url, operations=row.events.split(",")
        )

    async def renew_due(
        self, *, now: datetime | None = None, margin: timedelta = RENEW_MARGIN
    ) -> datetime | None:
        """Renew every active channel that expires within ``margin``; returns when the next
        one is due (``None``: no active channel). A channel whose renewal fails keeps its
        ``last_error`` and is tried again on the next call; the others go on."""
        moment = now or self._zoho.clock()
        failure: Exception | None = None
        for channel in await self.channels():
            if channel.status != "active":
                continue
            if channel.expires_at is None or channel.expires_at - margin <= moment:
                try:
                    await self.renew(channel.tenant, channel.module)
                except ZohoError as exc:
                    failure = failure or exc
                    await self._note_error(channel.channel_id, f"{type(exc).__name__}: {exc}")
                    log.warning(
                        "renewing the notification channel of %s on %s failed: %s",
                        channel.tenant,
                        channel.module,
                        type(exc).__name__,
                    )
        due = [
            c.expires_at - margin
            for c in await self.channels()
            if c.status == "active" and c.expires_at is not None
        ]
        if failure is not None:
            raise failure
        return min(due) if due else None

    async def _note_error(self, channel_id: str, error: str) -> None:
        c = notification_channels.c
        async with self._zoho.engine.begin() as conn:
            await conn.execute(
                update(notification_channels)
                .where(c.channel_id == channel_id)
                .values(last_error=error[:1000], updated_at=self._zoho.clock())
            )

    async def disable(self, tenant: str, module: str) -> bool:
        """Stop watching ``module`` of ``tenant``: disabled at Zoho and here. Whether there
        was an active channel."""
        row = await self._row(tenant, module)
        if row is None or row.status != "active":
            return False
        # A channel Zoho no longer knows (it expired) is disabled all the same.
        with contextlib.suppress(BadRequest):
            await _api.disable(self._zoho.crm(tenant), [row.channel_id])
        c = notification_channels.c
        async with self._zoho.engine.begin() as conn:
            await conn.execute(
                update(notification_channels)
                .where(c.channel_id == row.channel_id)
                .values(status="disabled", updated_at=self._zoho.clock())
            )
        return True

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
            self._zoho.cipher.decrypt(row.token, context=_context(row.channel_id))
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
        async with engine.begin() as conn:
            stored = await store(conn, note, row.tenant, self._zoho.clock())
        return Received(row.tenant, row.module, stored)

    def kick(self, tenant: str) -> None:
        """Process ``tenant``'s inbox soon, in this process (what ``zohokit serve`` does
        after storing a notification; the worker's job is the durable path)."""
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
