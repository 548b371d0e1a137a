"""The service's own tables, ``tenants``, ``oauth_states`` and ``admin_sessions``, and the
statements on the first two (sessions: :mod:`zohokit.server._sessions`).

Times are epoch seconds (floats): the same on SQLite and PostgreSQL, no time-zone handling.
A connect ``state`` is stored as its SHA-256 only, so a database dump cannot finish someone's
connect flow, and it is consumed with one conditional UPDATE, so it works exactly once even
when two callbacks race on two instances. The state's PKCE ``code_verifier`` is kept beside
it, encrypted with the token keys, for the code exchange that consumes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db import epoch_column, tenant_column

__all__ = [
    "ConnectState",
    "StateStore",
    "Tenant",
    "TenantStore",
    "admin_sessions",
    "hash_state",
    "metadata",
    "oauth_states",
    "tenants",
]

metadata = MetaData()

#: The longest tenant key the service accepts.
_TENANT_LENGTH = 64


tenants = Table(
    "tenants",
    metadata,
    tenant_column(_TENANT_LENGTH, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("data_center", String(16), nullable=False),
    epoch_column("created_at", required=True),
    # The console's keyset pages by name and by age (migration 0015).
    Index("ix_tenants_name", "name", "tenant"),
    Index("ix_tenants_created_at", "created_at", "tenant"),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    tenant_column(_TENANT_LENGTH),
    Column("provider", String(32), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    epoch_column("created_at", required=True),
    epoch_column("expires_at", required=True),
    epoch_column("used_at"),
    # Expired states are swept by range on every new connect.
    Index("ix_oauth_states_expires_at", "expires_at"),
    #: The PKCE verifier of the flow, encrypted (``None`` for a flow started without PKCE).
    Column("code_verifier", Text),
)

admin_sessions = Table(
    "admin_sessions",
    metadata,
    # SHA-256 of the cookie's random value: a database dump cannot be replayed as a cookie.
    Column("session_hash", String(64), primary_key=True),
    Column("key_id", String(32), nullable=False),
    # None: an operator's session (every tenant).
    Column("tenant", String(_TENANT_LENGTH)),
    epoch_column("created_at", required=True),
    epoch_column("expires_at", required=True),
    Index("ix_admin_sessions_expires_at", "expires_at"),
)


def hash_state(state: str) -> str:
    """The stored form of a ``state``: hex SHA-256 (the state is random, so no salt is needed)."""
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant known to the service: a key, a display name and its Zoho data centre."""

    tenant: str
    name: str
    data_center: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ConnectState:
    """What a consumed ``state`` was bound to."""

    tenant: str
    provider: str
    redirect_uri: str
    #: The flow's PKCE verifier as stored (encrypted), or ``None``.
    code_verifier: str | None = None


class TenantStore:
    """Create, read and delete rows of ``tenants``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, tenant: str, name: str, data_center: str, now: float) -> Tenant | None:
        """Insert a tenant; ``None`` when the key is taken."""
        row = Tenant(tenant, name, data_center, now)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(tenants).values(
                        tenant=tenant, name=name, data_center=data_center, created_at=now
                    )
                )
        except IntegrityError:
            return None
        return row

    async def get(self, tenant: str) -> Tenant | None:
        """One tenant, or ``None``."""
        async with self._engine.connect() as conn:
            found = (await conn.execute(select(tenants).where(tenants.c.tenant == tenant))).first()
        return Tenant(*found) if found else None

    async def list(self, only: str | None = None) -> list[Tenant]:
        """Every tenant by key (or just ``only``)."""
        query = select(tenants).order_by(tenants.c.tenant)
        if only is not None:
            query = query.where(tenants.c.tenant == only)
        async with self._engine.connect() as conn:
            return [Tenant(*r) for r in (await conn.execute(query)).all()]

    async def delete(self, tenant: str) -> bool:
        """Remove a tenant; ``True`` if it existed."""
        async with self._engine.begin() as conn:
            result = await conn.execute(tenants.delete().where(tenants.c.tenant == tenant))
        return bool(result.rowcount)


class StateStore:
    """Single-use, expiring OAuth ``state`` values, stored hashed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(
        self,
        state: str,
        *,
        tenant: str,
        provider: str,
        redirect_uri: str,
        now: float,
        ttl: float,
        code_verifier: str | None = None,
    ) -> None:
        """Remember ``state`` (hashed) for ``ttl`` seconds, bound to tenant and provider.

        Expired states are swept on the way, so the table stays as small as the number of
        connect flows in progress.
        """
        async with self._engine.begin() as conn:
            await conn.execute(oauth_states.delete().where(oauth_states.c.expires_at < now - ttl))
            await conn.execute(
                insert(oauth_states).values(
                    state_hash=hash_state(state),
                    tenant=tenant,
                    provider=provider,
                    redirect_uri=redirect_uri,
                    created_at=now,
                    expires_at=now + ttl,
                    code_verifier=code_verifier,
                )
            )

    async def consume(self, state: str, *, now: float) -> ConnectState | None:
        """Mark ``state`` used and return its binding; ``None`` if it is unknown, expired or
        already used. Only one of several concurrent callers can win."""
        digest = hash_state(state)
        c = oauth_states.c
        async with self._engine.begin() as conn:
            won = await conn.execute(
                update(oauth_states)
                .where(c.state_hash == digest, c.used_at.is_(None), c.expires_at > now)
                .values(used_at=now)
            )
            if won.rowcount != 1:
                return None
            row = (
                await conn.execute(
                    select(c.tenant, c.provider, c.redirect_uri, c.code_verifier).where(
                        c.state_hash == digest
                    )
                )
            ).one()
        return ConnectState(row.tenant, row.provider, row.redirect_uri, row.code_verifier)
