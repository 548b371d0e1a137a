"""The admin operations on stored connections: grant, code exchange, revoke, forget,
import from the environment, key rotation.

Every write goes through one compare-and-swap helper (:meth:`TokenServiceBase._swap`): the
values are computed from the row they replace, and recomputed when a peer wrote first, so a
concurrent refresh is never overwritten with stale columns. None of these operations is on
the hot path of :meth:`~zohokit.tokens.OAuthTokenService.get_token`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from ..datacenters import by_accounts_server, trusted_accounts_server
from ..errors import (
    ConfigurationError,
    MissingScopes,
    NeedsReauthorization,
    TransportError,
    UntrustedAccountsServer,
)
from . import _metrics as m
from ._accounts_client import TokenFailure
from ._core import TokenServiceBase, _validate, recovered
from ._crypto import DecryptionError
from ._decide import failure_error
from ._models import (
    SOURCES,
    AccessToken,
    Source,
    TokenStatus,
    ZohoCredentials,
    as_datetime,
    missing_scopes,
    scope_tuple,
)
from ._store import TokenRow

__all__ = ["TokenAdmin"]

#: What a successful grant, import or re-seed resets: the row is healthy again.
HEALTHY: dict[str, Any] = {
    "status": "active",
    "last_failure_kind": None,
    "last_failure_code": None,
    "last_failure_at": None,
    "failure_count": 0,
    "cooldown_until": None,
}


class TokenAdmin(TokenServiceBase):
    """The admin operations of :class:`~zohokit.tokens.OAuthTokenService`."""

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
        _validate(tenant, provider)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        await self._ensure_ready()
        accounts = (accounts_server or self._default_accounts_url).rstrip("/")
        dc = by_accounts_server(accounts)
        ctx = (tenant, provider)

        def grant(row: TokenRow | None, now: float) -> dict[str, Any]:
            values: dict[str, Any] = {
                **HEALTHY,
                "client_id": client_id,
                "client_secret_enc": self._enc(client_secret, *ctx, "client_secret_enc"),
                "refresh_token_enc": self._enc(refresh_token, *ctx, "refresh_token_enc"),
                "access_token_enc": self._enc(access_token, *ctx, "access_token_enc"),
                "expires_at": as_datetime(now + (expires_in or 3600.0)) if access_token else None,
                "api_domain": api_domain,
                "accounts_server": accounts,
                "data_center": dc.code if dc else None,
                "scopes": scopes,
                "source": source,
                "refreshed_at": as_datetime(now) if access_token else None,
            }
            if row is not None and client_id is None:
                # Keep the OAuth client already on file when the grant does not name one.
                values["client_id"] = row.client_id
                values["client_secret_enc"] = row.client_secret_enc
            return values

        await self._swap(tenant, provider, grant, event=lambda r: recovered(r, source))
        self._cache.pop(ctx, None)
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
        required_scopes: tuple[str, ...] = (),
    ) -> AccessToken:
        """Exchange a grant code at the tenant's accounts server and store the tokens.

        The one code-exchange path: the server's connect callback and ``zohokit tokens
        exchange`` (a Self Client code) both come here. ``required_scopes`` are checked
        against the scopes Zoho says it granted (the token answer's ``scope``): should any be
        missing, the new refresh token is revoked, nothing is stored, and
        :class:`MissingScopes` names them. An answer without ``scope`` is not checked.

        ``accounts_server`` comes from the callback; it must pass
        :func:`~zohokit.datacenters.trusted_accounts_server` (one of Zoho's, or exactly the
        configured override), so a forged callback cannot receive the client secret:
        otherwise :class:`UntrustedAccountsServer` is raised and nothing is sent. On a
        reconnect, the refresh token being replaced is revoked at Zoho once the new grant is
        in hand (it would otherwise stay valid and count against Zoho's per-user cap).
        Zoho's refusals raise as a refresh's would (:class:`NeedsReauthorization`, ...).
        """
        _validate(tenant, provider)
        creds = ZohoCredentials.coerce(credentials)
        if creds is None or not creds.client_id or not creds.client_secret:
            raise ConfigurationError(
                "a code exchange needs the OAuth client id and secret",
                tenant=tenant,
                provider=provider,
            )
        given = accounts_server or self._override or self._default_accounts_url
        # The URL called and stored is the rule's, never the caller's string.
        accounts = trusted_accounts_server(given, self._override)
        if accounts is None:
            raise UntrustedAccountsServer(
                "the callback's accounts-server is not a Zoho accounts server (nor the "
                "configured ZOHO_ACCOUNTS_URL); nothing was sent to it",
                tenant=tenant,
                provider=provider,
            )
        await self._ensure_ready()
        outcome = await self._accounts.exchange_code(
            self._override or accounts,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            tenant=tenant,
        )
        if isinstance(outcome, TokenFailure):
            raise failure_error(outcome, tenant=tenant, provider=provider, retry_after=None)
        if outcome.refresh_token is None:
            raise NeedsReauthorization(
                "Zoho returned no refresh token: ask for access_type=offline and prompt=consent",
                reason="no refresh token",
                tenant=tenant,
                provider=provider,
            )
        granted = scope_tuple(outcome.scope)
        missing = missing_scopes(granted, required_scopes) if granted else ()
        if missing:
            await self._revoke_unused(accounts, outcome.refresh_token, tenant, provider)
            raise MissingScopes(missing, tenant=tenant, provider=provider)
        previous = await self._store.get(tenant=tenant, provider=provider)
        if previous is not None and previous.status != "revoked":
            await self._revoke_replaced(previous, outcome.refresh_token)
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
        expires = self._clock() + outcome.expires_in
        return self._remember_minted(
            tenant,
            provider,
            outcome.access_token,
            expires,
            api_domain=outcome.api_domain,
            scopes=outcome.scope,
        )

    async def _revoke_replaced(self, previous: TokenRow, replacement: str) -> None:
        # The new grant is already in hand, so a failure here costs nothing but a warning.
        tenant, provider = previous.tenant, previous.provider
        try:
            old = self._decrypt(previous, "refresh_token_enc")
            if not old or old == replacement:
                return
            confirmed = await self._accounts.revoke(
                self._accounts_url(previous), token=old, tenant=tenant
            )
        except (httpx.HTTPError, DecryptionError) as exc:
            m.emit(
                "token.revoke_failed", logging.WARNING, tenant, provider, error=type(exc).__name__
            )
            return
        m.emit("token.replaced", logging.INFO, tenant, provider, revoked=confirmed)

    async def _revoke_unused(
        self, accounts: str, refresh_token: str, tenant: str, provider: str
    ) -> None:
        # A grant refused for its scopes would otherwise stay live at Zoho and count
        # against the user's cap of refresh tokens.
        try:
            await self._accounts.revoke(
                self._override or accounts, token=refresh_token, tenant=tenant
            )
        except httpx.HTTPError as exc:
            m.emit(
                "token.revoke_failed", logging.WARNING, tenant, provider, error=type(exc).__name__
            )

    async def revoke(self, tenant: str, provider: str) -> bool:
        """Revoke the tenant's refresh token at Zoho and mark the row ``revoked``.

        Returns whether Zoho confirmed. The row is marked (and its tokens erased) either
        way, so nothing keeps using a connection the operator wanted gone.
        """
        _validate(tenant, provider)
        await self._ensure_ready()
        row = await self._store.get(tenant=tenant, provider=provider)
        if row is None:
            return False
        refresh = self._decrypt(row, "refresh_token_enc")
        confirmed = False
        if refresh:
            try:
                confirmed = await self._accounts.revoke(
                    self._accounts_url(row), token=refresh, tenant=tenant
                )
            except httpx.HTTPError as exc:
                raise TransportError(
                    f"could not reach the accounts server to revoke ({type(exc).__name__})",
                    tenant=tenant,
                    provider=provider,
                ) from exc

        def revoked(current: TokenRow | None, _now: float) -> dict[str, Any] | None:
            if current is None:
                return None
            return {
                "status": "revoked",
                "refresh_token_enc": None,
                "access_token_enc": None,
                "expires_at": None,
                "cooldown_until": None,
                "last_failure_kind": None,
                "last_failure_code": None,
                "last_failure_at": None,
            }

        await self._swap(tenant, provider, revoked)
        self._cache.pop((tenant, provider), None)
        m.emit("token.revoked", logging.INFO, tenant, provider, confirmed=confirmed)
        return confirmed

    async def forget(self, tenant: str, provider: str) -> bool:
        """Delete the tenant's row for ``provider``, secrets and all; ``True`` if there was one.

        Nothing is sent to Zoho: :meth:`revoke` first when the refresh token must die too.
        A later call for this tenant starts from scratch (and may seed from the environment).
        """
        _validate(tenant, provider)
        await self._ensure_ready()
        self._cache.pop((tenant, provider), None)
        gone = await self._store.delete(tenant=tenant, provider=provider)
        if gone:
            m.emit("token.forgotten", logging.INFO, tenant, provider)
        return gone

    async def import_env(self, tenant: str = "default", provider: str = "zoho_crm") -> TokenStatus:
        """Store the environment's refresh token for ``tenant`` (``source=env``), replacing
        the row: the way to recover an env-configured tenant after fixing the variables."""
        _validate(tenant, provider)
        creds = self._credentials.for_seed(None, tenant, provider)
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

        def reencrypted(row: TokenRow | None, _now: float) -> dict[str, Any] | None:
            return (self._reencrypted(row) or None) if row is not None else None

        changed = 0
        for row in await self._store.list():
            changed += await self._swap(row.tenant, row.provider, reencrypted)
        self._cache.clear()
        return changed
