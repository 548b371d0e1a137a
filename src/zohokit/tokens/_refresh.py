"""Steps 5 and 7 of the token protocol for one row: serve it, or refresh it at Zoho.

:meth:`TokenRefresh._serve` turns :func:`~._decide.decide`'s verdict on a row into a cached
token, ``None`` (a refresh is needed) or the refusal it raises. :meth:`TokenRefresh._refresh`
makes the one call to the tenant's accounts server and writes Zoho's answer with a
compare-and-swap on ``version``: a new access token (the refresh token is kept; Zoho does not
rotate it), or the failure as columns (``needs_reauth`` for a permanent one, a cooldown
otherwise). The caller holds the fleet-wide lease; the shell that takes it is
:mod:`._service`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..db import from_row
from ..errors import NeedsReauthorization, StorageUnavailable
from . import _metrics as m
from ._accounts_client import TokenFailure, TokenGrant
from ._admin import HEALTHY
from ._core import Ask, TokenServiceBase, recovered
from ._decide import Decision, Refresh, Refuse, Serve, TokenState, decide, failure_error
from ._models import AccessToken, ZohoCredentials, as_datetime, as_epoch, scope_tuple
from ._policy import THROTTLE_COOLDOWN_SECONDS, backoff_seconds
from ._store import TokenRow

__all__ = ["TokenRefresh"]


class TokenRefresh(TokenServiceBase):
    """Serving and refreshing one row (a part of :class:`OAuthTokenService`)."""

    def _serve(
        self,
        row: TokenRow,
        now: float,
        failed_token: str | None,
        *,
        stale_ok: bool = False,
    ) -> AccessToken | None:
        """The row's token (cached) if :func:`decide` serves it, ``None`` when a refresh is
        needed; raises what :func:`decide` refuses with. A valid token past its moment counts
        as needing the refresh, unless ``stale_ok`` (someone else is refreshing it)."""
        decision = self._decide(row, now, failed_token)
        if isinstance(decision, Refuse):
            raise decision.error
        if isinstance(decision, Refresh):
            return None
        if decision.refresh and not stale_ok:
            return None
        return self._served(row, decision)

    def _decide(self, row: TokenRow, now: float, failed_token: str | None) -> Decision:
        """:func:`decide` on ``row`` (its access token decrypted) at ``now``."""
        state = TokenState.of(row, self._decrypt(row, "access_token_enc"))
        return decide(state, now, failed_token, self.policy)

    def _served(self, row: TokenRow, decision: Serve) -> AccessToken:
        """The row's token that ``decision`` serves, cached until its ``serve_until``."""
        assert row.expires_at is not None
        token = from_row(AccessToken, row, token=decision.token, scopes=scope_tuple(row.scopes))
        return self._remember(token, decision.serve_until)

    async def _refresh(self, row: TokenRow, ask: Ask) -> AccessToken:
        """Refresh ``row``'s access token at Zoho (the caller holds the lease) and write the
        answer; ``ask`` gives the OAuth client to fall back on and the token that failed."""
        tenant, provider = row.tenant, row.provider
        refresh_token = self._decrypt(row, "refresh_token_enc")
        if not refresh_token:
            raise NeedsReauthorization(
                "no refresh token is stored for this tenant; connect again",
                tenant=tenant,
                provider=provider,
            )
        client_id, client_secret = self._credentials.for_refresh(
            tenant=tenant,
            provider=provider,
            row_client_id=row.client_id,
            creds=ask.creds,
            stored=ZohoCredentials(row.client_id, self._decrypt(row, "client_secret_enc")),
        )
        started = time.perf_counter()
        outcome = await self._accounts.refresh(
            self._accounts_url(row),
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            tenant=tenant,
        )
        elapsed = time.perf_counter() - started
        m.REFRESH_LATENCY.labels(provider).observe(elapsed)
        now = self._clock()
        if isinstance(outcome, TokenGrant):
            return await self._on_success(row, outcome, now, elapsed)
        return await self._on_failure(row, outcome, now, ask.failed_token)

    async def _on_success(
        self, row: TokenRow, grant: TokenGrant, now: float, elapsed: float
    ) -> AccessToken:
        tenant, provider = row.tenant, row.provider
        expires_at = now + grant.expires_in
        api_domain, scopes = grant.api_domain or row.api_domain, grant.scope or row.scopes
        values = {
            **HEALTHY,
            # The refresh token is not touched: Zoho does not rotate it on refresh.
            "access_token_enc": self._enc(grant.access_token, tenant, provider, "access_token_enc"),
            "expires_at": as_datetime(expires_at),
            "api_domain": api_domain,
            "scopes": scopes,
            "refreshed_at": as_datetime(now),
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
        try:
            written = await self._store.compare_and_swap(
                tenant=tenant,
                provider=provider,
                expected_version=row.version,
                values=values,
                now=as_datetime(now),
                event=recovered(row, "refresh"),
            )
        except StorageUnavailable:
            # Zoho minted a valid token but the database went away: serve it rather than
            # fail; peers refresh for themselves once the database is back.
            m.emit("token.unsaved", logging.WARNING, tenant, provider)
            written = True
        if not written:
            # A peer wrote first (our lease had run out). Its token is served, as everyone
            # else is served it, while it is before its refresh moment; past it (or in a
            # cooldown the peer's failure set), the one Zoho just minted for us is better.
            peer = await self._store.get(tenant=tenant, provider=provider)
            if peer is not None:
                decision = self._decide(peer, now, None)
                if isinstance(decision, Serve) and self.policy.is_fresh(
                    as_epoch(peer.expires_at), now, tenant, provider
                ):
                    return self._served(peer, decision)
        return self._remember_minted(
            tenant, provider, grant.access_token, expires_at, api_domain=api_domain, scopes=scopes
        )

    async def _on_failure(
        self, row: TokenRow, failure: TokenFailure, now: float, failed_token: str | None
    ) -> AccessToken:
        tenant, provider = row.tenant, row.provider
        failures = row.failure_count + 1
        m.REFRESH_FAILED.labels(provider, failure.kind).inc()
        values: dict[str, Any] = {
            "last_failure_kind": failure.kind,
            "last_failure_code": failure.error,
            "last_failure_at": as_datetime(now),
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
            values["cooldown_until"] = as_datetime(now + wait)
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
        reauth = {"provider": provider, "error": failure.error, "failures": failures}
        await self._store.compare_and_swap(
            tenant=tenant,
            provider=provider,
            expected_version=row.version,
            values=values,
            now=as_datetime(now),
            event=("connection.needs_reauth", reauth) if failure.kind == "permanent" else None,
        )
        latest = await self._store.get(tenant=tenant, provider=provider)
        if latest is not None:
            served = self._serve(latest, now, failed_token)
            if served is not None:
                return served
        cooldown = as_epoch(values.get("cooldown_until"))
        retry_after = max(0.0, cooldown - now) if cooldown is not None else None
        raise failure_error(failure, tenant=tenant, provider=provider, retry_after=retry_after)
