"""The token protocol's decision, as a pure function: serve this token, refresh, or refuse.

:func:`decide` looks at what the database holds for one (tenant, provider), the time, the
token a caller just saw fail (a 401), and the :class:`RefreshPolicy`, and returns one of

* :class:`Serve` - the stored token may be used, and cached until ``serve_until``; with
  ``refresh`` set it is past its refresh moment but still valid: refresh it, and meanwhile
  serve it to every caller that is not the refresher (none waits on Zoho for a valid token);
* :class:`Refresh` - nothing may be served: take the lease and ask Zoho;
* :class:`Refuse` - the row forbids asking Zoho now (re-authorization needed, revoked, or a
  cooldown with no usable token); ``error`` is what to raise.

Nothing here does I/O, reads the clock or decrypts: the shell (:mod:`._service`) hands in a
:class:`TokenState` with the plaintext access token, so every rule can be property-tested
without a database (``tests/tokens/test_decide.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import (
    NeedsReauthorization,
    TokenError,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
)
from ._accounts_client import TokenFailure
from ._models import as_epoch, failure_text
from ._policy import THROTTLE_COOLDOWN_SECONDS, RefreshPolicy
from ._store import TokenRow

__all__ = ["Decision", "Refresh", "Refuse", "Serve", "TokenState", "decide", "failure_error"]

#: A token this close to expiry is not handed out during a cooldown: the call would fail.
USABLE_SAFETY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class TokenState:
    """What :func:`decide` needs of a stored row, with the access token in plaintext."""

    tenant: str
    provider: str
    status: str
    access_token: str | None = field(repr=False)
    expires_at: float | None
    cooldown_until: float | None = None
    failure_kind: str | None = None
    failure_code: str | None = None
    failure_count: int = 0

    @classmethod
    def of(cls, row: TokenRow, access_token: str | None) -> TokenState:
        """The state of ``row`` whose access token decrypts to ``access_token``."""
        return cls(
            tenant=row.tenant,
            provider=row.provider,
            status=row.status,
            access_token=access_token,
            expires_at=as_epoch(row.expires_at),
            cooldown_until=as_epoch(row.cooldown_until),
            failure_kind=row.last_failure_kind,
            failure_code=row.last_failure_code,
            failure_count=row.failure_count,
        )


@dataclass(frozen=True, slots=True)
class Serve:
    """Use ``token``; callers may reuse it without asking again until ``serve_until``.

    ``refresh``: the token is past its refresh moment (still valid): one caller refreshes
    it under the lease; the others are served this token instead of waiting.
    """

    token: str = field(repr=False)
    serve_until: float
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class Refresh:
    """No stored token may be served: refresh (under the fleet-wide lease)."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Neither serve nor refresh: raise ``error``."""

    error: TokenError


Decision = Serve | Refresh | Refuse


def decide(
    row: TokenState, now: float, failed_token: str | None, policy: RefreshPolicy
) -> Decision:
    """What to do with ``row`` at ``now``, given the token a caller saw fail (or ``None``)."""
    tenant, provider = row.tenant, row.provider
    if row.status == "needs_reauth":
        return Refuse(
            NeedsReauthorization(
                "Zoho rejected this tenant's refresh token or client; connect again "
                "(or fix the environment and run `zohokit tokens import-env`)",
                reason=row.failure_code,
                tenant=tenant,
                provider=provider,
            )
        )
    if row.status == "revoked":
        return Refuse(
            TokenRevoked("this tenant's tokens were revoked", tenant=tenant, provider=provider)
        )
    token = row.access_token if row.access_token != failed_token else None
    expires = row.expires_at
    if token is not None and policy.is_fresh(expires, now, tenant, provider):
        assert expires is not None  # is_fresh says so
        return Serve(token, policy.refresh_at(expires, tenant, provider))
    cooldown = row.cooldown_until
    usable = (
        token is not None
        and expires is not None
        and policy.is_usable(expires, now, safety=USABLE_SAFETY_SECONDS)
    )
    if cooldown is None or cooldown <= now:
        if not usable:
            return Refresh()
        assert token is not None
        assert expires is not None
        # Valid, past its moment: served while one refresh runs; looked at again after a
        # lease (by then the refresh is done, or failed and set a cooldown).
        return Serve(token, min(now + policy.lease, expires - USABLE_SAFETY_SECONDS), True)
    if usable:
        assert token is not None
        assert expires is not None
        # Cooling down, but the token still works: serve it, and look again when either the
        # cooldown ends or the token is about to run out.
        return Serve(token, min(cooldown, expires - USABLE_SAFETY_SECONDS))
    if row.failure_kind == "throttled":
        return Refuse(
            TokenRefreshThrottled(
                "Zoho throttled token refreshes for this client; waiting out its window",
                retry_after=cooldown - now,
                tenant=tenant,
                provider=provider,
            )
        )
    return Refuse(
        TokenRefreshFailed(
            f"token refresh is backing off after {row.failure_count} failure(s)"
            f" ({failure_text(row.failure_kind, row.failure_code)})",
            retry_after=cooldown - now,
            tenant=tenant,
            provider=provider,
        )
    )


def failure_error(
    failure: TokenFailure, *, tenant: str, provider: str, retry_after: float | None
) -> TokenError:
    """The error for a token request Zoho refused (``retry_after`` while cooling down)."""
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
