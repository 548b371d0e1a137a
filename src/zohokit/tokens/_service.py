"""``OAuthTokenService``: database-backed Zoho tokens, refreshed once per tenant across a fleet.

The protocol (``ARCHITECTURE.md``, "The token protocol"), as :meth:`get_token` runs it:

1. the in-process cache answers while the token is fresh (margin plus per-tenant jitter);
2. one coroutine per (tenant, provider) does the work; the others wait on its lock;
3. the database row is read: a fresh token written by a peer is cached and returned;
4. no row: one is seeded from the credentials given or the ``ZOHO_*`` environment
   (``source=env``); nothing anywhere raises :class:`ConfigurationError` naming the variables;
5. ``needs_reauth`` or ``revoked`` raise without touching the network; during a cooldown the
   current token is served while it is valid, otherwise the error carries ``retry_after``;
6. a lease (conditional UPDATE) makes one process of the fleet the refresher; it re-reads the
   row and refreshes only if no peer did; the others poll the row for the new token; a dead
   holder's lease expires after ``policy.lease`` seconds;
7. Zoho's answer is classified; a new token is written with a compare-and-swap on ``version``
   that keeps the refresh token; failures set ``needs_reauth`` or a cooldown;
8. :meth:`invalidate` handles a 401: it refreshes only if the row still holds the failed token.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import db as _db
from ..datacenters import by_accounts_server, is_known_accounts_server
from ..errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
    TransportError,
)
from ..settings import ENV_NAMES, PROVIDERS, EnvCredentials, Settings
from . import _metrics as m
from ._accounts_client import AccountsClient, TokenFailure, TokenGrant
from ._crypto import Cipher, load_or_create_key_file
from ._policy import THROTTLE_COOLDOWN_SECONDS, RefreshPolicy, backoff_seconds
from ._store import TokenRow, TokenStore

__all__ = [
    "AccessToken",
    "OAuthTokenService",
    "TokenStatus",
    "ZohoCredentials",
    "ZohoCredentialsDict",
]

Source = Literal["env", "connect", "admin"]
_SOURCES = ("env", "connect", "admin")


class ZohoCredentialsDict(TypedDict, total=False):
    """The seed's credentials object as a plain dict (``refresh_token`` optional)."""

    client_id: str | None
    client_secret: str | None
    refresh_token: str | None


@dataclass(frozen=True, slots=True)
class ZohoCredentials:
    """An OAuth client registered with Zoho, and optionally a refresh token for it.

    Secrets are hidden from the repr.
    """

    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)

    @classmethod
    def coerce(cls, value: ZohoCredentials | Mapping[str, Any] | None) -> ZohoCredentials | None:
        """Accept this class, a dict with ``client_id``/``client_secret``/``refresh_token``
        (the seed's ``clientId``/``clientSecret``/``refreshToken`` and ``zoho_*`` spellings
        too), or ``None``."""
        if value is None or isinstance(value, ZohoCredentials):
            return value

        def pick(*names: str) -> str | None:
            for name in names:
                got = value.get(name)
                if got:
                    return str(got)
            return None

        return cls(
            client_id=pick("client_id", "clientId", "zoho_client_id"),
            client_secret=pick("client_secret", "clientSecret", "zoho_client_secret"),
            refresh_token=pick("refresh_token", "refreshToken", "zoho_refresh_token"),
        )


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token and what a client needs with it. The repr hides the token."""

    token: str = field(repr=False)
    tenant: str
    provider: str
    api_domain: str | None
    expires_at: datetime
    scopes: tuple[str, ...] = ()

    @property
    def authorization(self) -> str:
        """The header value Zoho wants: ``Zoho-oauthtoken <token>``."""
        return f"Zoho-oauthtoken {self.token}"


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """A snapshot of one tenant's connection, safe to print: it holds no secret."""

    tenant: str
    provider: str
    status: str
    source: str
    client_id: str | None
    has_refresh_token: bool
    has_access_token: bool
    expires_at: datetime | None
    api_domain: str | None
    accounts_server: str | None
    data_center: str | None
    scopes: tuple[str, ...]
    last_error: str | None
    failure_count: int
    cooldown_until: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None
    key_ids: tuple[str, ...]


@dataclass(slots=True)
class _Cached:
    token: AccessToken
    serve_until: float


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _scopes(text: str | None) -> tuple[str, ...]:
    return tuple(s for s in (text or "").replace(",", " ").split() if s)


_ENC_COLUMNS = ("client_secret_enc", "refresh_token_enc", "access_token_enc")


class OAuthTokenService:
    """Zoho access tokens for many tenants, stored encrypted in a database.

    Build it with :meth:`from_settings` (what the module-level ``oauth_token_service`` does)
    or from plain arguments: an async ``engine``, a :class:`Cipher`, and optionally an
    :class:`AccountsClient` (or just an ``httpx`` ``transport`` for it), a
    :class:`RefreshPolicy`, a function giving the environment's credentials per provider,
    the accounts server for new rows, an ``accounts_url_override`` that wins over every
    stored accounts server (the emulator, a proxy), and a ``clock`` (epoch seconds).

    Use it as an async context manager, or call :meth:`close`, to release the engine and the
    HTTP client. Migrations are applied on first use.
    """

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
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
        poll_interval: float = 0.05,
        owns_engine: bool = True,
    ) -> None:
        self.policy = policy or RefreshPolicy()
        self._engine = engine
        self._owns_engine = owns_engine
        self._store = TokenStore(engine)
        self._cipher = cipher
        self._accounts = accounts or AccountsClient(
            timeout=self.policy.timeout, transport=transport
        )
        self._env_credentials = env_credentials
        self._default_accounts_url = default_accounts_url.rstrip("/")
        self._override = accounts_url_override.rstrip("/") if accounts_url_override else None
        self._clock = clock
        self._migrate = migrate
        self._poll = poll_interval
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = random.Random()

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> OAuthTokenService:
        """Build from :class:`~zohokit.settings.Settings` (the environment by default).

        Without ``ZOHOKIT_ENCRYPTION_KEYS`` a key is generated into ``ZOHOKIT_DATA_DIR``
        (owner-only permissions) with a warning.
        """
        s = settings or Settings()
        keys = s.zohokit_encryption_keys
        spec = keys.get_secret_value() if keys else load_or_create_key_file(s.zohokit_data_dir)
        policy = RefreshPolicy(
            margin=s.zohokit_token_margin_seconds,
            jitter=s.zohokit_token_jitter_seconds,
            lease=s.zohokit_lease_seconds,
            timeout=s.zohokit_refresh_timeout_seconds,
        )
        from ..datacenters import by_code

        return cls(
            _db.create_engine(s.database_url()),
            cipher=Cipher.from_spec(spec),
            transport=transport,
            policy=policy,
            env_credentials=s.env_credentials,
            default_accounts_url=by_code(s.zoho_dc).accounts_url,
            accounts_url_override=s.zoho_accounts_url,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"OAuthTokenService(url={self._engine.url!r}, owner={self._owner!r})"

    async def __aenter__(self) -> OAuthTokenService:
        await self._ensure_ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client and (if this service created it) the engine."""
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
                    await _db.upgrade_async(self._engine)
                self._ready = True

    # --- public API ---------------------------------------------------------------------

    async def get_access_token(
        self,
        client_id: str,
        provider: str,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
    ) -> str:
        """The seed's call: a valid access token for tenant ``client_id`` and ``provider``.

        ``client_id`` is the **tenant key** (``"default"`` for a single business);
        ``credentials`` the OAuth client (and optionally refresh token) to use when the
        database has none. See :meth:`get_token` for the errors.
        """
        return (await self.get_token(client_id, provider, credentials)).token

    async def get_token(
        self,
        tenant: str,
        provider: str,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
    ) -> AccessToken:
        """A valid :class:`AccessToken` (with ``api_domain``) for ``tenant`` and ``provider``.

        Raises :class:`ConfigurationError` when neither the database, ``credentials`` nor the
        environment has a refresh token; :class:`NeedsReauthorization` when Zoho rejected it;
        :class:`TokenRevoked`; :class:`TokenRefreshThrottled` or :class:`TokenRefreshFailed`
        (with ``retry_after``) when no valid token can be served right now.
        """
        key = self._key(tenant, provider)
        hit = self._cache.get(key)
        if hit is not None and self._clock() < hit.serve_until:
            return hit.token
        async with self._lock(key):
            hit = self._cache.get(key)
            if hit is not None and self._clock() < hit.serve_until:
                return hit.token
            return await self._obtain(tenant, provider, ZohoCredentials.coerce(credentials), None)

    async def invalidate(
        self,
        tenant: str,
        provider: str,
        failed_token: str,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
    ) -> AccessToken:
        """Recover from a 401: forget ``failed_token`` and return a token that is not it.

        Zoho is called at most once, and only if the database still holds ``failed_token``
        (a peer may already have replaced it). Retry the failed call once with the result;
        if that fails too, give up rather than loop.
        """
        key = self._key(tenant, provider)
        hit = self._cache.get(key)
        if hit is not None and hit.token.token == failed_token:
            del self._cache[key]
        async with self._lock(key):
            hit = self._cache.get(key)
            if hit is not None and self._clock() < hit.serve_until:
                return hit.token  # a concurrent caller already recovered
            coerced = ZohoCredentials.coerce(credentials)
            return await self._obtain(tenant, provider, coerced, failed_token)

    async def force_refresh(
        self,
        tenant: str,
        provider: str,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
    ) -> AccessToken:
        """Mint a new access token now (still through the lease, and respecting cooldowns)."""
        await self._ensure_ready()
        self._key(tenant, provider)
        row = await self._store.get(tenant, provider)
        current = self._decrypt(row, "access_token_enc") if row else None
        # A sentinel that matches no real token when the row holds none: refresh anyway.
        return await self.invalidate(tenant, provider, current or "\x00none", credentials)

    async def status(self, tenant: str, provider: str) -> TokenStatus | None:
        """A secret-free snapshot of one tenant's connection, or ``None`` if there is no row."""
        await self._ensure_ready()
        row = await self._store.get(tenant, self._key(tenant, provider)[1])
        return self._snapshot(row) if row else None

    async def list_tokens(
        self, *, tenant: str | None = None, provider: str | None = None
    ) -> builtins.list[TokenStatus]:
        """Snapshots of every stored connection, optionally filtered."""
        await self._ensure_ready()
        return [self._snapshot(r) for r in await self._store.list(tenant=tenant, provider=provider)]

    async def store_grant(
        self,
        tenant: str,
        provider: str,
        *,
        refresh_token: str,
        access_token: str | None = None,
        expires_in: float | None = None,
        api_domain: str | None = None,
        accounts_server: str | None = None,
        scopes: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        source: Source = "connect",
    ) -> TokenStatus:
        """Store tokens obtained elsewhere (a code exchange, an admin import), replacing any row.

        The row becomes ``active`` with no cooldown and no failures, so a tenant that
        needed re-authorization works again.
        """
        await self._ensure_ready()
        self._key(tenant, provider)
        if source not in _SOURCES:
            raise ValueError(f"source must be one of {_SOURCES}")
        accounts = (accounts_server or self._default_accounts_url).rstrip("/")
        dc = by_accounts_server(accounts)
        while True:
            now = self._clock()
            ctx = (tenant, provider)
            values: dict[str, Any] = {
                "client_id": client_id,
                "client_secret_enc": self._enc(client_secret, *ctx, "client_secret_enc"),
                "refresh_token_enc": self._enc(refresh_token, *ctx, "refresh_token_enc"),
                "access_token_enc": self._enc(access_token, *ctx, "access_token_enc"),
                "expires_at": _dt(now + (expires_in or 3600.0)) if access_token else None,
                "api_domain": api_domain,
                "accounts_server": accounts,
                "data_center": dc.code if dc else None,
                "scopes": scopes,
                "source": source,
                "status": "active",
                "last_error": None,
                "failure_count": 0,
                "cooldown_until": None,
                "refreshed_at": _dt(now) if access_token else None,
            }
            row = await self._store.get(tenant, provider)
            if row is not None and client_id is None:
                # Keep the OAuth client already on file when the grant does not name one.
                values["client_id"] = row.client_id
                values["client_secret_enc"] = row.client_secret_enc
            if row is None:
                if await self._store.insert(
                    {"tenant": tenant, "provider": provider, **values}, now=_dt(now)
                ):
                    break
            elif await self._store.compare_and_swap(
                tenant, provider, expected_version=row.version, values=values, now=_dt(now)
            ):
                break
        self._cache.pop((tenant, provider), None)
        m.emit("token.stored", logging.INFO, tenant, provider, source=source)
        stored = await self.status(tenant, provider)
        assert stored is not None
        return stored

    async def exchange_code(
        self,
        tenant: str,
        provider: str,
        *,
        code: str,
        credentials: ZohoCredentials | Mapping[str, Any],
        accounts_server: str | None = None,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
    ) -> AccessToken:
        """Exchange a grant code at the tenant's accounts server and store the tokens.

        ``accounts_server`` comes from the callback; it must be one of Zoho's (or the
        configured override), so a forged callback cannot receive the client secret.
        """
        await self._ensure_ready()
        self._key(tenant, provider)
        creds = ZohoCredentials.coerce(credentials)
        if creds is None or not creds.client_id or not creds.client_secret:
            raise ConfigurationError(
                "a code exchange needs the OAuth client id and secret",
                tenant=tenant,
                provider=provider,
            )
        accounts = (accounts_server or self._default_accounts_url).rstrip("/")
        if self._override is None and not is_known_accounts_server(accounts):
            raise ConfigurationError(
                "the callback's accounts-server is not a Zoho accounts server",
                tenant=tenant,
                provider=provider,
            )
        outcome = await self._accounts.exchange_code(
            self._override or accounts,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
        )
        if isinstance(outcome, TokenFailure):
            raise self._failure_error(outcome, tenant, provider, None)
        if outcome.refresh_token is None:
            raise NeedsReauthorization(
                "Zoho returned no refresh token: ask for access_type=offline and prompt=consent",
                tenant=tenant,
                provider=provider,
            )
        await self.store_grant(
            tenant,
            provider,
            refresh_token=outcome.refresh_token,
            access_token=outcome.access_token,
            expires_in=outcome.expires_in,
            api_domain=outcome.api_domain,
            accounts_server=accounts,
            scopes=outcome.scope,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            source="connect",
        )
        return await self.get_token(tenant, provider)

    async def revoke(self, tenant: str, provider: str) -> bool:
        """Revoke the tenant's refresh token at Zoho and mark the row ``revoked``.

        Returns whether Zoho confirmed. The row is marked (and its tokens erased) either
        way, so nothing keeps using a connection the operator wanted gone.
        """
        await self._ensure_ready()
        self._key(tenant, provider)
        row = await self._store.get(tenant, provider)
        if row is None:
            return False
        refresh = self._decrypt(row, "refresh_token_enc")
        confirmed = False
        if refresh:
            try:
                confirmed = await self._accounts.revoke(self._accounts_url(row), token=refresh)
            except httpx.HTTPError as exc:
                raise TransportError(
                    f"could not reach the accounts server to revoke ({type(exc).__name__})",
                    tenant=tenant,
                    provider=provider,
                ) from exc
        while True:
            now = _dt(self._clock())
            values = {
                "status": "revoked",
                "refresh_token_enc": None,
                "access_token_enc": None,
                "expires_at": None,
                "cooldown_until": None,
                "last_error": None,
            }
            if await self._store.compare_and_swap(
                tenant, provider, expected_version=row.version, values=values, now=now
            ):
                break
            fresh = await self._store.get(tenant, provider)
            if fresh is None:
                break
            row = fresh
        self._cache.pop((tenant, provider), None)
        m.emit("token.revoked", logging.INFO, tenant, provider, confirmed=confirmed)
        return confirmed

    async def forget(self, tenant: str, provider: str) -> bool:
        """Delete the tenant's row for ``provider``, secrets and all; ``True`` if there was one.

        Nothing is sent to Zoho: :meth:`revoke` first when the refresh token must die too.
        A later call for this tenant starts from scratch (and may seed from the environment).
        """
        await self._ensure_ready()
        self._key(tenant, provider)
        self._cache.pop((tenant, provider), None)
        gone = await self._store.delete(tenant, provider)
        if gone:
            m.emit("token.forgotten", logging.INFO, tenant, provider)
        return gone

    async def import_env(self, tenant: str = "default", provider: str = "zoho_crm") -> TokenStatus:
        """Store the environment's refresh token for ``tenant`` (``source=env``), replacing
        the row: the way to recover an env-configured tenant after fixing the variables."""
        env = self._env_credentials(provider) if self._env_credentials else None
        creds = self._merge(None, env)
        self._require(creds, tenant, provider)
        assert creds.refresh_token is not None
        return await self.store_grant(
            tenant,
            provider,
            refresh_token=creds.refresh_token,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            accounts_server=self._default_accounts_url,
            source="env",
        )

    async def rotate_encryption_key(self) -> int:
        """Re-encrypt every stored secret with the primary key; returns the rows changed.

        Run it after putting a new key first in ``ZOHOKIT_ENCRYPTION_KEYS`` (old keys
        still listed); afterwards the old keys can be removed.
        """
        await self._ensure_ready()
        changed = 0
        for row in await self._store.list():
            current: TokenRow | None = row
            while current is not None:
                values = self._reencrypted(current)
                if not values:
                    break
                now = _dt(self._clock())
                if await self._store.compare_and_swap(
                    current.tenant,
                    current.provider,
                    expected_version=current.version,
                    values=values,
                    now=now,
                ):
                    changed += 1
                    break
                current = await self._store.get(current.tenant, current.provider)
        self._cache.clear()
        return changed

    # --- protocol -----------------------------------------------------------------------

    def _key(self, tenant: str, provider: str) -> tuple[str, str]:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; use one of {PROVIDERS}")
        if not tenant:
            raise ValueError("the tenant key must not be empty")
        return (tenant, provider)

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _obtain(
        self,
        tenant: str,
        provider: str,
        creds: ZohoCredentials | None,
        failed_token: str | None,
    ) -> AccessToken:
        await self._ensure_ready()
        row = await self._store.get(tenant, provider)
        if row is None:
            row = await self._seed(tenant, provider, creds)
        row = await self._maybe_reseed(row, creds)
        deadline = self._clock() + self.policy.wait_bound()
        while True:
            served = self._serve(row, self._clock(), failed_token)
            if served is not None:
                return served
            now = self._clock()
            if await self._store.try_lease(
                tenant,
                provider,
                owner=self._owner,
                now=_dt(now),
                until=_dt(now + self.policy.lease),
            ):
                try:
                    # Re-read under the lease: a peer may have refreshed since our read.
                    fresh = await self._store.get(tenant, provider)
                    assert fresh is not None
                    served = self._serve(fresh, self._clock(), failed_token)
                    if served is not None:
                        return served
                    return await self._refresh(fresh, creds, failed_token)
                finally:
                    await self._store.release_lease(tenant, provider, owner=self._owner)
            if self._clock() > deadline:
                raise TokenRefreshFailed(
                    "timed out waiting for another process to refresh the token",
                    retry_after=self.policy.lease,
                    tenant=tenant,
                    provider=provider,
                )
            # A peer holds the lease: wait for its token instead of calling Zoho.
            await asyncio.sleep(self._poll * (0.5 + self._rng.random()))
            polled = await self._store.get(tenant, provider)
            if polled is None:
                raise TokenRevoked("the token row was deleted", tenant=tenant, provider=provider)
            row = polled

    def _serve(self, row: TokenRow, now: float, failed_token: str | None) -> AccessToken | None:
        """Return the row's token if it may be served now, raise if the row forbids a refresh,
        or return ``None`` when a refresh is needed."""
        tenant, provider = row.tenant, row.provider
        if row.status == "needs_reauth":
            raise NeedsReauthorization(
                "Zoho rejected this tenant's refresh token or client; connect again "
                "(or fix the environment and run `zohokit tokens import-env`)",
                reason=(row.last_error or "").partition(": ")[2] or None,
                tenant=tenant,
                provider=provider,
            )
        if row.status == "revoked":
            raise TokenRevoked(
                "this tenant's tokens were revoked", tenant=tenant, provider=provider
            )
        token = self._decrypt(row, "access_token_enc")
        expires = _ts(row.expires_at)
        if token is not None and token == failed_token:
            token = None
        if token is not None and self.policy.is_fresh(expires, now, tenant, provider):
            assert expires is not None
            until = self.policy.refresh_at(expires, tenant, provider)
            return self._cache_token(row, token, until)
        cooldown = _ts(row.cooldown_until)
        if cooldown is not None and cooldown > now:
            if token is not None and self.policy.is_usable(expires, now):
                assert expires is not None
                return self._cache_token(row, token, min(cooldown, expires - 5.0))
            kind = (row.last_error or "").partition(":")[0]
            if kind == "throttled":
                raise TokenRefreshThrottled(
                    "Zoho throttled token refreshes for this client; waiting out its window",
                    retry_after=cooldown - now,
                    tenant=tenant,
                    provider=provider,
                )
            raise TokenRefreshFailed(
                f"token refresh is backing off after {row.failure_count} failure(s)"
                f" ({row.last_error})",
                retry_after=cooldown - now,
                tenant=tenant,
                provider=provider,
            )
        return None

    def _cache_token(self, row: TokenRow, token: str, serve_until: float) -> AccessToken:
        assert row.expires_at is not None
        access = AccessToken(
            token=token,
            tenant=row.tenant,
            provider=row.provider,
            api_domain=row.api_domain,
            expires_at=row.expires_at,
            scopes=_scopes(row.scopes),
        )
        self._cache[(row.tenant, row.provider)] = _Cached(access, serve_until)
        return access

    async def _refresh(
        self, row: TokenRow, creds: ZohoCredentials | None, failed_token: str | None
    ) -> AccessToken:
        tenant, provider = row.tenant, row.provider
        refresh_token = self._decrypt(row, "refresh_token_enc")
        if not refresh_token:
            raise NeedsReauthorization(
                "no refresh token is stored for this tenant; connect again",
                tenant=tenant,
                provider=provider,
            )
        env = self._env_credentials(provider) if self._env_credentials else None
        stored = ZohoCredentials(row.client_id, self._decrypt(row, "client_secret_enc"))
        # The refresh token only works with the OAuth client it was minted for: a client
        # named by the call or the environment that is not the row's would get invalid_code
        # and cost the tenant its connection, so only the row's own client may be used.
        client = self._merge(
            *(
                src
                for src in (creds, stored, env)
                if not row.client_id or getattr(src, "client_id", None) in (None, row.client_id)
            )
        )
        if not client.client_id or not client.client_secret:
            raise self._missing(("client_id", "client_secret"), tenant, provider)
        started = time.perf_counter()
        outcome = await self._accounts.refresh(
            self._accounts_url(row),
            client_id=client.client_id,
            client_secret=client.client_secret,
            refresh_token=refresh_token,
        )
        elapsed = time.perf_counter() - started
        m.REFRESH_LATENCY.labels(provider).observe(elapsed)
        now = self._clock()
        if isinstance(outcome, TokenGrant):
            return await self._on_success(row, outcome, now, elapsed)
        return await self._on_failure(row, outcome, now, failed_token)

    async def _on_success(
        self, row: TokenRow, grant: TokenGrant, now: float, elapsed: float
    ) -> AccessToken:
        tenant, provider = row.tenant, row.provider
        expires_at = now + grant.expires_in
        values = {
            # The refresh token is not touched: Zoho does not rotate it on refresh.
            "access_token_enc": self._enc(grant.access_token, tenant, provider, "access_token_enc"),
            "expires_at": _dt(expires_at),
            "api_domain": grant.api_domain or row.api_domain,
            "scopes": grant.scope or row.scopes,
            "status": "active",
            "last_error": None,
            "failure_count": 0,
            "cooldown_until": None,
            "refreshed_at": _dt(now),
        }
        m.REFRESHED.labels(provider).inc()
        m.emit(
            "token.refreshed",
            logging.INFO,
            tenant,
            provider,
            expires_in=round(grant.expires_in),
            elapsed_ms=round(elapsed * 1000),
        )
        if row.failure_count:
            m.RECOVERED.labels(provider).inc()
            m.emit("token.recovered", logging.INFO, tenant, provider, after=row.failure_count)
        written = await self._store.compare_and_swap(
            tenant, provider, expected_version=row.version, values=values, now=_dt(now)
        )
        if not written:
            # A peer wrote first (our lease had run out). Prefer its token if it is fresh;
            # ours is valid too, so serve it rather than fail.
            peer = await self._store.get(tenant, provider)
            if peer is not None:
                try:
                    served = self._serve(peer, now, None)
                except (NeedsReauthorization, TokenRevoked):
                    served = None
                if served is not None:
                    return served
        access = AccessToken(
            token=grant.access_token,
            tenant=tenant,
            provider=provider,
            api_domain=grant.api_domain or row.api_domain,
            expires_at=_dt(expires_at),
            scopes=_scopes(grant.scope or row.scopes),
        )
        until = self.policy.refresh_at(expires_at, tenant, provider)
        self._cache[(tenant, provider)] = _Cached(access, until)
        return access

    async def _on_failure(
        self, row: TokenRow, failure: TokenFailure, now: float, failed_token: str | None
    ) -> AccessToken:
        tenant, provider = row.tenant, row.provider
        failures = row.failure_count + 1
        m.REFRESH_FAILED.labels(provider, failure.kind).inc()
        values: dict[str, Any] = {
            "last_error": f"{failure.kind}: {failure.error}",
            "failure_count": failures,
        }
        if failure.kind == "permanent":
            values.update(status="needs_reauth", access_token_enc=None, expires_at=None)
            m.NEEDS_REAUTH.labels(provider).inc()
            m.emit("token.needs_reauth", logging.ERROR, tenant, provider, error=failure.error)
        else:
            if failure.kind == "throttled":
                wait = THROTTLE_COOLDOWN_SECONDS
                m.THROTTLED.labels(provider).inc()
            else:
                wait = backoff_seconds(failures, self._rng)
            values["cooldown_until"] = _dt(now + wait)
            m.emit(
                "token.refresh_failed",
                logging.WARNING,
                tenant,
                provider,
                reason=failure.kind,
                error=failure.error,
                retry_after=round(wait, 1),
                failures=failures,
            )
        await self._store.compare_and_swap(
            tenant, provider, expected_version=row.version, values=values, now=_dt(now)
        )
        latest = await self._store.get(tenant, provider)
        if latest is not None:
            served = self._serve(latest, now, failed_token)
            if served is not None:
                return served
        raise self._failure_error(failure, tenant, provider, values.get("cooldown_until"), now)

    def _failure_error(
        self,
        failure: TokenFailure,
        tenant: str,
        provider: str,
        cooldown_until: datetime | None,
        now: float | None = None,
    ) -> Exception:
        retry_after = (
            max(0.0, cooldown_until.timestamp() - (now if now is not None else self._clock()))
            if cooldown_until
            else None
        )
        if failure.kind == "permanent":
            return NeedsReauthorization(
                f"Zoho rejected the token request ({failure.error}); connect again",
                reason=failure.error,
                tenant=tenant,
                provider=provider,
            )
        if failure.kind == "throttled":
            return TokenRefreshThrottled(
                f"Zoho throttled the token request ({failure.error})",
                retry_after=retry_after if retry_after is not None else THROTTLE_COOLDOWN_SECONDS,
                tenant=tenant,
                provider=provider,
            )
        return TokenRefreshFailed(
            f"the token request failed ({failure.error})",
            retry_after=retry_after,
            tenant=tenant,
            provider=provider,
        )

    # --- environment fallback -------------------------------------------------------------

    @staticmethod
    def _merge(*sources: ZohoCredentials | EnvCredentials | None) -> ZohoCredentials:
        """Field by field, the first source that has a value wins (the seed's precedence)."""

        def first(name: str) -> str | None:
            for src in sources:
                value = getattr(src, name, None) if src is not None else None
                if value:
                    return str(value)
            return None

        return ZohoCredentials(first("client_id"), first("client_secret"), first("refresh_token"))

    @staticmethod
    def _missing(parts: tuple[str, ...], tenant: str, provider: str) -> ConfigurationError:
        names = tuple(n for part in parts for n in ENV_NAMES[provider][part])
        wanted = ", ".join(" or ".join(ENV_NAMES[provider][p]) for p in parts)
        return ConfigurationError(
            f"no Zoho credentials in the database, the call or the environment: set {wanted}",
            variables=names,
            tenant=tenant,
            provider=provider,
        )

    def _require(self, creds: ZohoCredentials, tenant: str, provider: str) -> None:
        missing = tuple(
            part
            for part in ("client_id", "client_secret", "refresh_token")
            if not getattr(creds, part)
        )
        if missing:
            raise self._missing(missing, tenant, provider)

    async def _seed(self, tenant: str, provider: str, creds: ZohoCredentials | None) -> TokenRow:
        env = self._env_credentials(provider) if self._env_credentials else None
        merged = self._merge(creds, env)
        self._require(merged, tenant, provider)
        now = self._clock()
        ctx = (tenant, provider)
        dc = by_accounts_server(self._default_accounts_url)
        inserted = await self._store.insert(
            {
                "tenant": tenant,
                "provider": provider,
                "client_id": merged.client_id,
                "client_secret_enc": self._enc(merged.client_secret, *ctx, "client_secret_enc"),
                "refresh_token_enc": self._enc(merged.refresh_token, *ctx, "refresh_token_enc"),
                "accounts_server": self._default_accounts_url,
                "data_center": dc.code if dc else None,
                "source": "env",
                "status": "active",
            },
            now=_dt(now),
        )
        if inserted:
            m.emit("token.seeded", logging.INFO, tenant, provider, source="env")
        row = await self._store.get(tenant, provider)
        assert row is not None
        return row

    async def _maybe_reseed(self, row: TokenRow, creds: ZohoCredentials | None) -> TokenRow:
        """An env-seeded row that needs re-authorization comes back to life when the
        environment (or the call) now carries a different refresh token."""
        if row.source != "env" or row.status != "needs_reauth":
            return row
        env = self._env_credentials(row.provider) if self._env_credentials else None
        merged = self._merge(creds, env)
        if not merged.refresh_token or merged.refresh_token == self._decrypt(
            row, "refresh_token_enc"
        ):
            return row
        ctx = (row.tenant, row.provider)
        values = {
            "refresh_token_enc": self._enc(merged.refresh_token, *ctx, "refresh_token_enc"),
            "client_id": merged.client_id or row.client_id,
            "client_secret_enc": self._enc(merged.client_secret, *ctx, "client_secret_enc")
            if merged.client_secret
            else row.client_secret_enc,
            "status": "active",
            "last_error": None,
            "cooldown_until": None,
            "access_token_enc": None,
            "expires_at": None,
        }
        now = _dt(self._clock())
        await self._store.compare_and_swap(
            row.tenant, row.provider, expected_version=row.version, values=values, now=now
        )
        m.emit("token.reseeded", logging.INFO, row.tenant, row.provider, source="env")
        latest = await self._store.get(row.tenant, row.provider)
        return latest or row

    # --- helpers ----------------------------------------------------------------------------

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
        values: dict[str, Any] = {}
        for column in _ENC_COLUMNS:
            stored = getattr(row, column)
            if stored is None or Cipher.key_id_of(stored) == self._cipher.primary_key_id:
                continue
            values[column] = self._enc(self._decrypt(row, column), row.tenant, row.provider, column)
        return values

    def _snapshot(self, row: TokenRow) -> TokenStatus:
        kids = sorted(
            {kid for c in _ENC_COLUMNS if (v := getattr(row, c)) and (kid := Cipher.key_id_of(v))}
        )
        return TokenStatus(
            tenant=row.tenant,
            provider=row.provider,
            status=row.status,
            source=row.source,
            client_id=row.client_id,
            has_refresh_token=row.refresh_token_enc is not None,
            has_access_token=row.access_token_enc is not None,
            expires_at=row.expires_at,
            api_domain=row.api_domain,
            # Where token calls really go: ZOHO_ACCOUNTS_URL, when set, wins over the row's.
            accounts_server=self._accounts_url(row),
            data_center=row.data_center,
            scopes=_scopes(row.scopes),
            last_error=row.last_error,
            failure_count=row.failure_count,
            cooldown_until=row.cooldown_until,
            lease_owner=row.lease_owner,
            lease_expires_at=row.lease_expires_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            refreshed_at=row.refreshed_at,
            key_ids=tuple(kids),
        )

    #: The seed-style name for :meth:`list_tokens`.
    list = list_tokens
