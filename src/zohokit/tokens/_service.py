"""``OAuthTokenService``: database-backed Zoho tokens, refreshed once per tenant across a fleet.

The protocol (``ARCHITECTURE.md``, "The token protocol"), as :meth:`get_token` runs it:

1. the in-process cache answers while the token is fresh (margin plus per-tenant jitter);
2. one coroutine per (tenant, provider) does the work; the others wait on its lock;
3. the database row is read: a fresh token written by a peer is cached and returned;
4. no row: one is seeded from the credentials given or the ``ZOHO_*`` environment
   (``source=env``, :mod:`._credentials`); nothing anywhere raises
   :class:`ConfigurationError` naming the variables;
5. :func:`~._decide.decide` says serve, refresh or refuse: ``needs_reauth`` or ``revoked``
   raise without touching the network; during a cooldown the current token is served while
   it is valid, otherwise the error carries ``retry_after``;
6. a lease (conditional UPDATE) makes one process of the fleet the refresher; it re-reads the
   row and refreshes only if no peer did; the others poll the row for the new token; a dead
   holder's lease expires after ``policy.lease`` seconds;
7. Zoho's answer is classified; a new token is written with a compare-and-swap on ``version``
   that keeps the refresh token; failures set ``needs_reauth`` or a cooldown;
8. :meth:`invalidate` handles a 401: it refreshes only if the row still holds the failed token.

A valid token past its moment is served at once to every caller while one refresh runs
(in this process or a peer), so only the refresher waits on Zoho; the worker's
``tokens.refresh_ahead`` job (:meth:`~OAuthTokenService.refresh_ahead`) refreshes before any
caller's moment. This is the I/O shell (cache, lock, lease); serving a row and refreshing it
are in :mod:`._refresh`, admin operations in :mod:`._admin`, seeding in :mod:`._seeding`,
shared state in :mod:`._core`, outages in :mod:`._outage`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..db import within
from ..errors import (
    NeedsReauthorization,
    StorageUnavailable,
    TokenRefreshFailed,
    TokenRevoked,
)
from . import _metrics as m
from ._admin import TokenAdmin
from ._core import Ask, _validate
from ._decide import USABLE_SAFETY_SECONDS
from ._models import AccessToken, ZohoCredentials, as_datetime, as_epoch
from ._refresh import TokenRefresh
from ._seeding import EnvSeeding

__all__ = ["OAuthTokenService"]

Credentials = ZohoCredentials | Mapping[str, Any] | None


class OAuthTokenService(TokenAdmin, EnvSeeding, TokenRefresh):
    """Zoho access tokens for many tenants, stored encrypted in a database.

    A :class:`zohokit.Zoho` root builds one (``zoho.tokens``; ``Zoho.from_settings`` reads
    the environment for it). Built by hand it takes plain arguments: an async ``engine``, a
    :class:`Cipher`, and optionally an :class:`AccountsClient` (or just an ``httpx``
    ``transport`` for it), a :class:`RefreshPolicy`, a function giving the environment's
    credentials per provider,
    the accounts server for new rows, an ``accounts_url_override`` that wins over every
    stored accounts server (the emulator, a proxy), and a ``clock`` (the current aware time,
    a :data:`~zohokit._clock.Clock`).

    Use it as an async context manager, or call :meth:`close`, to release the engine and the
    HTTP client. Migrations are applied on first use.
    """

    async def get_access_token(
        self, client_id: str, provider: str, credentials: Credentials = None
    ) -> str:
        """The seed's call: a valid access token for tenant ``client_id`` and ``provider``.

        ``client_id`` is the **tenant key** (``"default"`` for a single business);
        ``credentials`` the OAuth client (and optionally refresh token) to use when the
        database has none. See :meth:`get_token` for the errors.
        """
        return (await self.get_token(client_id, provider, credentials)).token

    async def get_token(
        self, tenant: str, provider: str, credentials: Credentials = None
    ) -> AccessToken:
        """A valid :class:`AccessToken` (with ``api_domain``) for ``tenant`` and ``provider``.

        Raises :class:`ConfigurationError` when neither the database, ``credentials`` nor the
        environment has a refresh token; :class:`NeedsReauthorization` when Zoho rejected it;
        :class:`TokenRevoked`; :class:`TokenRefreshThrottled` or :class:`TokenRefreshFailed`
        (with ``retry_after``) when no valid token can be served right now.
        """
        _validate(tenant, provider)
        key = (tenant, provider)
        hit = self._cache.get(key)
        if hit is not None:
            now = self._clock()
            if now < hit.serve_until:
                return hit.token
            if self.policy.is_usable(
                hit.token.expires_at.timestamp(), now, safety=USABLE_SAFETY_SECONDS
            ):
                # Past its moment, still valid: no caller waits for the database or Zoho.
                # One look-up per process runs meanwhile (the worker usually refreshed the
                # row already; else it refreshes under the fleet-wide lease).
                self._look_up_behind(Ask(tenant, provider, ZohoCredentials.coerce(credentials)))
                return hit.token
        return await self._answer(Ask(tenant, provider, ZohoCredentials.coerce(credentials)))

    def _look_up_behind(self, ask: Ask) -> None:
        """Start the one background look-up of ``ask`` this process runs, unless it runs."""
        key = ask.key
        if key in self._behind:
            return
        task = asyncio.ensure_future(self._answer(ask))
        self._behind[key] = task

        def done(finished: asyncio.Task[AccessToken]) -> None:
            self._behind.pop(key, None)
            if finished.cancelled():
                return
            error = finished.exception()
            if isinstance(error, NeedsReauthorization | TokenRevoked):
                # The row says the token must not be used any more: callers hear it now.
                self._cache.pop(key, None)
            if error is not None:
                m.emit("token.lookup_failed", logging.INFO, *key, error=type(error).__name__)

        task.add_done_callback(done)

    async def settle(self) -> None:
        """Wait for the look-ups started behind callers' backs (a token past its refresh
        moment was served while one ran): tests and shutdowns see their outcome."""
        while self._behind:
            await asyncio.wait(list(self._behind.values()))

    async def invalidate(
        self, tenant: str, provider: str, failed_token: str, credentials: Credentials = None
    ) -> AccessToken:
        """Recover from a 401: forget ``failed_token`` and return a token that is not it.

        Zoho is called at most once, and only if the database still holds ``failed_token``
        (a peer may already have replaced it). Retry the failed call once with the result;
        if that fails too, give up rather than loop.
        """
        _validate(tenant, provider)
        key = (tenant, provider)
        hit = self._cache.get(key)
        if hit is not None and hit.token.token == failed_token:
            del self._cache[key]
        coerced = ZohoCredentials.coerce(credentials)
        return await self._answer(Ask(tenant, provider, coerced, failed_token))

    async def force_refresh(
        self, tenant: str, provider: str, credentials: Credentials = None
    ) -> AccessToken:
        """Mint a new access token now (still through the lease, and respecting cooldowns)."""
        _validate(tenant, provider)
        await self._ensure_ready()
        row = await self._store.get(tenant=tenant, provider=provider)
        current = self._decrypt(row, "access_token_enc") if row else None
        # A sentinel that matches no real token when the row holds none: refresh anyway.
        return await self.invalidate(tenant, provider, current or "\x00none", credentials)

    # --- the protocol ---------------------------------------------------------------------

    async def _answer(self, ask: Ask) -> AccessToken:
        """A token or a ``ZohoError`` within :attr:`max_wait`, whatever the database does.

        While the database cannot be reached, a cached token that is past its refresh moment
        but still valid is served (and counted); without one the error is
        :class:`StorageUnavailable`, at once for the moment after a failure.
        """
        tenant, provider = key = ask.key
        try:
            self._outage.check(tenant, provider)
            try:
                return await within(self._locked(ask), self.max_wait)
            except TimeoutError as exc:
                raise TokenRefreshFailed(
                    f"no token within {self.max_wait:g} s (the database or a peer is too slow)",
                    retry_after=self.policy.lease,
                    tenant=tenant,
                    provider=provider,
                ) from exc
        except (StorageUnavailable, TokenRefreshFailed) as exc:
            if isinstance(exc, TokenRefreshFailed):
                if not isinstance(exc.__cause__, TimeoutError):
                    raise  # Zoho's answer, handled by the protocol (cooldown, backoff)
                self._outage.note(None, tenant, provider)
            stale = self._stale(key) if ask.failed_token is None else None
            if stale is None:
                raise
            return stale

    async def _locked(self, ask: Ask) -> AccessToken:
        key = ask.key
        async with self._lock(key):
            hit = self._cache.get(key)
            if hit is not None and self._clock() < hit.serve_until:
                return hit.token  # a concurrent caller already got (or recovered) one
            # Queued behind a caller that just found the database away: do not try again yet.
            self._outage.check(*key)
            try:
                return await self._obtain(ask)
            except StorageUnavailable as exc:
                # Noted before the lock is let go, so the callers queued on it see it.
                self._outage.note(exc, *key)
                raise

    def _stale(self, key: tuple[str, str]) -> AccessToken | None:
        """The cached token if it is still valid (past its refresh moment is fine)."""
        hit = self._cache.get(key)
        now = self._clock()
        if hit is None or not self.policy.is_usable(hit.token.expires_at.timestamp(), now):
            return None
        return self._outage.served_stale(hit.token, now)

    async def _obtain(self, ask: Ask) -> AccessToken:
        tenant, provider, failed_token = ask.tenant, ask.provider, ask.failed_token
        await self._ensure_ready()
        row = await self._store.get(tenant=tenant, provider=provider)
        if row is None:
            row = await self._seed(tenant, provider, ask.creds)
        row = await self._maybe_reseed(row, ask.creds)
        deadline = self._clock() + self.policy.wait_bound()
        while True:
            served = self._serve(row, self._clock(), failed_token)
            if served is not None:
                return served
            refreshed = await self._refresh_leased(ask)
            if refreshed is not None:
                return refreshed
            if self._clock() > deadline:
                raise TokenRefreshFailed(
                    "timed out waiting for another process to refresh the token",
                    retry_after=self.policy.lease,
                    tenant=tenant,
                    provider=provider,
                )
            # A peer holds the lease: serve the still-valid token while it refreshes, or wait
            # for its token instead of calling Zoho.
            valid = self._serve(row, self._clock(), failed_token, stale_ok=True)
            if valid is not None:
                return valid
            await asyncio.sleep(self._poll * (0.5 + self._rng.random()))
            polled = await self._store.get(tenant=tenant, provider=provider)
            if polled is None:
                raise TokenRevoked("the token row was deleted", tenant=tenant, provider=provider)
            row = polled

    async def _release(self, tenant: str, provider: str) -> None:
        try:
            await self._store.release_lease(tenant=tenant, provider=provider, owner=self._owner)
        except StorageUnavailable:
            # The lease stays behind; this process takes it again on its next try
            # (TokenStore.try_lease), and peers get it when it expires.
            m.emit("token.lease_orphaned", logging.WARNING, tenant, provider)

    async def _refresh_leased(
        self, ask: Ask, *, seen_version: int | None = None
    ) -> AccessToken | None:
        """Refresh under the fleet-wide lease if the row still needs it: the row is read
        again under the lease, and a peer's refresh since (a servable token, or with
        ``seen_version``, a version other than the one the worker looked at) is served
        instead. ``None`` when a peer holds the lease (its refresh is the one that runs) or
        the row is gone."""
        tenant, provider = ask.key
        now = self._clock()
        leased = await self._store.try_lease(
            tenant=tenant,
            provider=provider,
            owner=self._owner,
            now=as_datetime(now),
            until=as_datetime(now + self.policy.lease),
        )
        if not leased:
            return None
        try:
            fresh = await self._store.get(tenant=tenant, provider=provider)
            if fresh is None:
                return None
            if seen_version is None or fresh.version != seen_version:
                served = self._serve(fresh, self._clock(), ask.failed_token)
                if served is not None:
                    return served  # a peer refreshed meanwhile
            return await self._refresh(fresh, ask)
        finally:
            await self._release(tenant, provider)

    async def refresh_ahead(self, tenant: str, provider: str) -> datetime | None:
        """The worker's refresh: a new token if this one reached its ``ahead_at`` moment,
        under the lease, respecting cooldowns. Returns when to look again, or ``None`` when
        there is nothing to keep alive (no row, needs_reauth, revoked, no refresh token);
        raises what the refresh raises (the failure is on the row; the job retries)."""
        _validate(tenant, provider)
        await self._ensure_ready()
        row = await self._store.get(tenant=tenant, provider=provider)
        if row is None or row.status != "active" or row.refresh_token_enc is None:
            return None
        now = self._clock()
        # Compared as stored (whole microseconds): a moment that rounds to now is due now.
        expires = as_epoch(row.expires_at)
        if expires is not None and row.access_token_enc is not None:
            moment = as_datetime(self.policy.ahead_at(expires, tenant, provider))
            if as_datetime(now) < moment:
                return moment
        if row.cooldown_until is not None and row.cooldown_until > as_datetime(now):
            return row.cooldown_until
        token = await self._refresh_leased(Ask(tenant, provider), seen_version=row.version)
        if token is None:
            return as_datetime(now + self.policy.lease)
        return as_datetime(self.policy.ahead_at(token.expires_at.timestamp(), tenant, provider))
