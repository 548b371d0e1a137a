"""The ``oauth_tokens`` table and the few statements the protocol needs.

One row per (tenant, provider). Every statement is a single autocommitted statement: a SQLite
writer then takes the write lock at its first statement (and waits for it under the busy
timeout), and PostgreSQL's row lock makes the conditional UPDATEs atomic. Fleet-wide single
flight is a **lease** (a conditional UPDATE that only succeeds when nobody holds an unexpired
lease) and writes of new tokens are a **compare-and-swap** on ``version``.

The methods take ``tenant`` and ``provider`` by keyword, so the two can never be swapped.
Token columns hold ciphertext from :class:`~zohokit.tokens._crypto.Cipher`; this module never
sees a plaintext token.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import Executable

from ..db import (
    Timeouts,
    bounded,
    lease_columns,
    serial_id,
    tenant_column,
    timestamps,
    utc_column,
    where_given,
)
from ..events import emit

T = TypeVar("T")
#: An outbox event (type, data) a write reports: ``connection.needs_reauth``, ...
RowEvent = tuple[str, Mapping[str, Any]]

__all__ = ["TokenRow", "TokenStore", "metadata", "oauth_tokens"]


metadata = MetaData()

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    serial_id(),
    tenant_column(),
    Column("provider", String(32), nullable=False),
    # The OAuth client the tokens were minted for (an identifier, not a secret).
    Column("client_id", String(255)),
    Column("client_secret_enc", Text),
    Column("refresh_token_enc", Text),
    Column("access_token_enc", Text),
    utc_column("expires_at"),
    Column("api_domain", String(255)),
    Column("accounts_server", String(255)),
    Column("data_center", String(16)),
    Column("scopes", Text),
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # The last refresh failure: its kind (permanent, throttled, transient), Zoho's code, when.
    Column("last_failure_kind", String(16)),
    Column("last_failure_code", String(255)),
    utc_column("last_failure_at"),
    Column("failure_count", Integer, nullable=False, default=0, server_default="0"),
    utc_column("cooldown_until"),
    *lease_columns(255, until="lease_expires_at"),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    *timestamps(),
    utc_column("refreshed_at"),
    UniqueConstraint("tenant", "provider", name="uq_oauth_tokens_tenant_provider"),
)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One row as read. Token fields are ciphertext."""

    tenant: str
    provider: str
    client_id: str | None
    client_secret_enc: str | None
    refresh_token_enc: str | None
    access_token_enc: str | None
    expires_at: datetime | None
    api_domain: str | None
    accounts_server: str | None
    data_center: str | None
    scopes: str | None
    source: str
    status: str
    last_failure_kind: str | None
    last_failure_code: str | None
    last_failure_at: datetime | None
    failure_count: int
    cooldown_until: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None

    def __repr__(self) -> str:
        # Ciphertext is not a secret, but it has no business in logs either.
        return (
            f"TokenRow(tenant={self.tenant!r}, provider={self.provider!r}, status={self.status!r},"
            f" version={self.version}, expires_at={self.expires_at})"
        )


_ROW_FIELDS = [f.name for f in fields(TokenRow)]
_COLUMNS = [oauth_tokens.c[name] for name in _ROW_FIELDS]


def _key(tenant: str, provider: str) -> Any:
    return and_(oauth_tokens.c.tenant == tenant, oauth_tokens.c.provider == provider)


class TokenStore:
    """Reads and conditional writes of ``oauth_tokens`` on one async engine.

    Every statement is bounded: it answers within ``timeout`` seconds or raises
    :class:`~zohokit.errors.StorageUnavailable` (so do refused and lost connections).
    """

    def __init__(self, engine: AsyncEngine, *, timeout: float = Timeouts().statement) -> None:
        self.engine = engine
        self.timeout = timeout

    async def _bounded(
        self, work: Coroutine[Any, Any, T], tenant: str | None = None, provider: str | None = None
    ) -> T:
        return await bounded(
            work, seconds=self.timeout, url=self.engine.url, tenant=tenant, provider=provider
        )

    async def get(self, *, tenant: str, provider: str) -> TokenRow | None:
        """The row for (tenant, provider), or ``None``."""

        async def work() -> TokenRow | None:
            async with self.engine.connect() as conn:
                result = await conn.execute(select(*_COLUMNS).where(_key(tenant, provider)))
                row = result.first()
            return TokenRow(**row._mapping) if row is not None else None

        return await self._bounded(work(), tenant, provider)

    async def list(
        self,
        *,
        tenant: str | None = None,
        provider: str | None = None,
        tenants: Sequence[str] | None = None,
    ) -> list[TokenRow]:
        """Every row, optionally filtered (``tenants``: of these tenants only, in one
        query), ordered by tenant then provider."""
        c = oauth_tokens.c
        query = where_given(
            select(*_COLUMNS).order_by(c.tenant, c.provider),
            (c.tenant, tenant),
            (c.provider, provider),
        )
        if tenants is not None:
            query = query.where(c.tenant.in_(list(tenants)))

        async def work() -> list[TokenRow]:
            async with self.engine.connect() as conn:
                result = await conn.execute(query)
                return [TokenRow(**r._mapping) for r in result]

        return await self._bounded(work(), tenant, provider)

    async def insert(self, values: Mapping[str, Any], *, now: datetime) -> bool:
        """Insert a new row; ``False`` if a peer inserted the same (tenant, provider) first."""
        row = {"failure_count": 0, "version": 1, "created_at": now, "updated_at": now, **values}

        async def work() -> bool:
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(insert(oauth_tokens).values(**row))
            except IntegrityError:
                return False
            return True

        return await self._bounded(work(), row.get("tenant"), row.get("provider"))

    async def try_lease(
        self, *, tenant: str, provider: str, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Take the refresh lease if nobody else holds an unexpired one. ``True`` if we hold
        it now.

        A lease ``owner`` already holds is taken again: when the database went away while
        this process was refreshing, its release never arrived, and the process that is
        alive to retry must not wait for its own orphaned lease to expire.
        """
        stmt = (
            update(oauth_tokens)
            .where(
                _key(tenant, provider),
                or_(
                    oauth_tokens.c.lease_owner.is_(None),
                    oauth_tokens.c.lease_owner == owner,
                    oauth_tokens.c.lease_expires_at.is_(None),
                    oauth_tokens.c.lease_expires_at <= now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=until)
        )
        return await self._execute(stmt, tenant, provider) == 1

    async def release_lease(self, *, tenant: str, provider: str, owner: str) -> None:
        """Give the lease back, only if we still hold it."""
        stmt = (
            update(oauth_tokens)
            .where(_key(tenant, provider), oauth_tokens.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        await self._execute(stmt, tenant, provider)

    async def compare_and_swap(
        self,
        *,
        tenant: str,
        provider: str,
        expected_version: int,
        values: Mapping[str, Any],
        now: datetime,
        event: RowEvent | None = None,
    ) -> bool:
        """Write ``values`` only if the row is still at ``expected_version``; bumps the version.

        ``False`` means a peer wrote first: re-read and use what they wrote. ``event`` (type,
        data) is written to the outbox in the same transaction, only when this call wrote.
        """
        stmt = (
            update(oauth_tokens)
            .where(_key(tenant, provider), oauth_tokens.c.version == expected_version)
            .values(**values, version=expected_version + 1, updated_at=now)
        )
        return await self._execute(stmt, tenant, provider, event=event, now=now) == 1

    async def delete(self, *, tenant: str, provider: str) -> bool:
        """Remove the row; ``True`` if there was one."""
        stmt = oauth_tokens.delete().where(_key(tenant, provider))
        return await self._execute(stmt, tenant, provider) > 0

    async def _execute(
        self,
        stmt: Executable,
        tenant: str,
        provider: str,
        *,
        event: RowEvent | None = None,
        now: datetime | None = None,
    ) -> int:
        """Run one write in its own transaction; the number of rows it changed. With an
        ``event``, a write of exactly one row also writes the event (same transaction)."""

        async def work() -> int:
            async with self.engine.begin() as conn:
                result = await conn.execute(stmt)
                if event is not None and result.rowcount == 1:
                    await emit(conn, event[0], tenant, event[1], now=now)
            return int(result.rowcount)

        return await self._bounded(work(), tenant, provider)
