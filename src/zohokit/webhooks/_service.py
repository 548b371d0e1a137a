"""``zoho.webhooks``: endpoints, the delivery log, re-delivery and the delivery rounds the
worker runs (job kind ``webhooks.deliver``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..events import EVENT_TYPES
from ..tokens import Cipher
from ._deliver import DeliveryRound, WebhookConfig, WebhookSender
from ._errors import DeliveryNotFound, EndpointNotFound, EndpointRefused
from ._models import Attempt, Delivery, Endpoint
from ._signing import InvalidSecret, generate_secret, secret_bytes
from ._store import WebhookStore
from ._urls import check_url

__all__ = ["KEEP", "ROTATION_OVERLAP", "WebhookConfig", "Webhooks"]

#: How long a rotated-out secret keeps signing beside the new one, by default.
ROTATION_OVERLAP = timedelta(hours=24)
#: How long finished deliveries, their log and their events are kept.
KEEP = timedelta(days=30)
#: The statuses a delivery can have.
STATUSES = ("pending", "succeeded", "failed")
_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def _checked_types(event_types: Sequence[str]) -> list[str]:
    wrong = [t for t in event_types if t != "*" and not _TYPE.match(t)]
    if wrong:
        known = ", ".join(EVENT_TYPES)
        raise EndpointRefused(f"not an event type: {', '.join(wrong)} (zohokit emits {known})")
    return [] if "*" in event_types else list(event_types)


class Webhooks:
    """Webhook endpoints and deliveries on one database (built by :attr:`zohokit.Zoho.webhooks`).

    Every method is a coroutine; several processes may call them at once. Errors are
    :class:`~zohokit.webhooks.WebhookError` subclasses.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cipher: Cipher,
        config: WebhookConfig | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.config = config or WebhookConfig()
        self.clock = clock
        self.store = WebhookStore(engine, cipher)
        self.sender = WebhookSender(self.store, config=self.config, clock=clock)

    def __repr__(self) -> str:
        return f"Webhooks(allow_private={self.config.allow_private})"

    async def aclose(self) -> None:
        """Close the delivery connections."""
        await self.sender.aclose()

    # --- endpoints --------------------------------------------------------------------------

    async def add(
        self,
        url: str,
        *,
        event_types: Sequence[str] = (),
        tenant: str | None = None,
        description: str = "",
        secret: str | None = None,
    ) -> tuple[Endpoint, str]:
        """Add an endpoint for ``event_types`` (empty or ``*``: every type) of ``tenant``
        (``None``: every tenant); returns it with its secret (``whsec_...``, generated
        unless given), the only time the secret is shown. Raises
        :class:`EndpointRefused` for a URL or type zohokit will not use."""
        await check_url(url, allow_private=self.config.allow_private, resolve=self.config.resolve)
        types = _checked_types(event_types)
        if secret is not None:
            try:
                secret_bytes(secret)
            except InvalidSecret as exc:
                raise EndpointRefused(exc.message) from None
        chosen = secret or generate_secret()
        endpoint = await self.store.add_endpoint(
            url,
            secret=chosen,
            description=description[:255],
            tenant=tenant,
            event_types=types,
            now=self.clock(),
        )
        return endpoint, chosen

    async def get(self, endpoint_id: str) -> Endpoint:
        """One endpoint, or :class:`EndpointNotFound`."""
        found = await self.store.get_endpoint(endpoint_id, now=self.clock())
        if found is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}; see zohokit webhooks list")
        return found

    async def endpoints(self, *, tenant: str | None = None) -> list[Endpoint]:
        """Every endpoint (with ``tenant``: those limited to that tenant)."""
        return await self.store.list_endpoints(tenant=tenant, now=self.clock())

    async def set_enabled(self, endpoint_id: str, enabled: bool) -> Endpoint:
        """Pause (``False``) or resume an endpoint; a paused one keeps its pending deliveries
        and gets no new ones."""
        if not await self.store.update_endpoint(endpoint_id, enabled=enabled, now=self.clock()):
            await self.get(endpoint_id)
        return await self.get(endpoint_id)

    async def remove(self, endpoint_id: str) -> None:
        """Forget an endpoint, its deliveries and their log."""
        if not await self.store.remove_endpoint(endpoint_id):
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}; see zohokit webhooks list")

    async def rotate_secret(
        self, endpoint_id: str, *, keep_previous: timedelta = ROTATION_OVERLAP
    ) -> str:
        """A new secret for the endpoint, returned once; the old one still signs beside it
        for ``keep_previous`` (each request then carries both signatures), so the receiver
        can switch without a gap."""
        secret = generate_secret()
        ok = await self.store.rotate_secret(
            endpoint_id, secret, now=self.clock(), keep_previous=keep_previous
        )
        if not ok:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}; see zohokit webhooks list")
        return secret

    # --- deliveries -------------------------------------------------------------------------

    async def deliveries(self, **where: Any) -> list[Delivery]:
        """Deliveries, newest first, filtered by ``endpoint_id``, ``event_id``, ``status``
        (pending, succeeded, failed) or ``tenant``; at most ``limit`` (50)."""
        status = where.get("status")
        if status is not None and status not in STATUSES:
            raise EndpointRefused(f"status is one of {', '.join(STATUSES)}, not {status!r}")
        return await self.store.deliveries(**where)

    async def delivery(self, delivery_id: str) -> Delivery:
        """One delivery, or :class:`DeliveryNotFound`."""
        found = await self.store.delivery(delivery_id)
        if found is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        return found

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        """The delivery log of one delivery, oldest attempt first."""
        await self.delivery(delivery_id)
        return await self.store.attempts(delivery_id)

    async def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery again (succeeded or given up alike), with a new round of
        retries; the worker sends it on its next round (:meth:`run_due`)."""
        if not await self.store.redeliver(delivery_id, now=self.clock()):
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        return await self.delivery(delivery_id)

    async def redeliver_failed(self, endpoint_id: str, *, limit: int = 1000) -> list[Delivery]:
        """Re-deliver every given-up delivery of an endpoint (after it was fixed)."""
        await self.get(endpoint_id)
        failed = await self.store.deliveries(endpoint_id=endpoint_id, status="failed", limit=limit)
        return [await self.redeliver(d.id) for d in failed]

    async def prune(self, *, keep: timedelta = KEEP) -> int:
        """Forget finished deliveries (and their log and events) older than ``keep``;
        returns the deliveries removed. The worker runs it daily (``webhooks.prune``)."""
        return await self.store.prune(before=self.clock() - keep)

    async def run_due(self) -> DeliveryRound:
        """One delivery round: fan new events out to endpoints, send what is due."""
        return await self.sender.run_due()

    async def next_round_at(self, round_: DeliveryRound, *, idle: timedelta) -> datetime:
        """When the next round should run: the next due delivery, and at the latest
        ``idle`` from now (new events need a round to be fanned out)."""
        latest = self.clock() + idle
        due = round_.next_due
        return latest if due is None else max(self.clock(), min(due, latest))
