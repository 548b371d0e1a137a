"""What every token operation shares: the engine, the store, the cipher, the cache, the clock.

:class:`TokenServiceBase` holds the constructor, the lifecycle (migrations on first use,
``close``), the read-only views (:meth:`~TokenServiceBase.status`,
:meth:`~TokenServiceBase.list_tokens`) and the small helpers the protocol shell
(:mod:`._service`) and the admin operations (:mod:`._admin`) both need. It is not public:
users build :class:`~zohokit.tokens.OAuthTokenService`.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import db as _db
from .._clock import Clock, epoch, system_clock
from ..settings import PROVIDERS, EnvCredentials
from ._accounts_client import AccountsClient
from ._credentials import CredentialSource
from ._crypto import Cipher
from ._models import (
    ENC_COLUMNS,
    AccessToken,
    TokenStatus,
    ZohoCredentials,
    as_datetime,
    scope_tuple,
    snapshot,
)
from ._outage import StorageOutage
from ._policy import RefreshPolicy
from ._store import RowEvent, TokenRow, TokenStore

__all__ = ["Ask", "TokenServiceBase"]


@dataclass(frozen=True, slots=True)
class Ask:
    """One caller's request as it travels down the protocol's layers: a token for
    ``tenant`` and ``provider``, seeded from ``creds`` when no row exists, and (recovering
    from a 401) not ``failed_token``."""

    tenant: str
    provider: str
    creds: ZohoCredentials | None = None
    failed_token: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(tenant, provider): the cache's, the lock's and the row's key."""
        return (self.tenant, self.provider)


@dataclass(slots=True)
class Cached:
    """A token in the in-process cache, served without I/O until ``serve_until``."""

    token: AccessToken
    serve_until: float


class TokenServiceBase:
    """The shared state of :class:`~zohokit.tokens.OAuthTokenService` (see its docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cipher: Cipher,
        accounts: AccountsClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RefreshPolicy | None = None,
        env_credentials: Callable[[str], EnvCredentials] | None = None,
        default_accounts_url: str = "https://accounts.zoho.com",
        accounts_url_override: str | None = None,
        clock: Clock = system_clock,
        migrate: bool = True,
        poll_interval: float = 0.05,
        owns_engine: bool = True,
        storage_timeout: float | None = None,
    ) -> None:
        self.policy = policy or RefreshPolicy()
        self._engine = engine
        self._owns_engine = owns_engine
        self._store = TokenStore(engine, timeout=storage_timeout or _db.Timeouts().statement)
        self._cipher = cipher
        self._accounts = accounts or AccountsClient(
            timeout=self.policy.timeout, transport=transport
        )
        self._credentials = CredentialSource(env_credentials)
        self._default_accounts_url = default_accounts_url.rstrip("/")
        self._override = accounts_url_override.rstrip("/") if accounts_url_override else None
        # The protocol counts in epoch seconds (the policy and the cache are float maths).
        self._clock = epoch(clock)
        self._migrate = migrate
        self._poll = poll_interval
        self._cache: dict[tuple[str, str], Cached] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        #: Look-ups running for callers that were served a token past its refresh moment.
        self._behind: dict[tuple[str, str], asyncio.Task[AccessToken]] = {}
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = random.Random()
        self._outage = StorageOutage()

    @property
    def max_wait(self) -> float:
        """The most a caller waits for a token before it gets one or a ``ZohoError``.

        Two leases (a dead holder's runs out, the next refresh takes one), the accounts
        call's timeout, and one database step (``storage_timeout``) for the last read.
        """
        return self.policy.wait_bound() + self._store.timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._engine.url!r}, owner={self._owner!r})"

    async def __aenter__(self) -> Self:
        await self._ensure_ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client and (if this service created it) the engine."""
        for task in list(self._behind.values()):
            task.cancel()
        if self._behind:
            await asyncio.wait(list(self._behind.values()))
        await self._accounts.aclose()
        if self._owns_engine:
            await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The database engine (for tools and tests that inspect the table)."""
        return self._engine

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if not self._ready:
                if self._migrate:
                    await _db.bounded(
                        _db.upgrade_async(self._engine),
                        seconds=self.max_wait,
                        url=self._engine.url,
                    )
                self._ready = True

    # --- read-only views ------------------------------------------------------------------

    async def status(self, tenant: str, provider: str) -> TokenStatus | None:
        """A secret-free snapshot of one tenant's connection, or ``None`` if there is no row."""
        _validate(tenant, provider)
        await self._ensure_ready()
        row = await self._store.get(tenant=tenant, provider=provider)
        return self._snapshot(row) if row else None

    async def list_tokens(
        self,
        *,
        tenant: str | None = None,
        provider: str | None = None,
        tenants: Sequence[str] | None = None,
    ) -> list[TokenStatus]:
        """Snapshots of every stored connection, optionally filtered (``tenants``: of these
        tenants only, one query for a whole page of them)."""
        await self._ensure_ready()
        rows = await self._store.list(tenant=tenant, provider=provider, tenants=tenants)
        return [self._snapshot(r) for r in rows]

    # --- helpers ----------------------------------------------------------------------------

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _accounts_url(self, row: TokenRow) -> str:
        return self._override or (row.accounts_server or self._default_accounts_url)

    def _enc(self, value: str | None, tenant: str, provider: str, column: str) -> str | None:
        if value is None:
            return None
        return self._cipher.encrypt(value, context=f"{tenant}\x00{provider}\x00{column}")

    def _decrypt(self, row: TokenRow, column: str) -> str | None:
        stored = getattr(row, column)
        if stored is None:
            return None
        return self._cipher.decrypt(stored, context=f"{row.tenant}\x00{row.provider}\x00{column}")

    def _reencrypted(self, row: TokenRow) -> dict[str, Any]:
        """The ciphertext columns of ``row`` not under the primary key, re-encrypted."""
        values: dict[str, Any] = {}
        for column in ENC_COLUMNS:
            stored = getattr(row, column)
            if stored is None or Cipher.key_id_of(stored) == self._cipher.primary_key_id:
                continue
            values[column] = self._enc(self._decrypt(row, column), row.tenant, row.provider, column)
        return values

    def _snapshot(self, row: TokenRow) -> TokenStatus:
        # Where token calls really go: ZOHO_ACCOUNTS_URL, when set, wins over the row's.
        return snapshot(row, accounts_server=self._accounts_url(row))

    async def _swap(
        self,
        tenant: str,
        provider: str,
        change: Callable[[TokenRow | None, float], dict[str, Any] | None],
        *,
        event: Callable[[TokenRow], RowEvent | None] | None = None,
    ) -> bool:
        """Apply ``change`` to the row with a compare-and-swap, retrying while peers win.

        ``change(row, now)`` gives the values to write (``None``: nothing to do). With no row,
        the values are inserted as a new row; when a peer wrote (or inserted) between the read
        and the write, the row is read again and ``change`` asked again, so the values are
        always computed from the version they replace. Returns whether this call wrote.
        ``event(row)`` is the outbox event the change of an existing row reports, if any,
        written with it.
        """
        while True:
            row = await self._store.get(tenant=tenant, provider=provider)
            now = self._clock()
            values = change(row, now)
            if values is None:
                return False
            if row is None:
                if await self._store.insert(
                    {"tenant": tenant, "provider": provider, **values}, now=as_datetime(now)
                ):
                    return True
            elif await self._store.compare_and_swap(
                tenant=tenant,
                provider=provider,
                expected_version=row.version,
                values=values,
                now=as_datetime(now),
                event=event(row) if event is not None else None,
            ):
                return True

    def _remember(self, token: AccessToken, serve_until: float) -> AccessToken:
        self._cache[(token.tenant, token.provider)] = Cached(token, serve_until)
        return token

    def _remember_minted(
        self,
        tenant: str,
        provider: str,
        access_token: str,
        expires_at: float,
        *,
        api_domain: str | None,
        scopes: str | None,
    ) -> AccessToken:
        """Cache an access token Zoho just minted (a refresh or a code exchange), expiring at
        ``expires_at``, until its refresh moment."""
        token = AccessToken(
            token=access_token,
            tenant=tenant,
            provider=provider,
            api_domain=api_domain,
            expires_at=as_datetime(expires_at),
            scopes=scope_tuple(scopes),
        )
        return self._remember(token, self.policy.refresh_at(expires_at, tenant, provider))


def recovered(row: TokenRow, via: str) -> RowEvent | None:
    """``connection.recovered`` when ``row`` was failing (needs re-authorization, or its
    refreshes failed) and a write ``via`` a refresh, a grant or the environment heals it."""
    if row.status != "needs_reauth" and not row.failure_count:
        return None
    previous = "needs_reauth" if row.status == "needs_reauth" else "failing"
    data = {"provider": row.provider, "previous_state": previous, "via": via}
    return "connection.recovered", {**data, "failures": row.failure_count}


def _validate(tenant: str, provider: str) -> None:
    """Refuse an unknown provider or an empty tenant key before any I/O."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; use one of {PROVIDERS}")
    if not tenant:
        raise ValueError("the tenant key must not be empty")
