"""The webhook tables' statements: endpoints (secrets sealed with the token keys), the
fan-out of outbox events into deliveries, claiming due deliveries under a lease, and the
delivery log.

Every write is one short transaction. Claims are conditional UPDATEs (``status`` pending,
due, lease free), so of several workers racing for a delivery exactly one wins; the
fan-out reads undispatched events ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one
writer), and the unique ``(endpoint_id, event_id)`` makes a repeated fan-out harmless.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import dialect_insert, from_row, where_given
from ..events import Event, outbox_events
from ..tokens import Cipher
from ._models import Attempt, Delivery, Endpoint
from ._tables import webhook_attempts, webhook_deliveries, webhook_endpoints

__all__ = ["Claimed", "WebhookStore", "new_id"]

#: Events fanned out per transaction.
FAN_OUT_BATCH = 500

E, D, A, V = webhook_endpoints.c, webhook_deliveries.c, webhook_attempts.c, outbox_events.c


def new_id(prefix: str) -> str:
    """A random id with a readable prefix (``ep_``, ``dlv_``)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def _insert_ignore(conn: AsyncConnection, table: Any) -> Any:
    return dialect_insert(conn, table).on_conflict_do_nothing()


def _endpoint(row: Any, now: datetime | None = None) -> Endpoint:
    until = row.previous_expires_at if row.previous_secret_enc else None
    if until is not None and now is not None and until <= now:
        until = None
    return from_row(
        Endpoint,
        row,
        event_types=tuple(json.loads(row.event_types)),
        enabled=bool(row.enabled),
        previous_secret_until=until,
    )


def _delivery(row: Any) -> Delivery:
    return from_row(Delivery, row, event_type=row.type)


_DELIVERY_ROWS = select(webhook_deliveries, V.type, V.tenant).join(
    outbox_events, V.id == D.event_id
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of, with what sending it needs."""

    delivery: Delivery
    event: Event
    url: str
    secrets: tuple[str, ...] = field(repr=False)


class WebhookStore:
    """Rows of the webhook tables; secrets in and out through ``cipher``."""

    def __init__(self, engine: AsyncEngine, cipher: Cipher) -> None:
        self.engine = engine
        self._cipher = cipher

    def __repr__(self) -> str:
        return "WebhookStore()"

    @staticmethod
    def _context(endpoint_id: str) -> str:
        return f"webhook\x00{endpoint_id}\x00secret"

    def _seal(self, endpoint_id: str, secret: str) -> str:
        return self._cipher.encrypt(secret, context=self._context(endpoint_id))

    def _open(self, endpoint_id: str, stored: str) -> str:
        return self._cipher.decrypt(stored, context=self._context(endpoint_id))

    # --- endpoints --------------------------------------------------------------------------

    async def add_endpoint(
        self,
        url: str,
        *,
        secret: str,
        description: str,
        tenant: str | None,
        event_types: Sequence[str],
        now: datetime,
    ) -> Endpoint:
        """Store a new, enabled endpoint."""
        endpoint_id = new_id("ep")
        values = {
            "id": endpoint_id,
            "url": url,
            "description": description,
            "tenant": tenant,
            "event_types": json.dumps(sorted(set(event_types))),
            "secret_enc": self._seal(endpoint_id, secret),
            "enabled": True,
            "created_at": now,
            "updated_at": now,
        }
        async with self.engine.begin() as conn:
            await conn.execute(insert(webhook_endpoints).values(**values))
        found = await self.get_endpoint(endpoint_id)
        assert found is not None
        return found

    async def get_endpoint(
        self, endpoint_id: str, *, now: datetime | None = None
    ) -> Endpoint | None:
        """One endpoint, or ``None``."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(webhook_endpoints).where(E.id == endpoint_id))).first()
        return _endpoint(row, now) if row is not None else None

    async def list_endpoints(
        self, *, tenant: str | None = None, now: datetime | None = None
    ) -> list[Endpoint]:
        """Every endpoint by creation (with ``tenant``: those limited to it)."""
        query = select(webhook_endpoints).order_by(E.created_at, E.id)
        if tenant is not None:
            query = query.where(E.tenant == tenant)
        async with self.engine.connect() as conn:
            return [_endpoint(row, now) for row in await conn.execute(query)]

    async def update_endpoint(self, endpoint_id: str, *, now: datetime, **values: Any) -> bool:
        """Change ``url``, ``description``, ``event_types`` (a list) or ``enabled``."""
        if "event_types" in values:
            values["event_types"] = json.dumps(sorted(set(values["event_types"])))
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(webhook_endpoints)
                .where(E.id == endpoint_id)
                .values(**values, updated_at=now)
            )
        return bool(done.rowcount)

    async def rotate_secret(
        self, endpoint_id: str, secret: str, *, now: datetime, keep_previous: timedelta
    ) -> bool:
        """Sign with ``secret`` from now on; the current one keeps signing too until
        ``now + keep_previous`` (zero: not at all)."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(E.secret_enc).where(E.id == endpoint_id))).first()
            if row is None:
                return False
            keep = keep_previous > timedelta(0)
            await conn.execute(
                update(webhook_endpoints)
                .where(E.id == endpoint_id)
                .values(
                    secret_enc=self._seal(endpoint_id, secret),
                    previous_secret_enc=row.secret_enc if keep else None,
                    previous_expires_at=now + keep_previous if keep else None,
                    updated_at=now,
                )
            )
        return True

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        """Forget an endpoint with its deliveries and their log."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(webhook_attempts).where(A.endpoint_id == endpoint_id))
            await conn.execute(delete(webhook_deliveries).where(D.endpoint_id == endpoint_id))
            gone = await conn.execute(delete(webhook_endpoints).where(E.id == endpoint_id))
        return bool(gone.rowcount)

    def _secrets(self, row: Any, now: datetime) -> tuple[str, ...]:
        current = self._open(row.id, row.secret_enc)
        if row.previous_secret_enc and row.previous_expires_at and row.previous_expires_at > now:
            return (current, self._open(row.id, row.previous_secret_enc))
        return (current,)

    async def secrets_of(self, endpoint_id: str, *, now: datetime) -> tuple[str, ...]:
        """The secrets that sign for the endpoint now, current first."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(webhook_endpoints).where(E.id == endpoint_id))).first()
        return self._secrets(row, now) if row is not None else ()

    # --- fan-out and claims -----------------------------------------------------------------

    async def fan_out(self, *, now: datetime) -> int:
        """Turn undispatched events into one pending delivery per endpoint that wants them
        (enabled, made before the event); returns the deliveries created."""
        created = 0
        while True:
            async with self.engine.begin() as conn:
                events = (
                    await conn.execute(
                        select(V.id, V.type, V.tenant, V.created_at)
                        .where(V.dispatched_at.is_(None))
                        .order_by(V.created_at, V.id)
                        .limit(FAN_OUT_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not events:
                    return created
                endpoints = [
                    _endpoint(row)
                    for row in await conn.execute(
                        select(webhook_endpoints).where(E.enabled.is_(True))
                    )
                ]
                rows = [
                    {
                        "id": new_id("dlv"),
                        "endpoint_id": endpoint.id,
                        "event_id": event.id,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "round_started_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for event in events
                    for endpoint in endpoints
                    if endpoint.created_at <= event.created_at
                    and endpoint.wants(event.type, event.tenant)
                ]
                if rows:
                    result = await conn.execute(_insert_ignore(conn, webhook_deliveries), rows)
                    created += max(0, result.rowcount)
                await conn.execute(
                    update(outbox_events)
                    .where(V.id.in_([event.id for event in events]))
                    .values(dispatched_at=now)
                )

    @staticmethod
    def _due(now: datetime) -> Any:
        return and_(
            D.status == "pending",
            D.next_attempt_at <= now,
            or_(D.lease_until.is_(None), D.lease_until <= now),
        )

    async def claim_due(
        self, *, owner: str, now: datetime, until: datetime, limit: int
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries of enabled endpoints to ``owner``."""
        async with self.engine.connect() as conn:
            candidates = (
                await conn.execute(
                    select(D.id)
                    .join(webhook_endpoints, E.id == D.endpoint_id)
                    .where(self._due(now), E.enabled.is_(True))
                    .order_by(D.next_attempt_at, D.id)
                    .limit(limit)
                )
            ).scalars()
            ids = list(candidates)
        claimed: list[Claimed] = []
        for delivery_id in ids:
            async with self.engine.begin() as conn:
                won = await conn.execute(
                    update(webhook_deliveries)
                    .where(D.id == delivery_id, self._due(now))
                    .values(lease_owner=owner, lease_until=until)
                )
                if won.rowcount != 1:
                    continue  # another worker took it
                row = (
                    await conn.execute(
                        _DELIVERY_ROWS.add_columns(V.created_at.label("event_at"), V.data).where(
                            D.id == delivery_id
                        )
                    )
                ).one()
                endpoint = (
                    await conn.execute(select(webhook_endpoints).where(E.id == row.endpoint_id))
                ).one()
            event = Event(row.event_id, row.type, row.tenant, row.event_at, json.loads(row.data))
            claimed.append(
                Claimed(_delivery(row), event, endpoint.url, self._secrets(endpoint, now))
            )
        return claimed

    async def record_attempt(
        self,
        claimed: Claimed,
        *,
        owner: str,
        attempted_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        next_attempt_at: datetime | None,
        succeeded: bool,
    ) -> None:
        """Log one attempt and move the delivery on (done, retry at ``next_attempt_at``, or
        failed when that is ``None``), releasing the lease; nothing if the lease was lost."""
        d = claimed.delivery
        attempt = d.attempts + 1
        status = "succeeded" if succeeded else ("pending" if next_attempt_at else "failed")
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                update(webhook_deliveries)
                .where(D.id == d.id, D.lease_owner == owner, D.status == "pending")
                .values(
                    status=status,
                    attempts=attempt,
                    next_attempt_at=None if status != "pending" else next_attempt_at,
                    last_attempt_at=attempted_at,
                    last_status_code=status_code,
                    last_error=error,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=attempted_at,
                )
            )
            if moved.rowcount != 1:
                return  # the lease ran out and another worker took over: its log counts
            await conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=d.id,
                    endpoint_id=d.endpoint_id,
                    event_id=d.event_id,
                    attempt=attempt,
                    attempted_at=attempted_at,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )

    async def next_due(self) -> datetime | None:
        """The earliest ``next_attempt_at`` of a pending delivery of an enabled endpoint."""
        async with self.engine.connect() as conn:
            due: datetime | None = (
                await conn.execute(
                    select(D.next_attempt_at)
                    .join(webhook_endpoints, E.id == D.endpoint_id)
                    .where(D.status == "pending", E.enabled.is_(True))
                    .order_by(D.next_attempt_at)
                    .limit(1)
                )
            ).scalar()
        return due

    # --- the log ----------------------------------------------------------------------------

    async def deliveries(
        self,
        *,
        endpoint_id: str | None = None,
        event_id: str | None = None,
        status: str | None = None,
        tenant: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """Deliveries, newest first, filtered as given."""
        query = where_given(
            _DELIVERY_ROWS.order_by(D.created_at.desc(), D.id.desc()).limit(limit),
            (D.endpoint_id, endpoint_id),
            (D.event_id, event_id),
            (D.status, status),
            (V.tenant, tenant),
        )
        async with self.engine.connect() as conn:
            return [_delivery(row) for row in await conn.execute(query)]

    async def delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery, or ``None``."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_DELIVERY_ROWS.where(D.id == delivery_id))).first()
        return _delivery(row) if row is not None else None

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        """A delivery's log, oldest first."""
        query = (
            select(webhook_attempts).where(A.delivery_id == delivery_id).order_by(A.attempt, A.id)
        )
        async with self.engine.connect() as conn:
            return [
                Attempt(
                    r.delivery_id, r.attempt, r.attempted_at, r.status_code, r.error, r.duration_ms
                )
                for r in await conn.execute(query)
            ]

    async def prune(self, *, before: datetime) -> int:
        """Forget what finished before ``before``: succeeded and given-up deliveries with
        their log, and events whose deliveries are all gone (never one still pending).
        Returns the deliveries removed."""
        done = and_(D.status.in_(("succeeded", "failed")), D.updated_at < before)
        async with self.engine.begin() as conn:
            old = select(D.id).where(done).scalar_subquery()
            await conn.execute(delete(webhook_attempts).where(A.delivery_id.in_(old)))
            removed = await conn.execute(delete(webhook_deliveries).where(done))
            waiting = select(D.event_id).where(D.event_id == V.id).exists()
            await conn.execute(delete(outbox_events).where(V.dispatched_at < before, ~waiting))
        return int(removed.rowcount)

    async def redeliver(self, delivery_id: str, *, now: datetime) -> bool:
        """Send a delivery again from now, whatever its status: a new round of retries."""
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(webhook_deliveries)
                .where(D.id == delivery_id)
                .values(
                    status="pending",
                    next_attempt_at=now,
                    round_started_at=now,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
        return bool(done.rowcount)
