"""Admin sessions kept in the database, so that logging out ends a session at once on every
instance behind the balancer.

The cookie holds a random value; the ``admin_sessions`` row holds only its SHA-256, the key's
fingerprint and scope, and an expiry. Reading a session checks the row (logout deleted it) and
that a key with that fingerprint and scope is still configured (a removed or re-scoped key
ends its sessions with the next request). The CSRF token the forms post back is an HMAC of the
cookie value under the session secret: nothing more to store, and useless without the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import cookie_parser

from ._auth import ApiKeyring, Principal
from ._tables import admin_sessions

__all__ = ["SESSION_COOKIE", "AdminSession", "SessionStore"]

SESSION_COOKIE = "zohokit_session"

#: A session as a request sees it: who, and the CSRF token its forms must send.
AdminSession = tuple[Principal, str]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _cookie(headers: Mapping[str, str]) -> str | None:
    """The session cookie's value from a request's headers."""
    return cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE) or None


class SessionStore:
    """Create, read and end admin sessions (``admin_sessions``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: ApiKeyring,
        *,
        secret: str,
        max_age: float,
        clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._keyring = keyring
        self._secret = secret.encode()
        self.max_age = max_age
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionStore(max_age={self.max_age})"

    def _csrf(self, value: str) -> str:
        return hmac.new(self._secret, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()

    async def create(self, principal: Principal) -> tuple[str, str]:
        """A new session for ``principal``: the cookie value and its CSRF token. Expired rows
        are swept on the way, so the table holds only live sessions."""
        value = secrets.token_urlsafe(32)
        now = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(admin_sessions.delete().where(admin_sessions.c.expires_at <= now))
            await conn.execute(
                insert(admin_sessions).values(
                    session_hash=_hash(value),
                    key_id=principal.key_id,
                    tenant=principal.tenant,
                    created_at=now,
                    expires_at=now + self.max_age,
                )
            )
        return value, self._csrf(value)

    async def read(self, headers: Mapping[str, str]) -> AdminSession | None:
        """The live session named by the request's cookie, or ``None`` (no cookie, unknown,
        logged out, expired, or its key is gone or re-scoped)."""
        value = _cookie(headers)
        if value is None or len(value) > 128:
            return None
        c = admin_sessions.c
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(c.key_id, c.tenant).where(
                        c.session_hash == _hash(value), c.expires_at > self._clock()
                    )
                )
            ).first()
        if row is None:
            return None
        principal = Principal(row.tenant, row.key_id)
        if not self._keyring.still_valid(principal):
            return None
        return principal, self._csrf(value)

    async def end(self, headers: Mapping[str, str]) -> None:
        """Log out: delete the session named by the request's cookie (if any)."""
        value = _cookie(headers)
        if value is None:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                admin_sessions.delete().where(admin_sessions.c.session_hash == _hash(value))
            )
