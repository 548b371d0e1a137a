"""Channel management, the part of :class:`~zohokit.notifications.Notifications` that talks
to Zoho's Notification API: enable (with a fresh id and token, or the stored ones), renew
before expiry, disable, list, and re-seal the tokens after a key rotation.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock
from ..crm import ZohoCRMService
from ..db import dialect_insert, json_ready
from ..errors import BadRequest, ConfigurationError, ZohoError
from ..jobs import schedule
from ..sync import Cursor, Ledger
from ..tokens import Cipher
from . import _api
from ._tables import notification_channels

__all__ = [
    "DEFAULT_LIFETIME",
    "RECONCILE_CURSORS",
    "RENEW_MARGIN",
    "Channel",
    "ChannelOps",
    "Parts",
    "token_context",
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
_ALL_OPERATIONS = ("create", "edit", "delete")


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
        events = [f"{self.module}.{op}" for op in self.operations]
        return json_ready(self, skip=("operations",), events=events)


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


def token_context(channel_id: str) -> str:
    """What a channel's sealed token is bound to (a token cannot be moved to another row)."""
    return f"notification_channels\x00{channel_id}\x00token"


@dataclass(frozen=True)
class Parts:
    """What the service uses, under the names a root gives them."""

    engine: AsyncEngine
    cipher: Cipher
    ledger: Ledger
    crm: Callable[[str], ZohoCRMService]
    clock: Clock
    _migrate: Callable[[], Awaitable[None]] | None

    async def migrate(self) -> None:
        """Bring the database to the latest migration (the root does it once)."""
        if self._migrate is not None:
            await self._migrate()


class ChannelOps:
    """The channel half of :class:`~zohokit.notifications.Notifications` (kept apart so each
    module holds one idea); it works on ``self._zoho``, the service's parts."""

    _zoho: Parts

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
            cipher.decrypt(row.token, context=token_context(channel_id))
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
            "token": cipher.encrypt(token, context=token_context(channel_id)),
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
            # The worker's jobs for it, with the channel (see ``_jobs``).
            await schedule(
                conn,
                "notifications.reconcile",
                f"{tenant}:{module}",
                now + RECONCILE_INTERVAL,
                tenant=tenant,
                payload={"tenant": tenant, "module": module},
                if_absent=True,
            )
            await schedule(
                conn, "notifications.renew", "all", expires - RENEW_MARGIN, if_absent=True
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

    async def reseal(self) -> int:
        """Seal every channel's token with the primary key (after a key rotation); returns
        the channels changed."""
        cipher = self._zoho.cipher
        c = notification_channels.c
        changed = 0
        async with self._zoho.engine.begin() as conn:
            rows = (await conn.execute(select(c.channel_id, c.token))).all()
            for row in rows:
                if cipher.key_id_of(row.token) == cipher.primary_key_id:
                    continue
                context = token_context(row.channel_id)
                token = cipher.decrypt(row.token, context=context)
                await conn.execute(
                    update(notification_channels)
                    .where(c.channel_id == row.channel_id, c.token == row.token)
                    .values(token=cipher.encrypt(token, context=context))
                )
                changed += 1
        return changed

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
