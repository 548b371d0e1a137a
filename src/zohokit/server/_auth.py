"""Who may call the service: API keys for ``/api/*`` and a signed session for the admin page.

- **API keys** come from ``ZOHOKIT_API_KEYS``. Only their SHA-256 is kept in memory, and a
  presented key is compared against every stored digest with :func:`hmac.compare_digest`
  (no early exit), so neither the digest nor timing tells which key nearly matched.
- **Scope**: a key is global (``KEY`` or ``*:KEY``) or bound to one tenant (``TENANT:KEY``).
- **Admin sessions** live in the database (:mod:`zohokit.server._sessions`); the login form
  itself is protected by a double-submit cookie signed here with itsdangerous.
- Keys are checked by :class:`~zohokit.server._guard.RequestGuard` before any body is read;
  the dependencies here take the principal it found.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "ApiKeyring",
    "LoginSigner",
    "Principal",
    "authenticate_headers",
    "parse_api_keys",
    "request_principal",
]

LOGIN_COOKIE = "zohokit_login"
#: A key shorter than this is refused at start: it could be guessed.
MIN_KEY_LENGTH = 16


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``tenant`` is ``None`` for a global key."""

    tenant: str | None
    #: A short, non-secret fingerprint of the key (for logs and sessions).
    key_id: str

    def may_access(self, tenant: str) -> bool:
        """Whether this caller may act on ``tenant``."""
        return self.tenant is None or hmac.compare_digest(self.tenant, tenant)

    @property
    def is_global(self) -> bool:
        """Whether the key covers every tenant."""
        return self.tenant is None


def parse_api_keys(spec: str) -> list[tuple[str | None, str]]:
    """``"k1, acme:k2, *:k3"`` → ``[(None, "k1"), ("acme", "k2"), (None, "k3")]``.

    Raises :class:`ValueError` (naming the entry's position, never the key) when an entry is
    too short to be safe.
    """
    out: list[tuple[str | None, str]] = []
    for position, raw in enumerate(spec.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        scope, sep, key = entry.partition(":")
        if not sep:
            scope, key = "", entry
        tenant = scope if sep and scope not in ("", "*") else None
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"ZOHOKIT_API_KEYS entry {position} is shorter than {MIN_KEY_LENGTH} characters"
            )
        out.append((tenant, key))
    return out


class ApiKeyring:
    """The accepted API keys, held as SHA-256 digests with their scope."""

    def __init__(self, keys: list[tuple[str | None, str]]) -> None:
        self._entries = [(_digest(key), tenant) for tenant, key in keys]
        #: Principals of digests that matched before, so a key's next request skips the
        #: comparisons; it holds no key, and only configured ones (bounded by their number).
        self._matched: dict[bytes, Principal] = {}

    @classmethod
    def from_spec(cls, spec: str | None) -> ApiKeyring:
        """Build from the ``ZOHOKIT_API_KEYS`` format (see :func:`parse_api_keys`)."""
        return cls(parse_api_keys(spec or ""))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ApiKeyring({len(self._entries)} keys)"

    def still_valid(self, principal: Principal) -> bool:
        """Whether a key with ``principal``'s fingerprint and scope is still configured (a
        session made with a key that was since removed or re-scoped ends)."""
        return any(
            digest.hex()[:12] == principal.key_id and tenant == principal.tenant
            for digest, tenant in self._entries
        )

    def authenticate(self, presented: str | None) -> Principal | None:
        """The principal for ``presented``, or ``None``. A key not seen valid before is
        compared with every digest; a valid one's principal is kept by its digest (what a
        lookup could tell, that the key is valid, the answer tells anyway)."""
        if not presented:
            return None
        digest = _digest(presented)
        known = self._matched.get(digest)
        if known is not None:
            return known
        found: Principal | None = None
        for stored, tenant in self._entries:
            if hmac.compare_digest(stored, digest) and found is None:
                found = Principal(tenant, digest.hex()[:12])
        if found is not None:
            self._matched[digest] = found
        return found


class LoginSigner:
    """Signs and checks the login form's CSRF token (a signed double-submit cookie)."""

    def __init__(self, secret: str) -> None:
        self._login = URLSafeTimedSerializer(secret, salt="zohokit.login")

    def new_login_token(self) -> str:
        """A signed random value for the login form (sent as a cookie and a hidden field)."""
        return self._login.dumps(secrets.token_urlsafe(16))

    def check_login_token(self, form_value: str | None, cookie_value: str | None) -> bool:
        """Both copies present, equal, and signed by us within the last hour."""
        if not form_value or not cookie_value:
            return False
        if not hmac.compare_digest(form_value, cookie_value):
            return False
        try:
            self._login.loads(form_value, max_age=3600)
        except BadSignature:
            return False
        return True


# OpenAPI security schemes: the document shows both ways of presenting a key.
_bearer = HTTPBearer(auto_error=False, description="An API key from ZOHOKIT_API_KEYS.")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from ZOHOKIT_API_KEYS."
)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


# Dependencies are ``async def`` although they never await: FastAPI runs a plain ``def``
# dependency in a thread pool, and that hop cost more than everything else on the broker's path.


def authenticate_headers(
    keyring: ApiKeyring, headers: Mapping[str, str]
) -> tuple[Principal | None, str]:
    """The caller a request's headers name (``Authorization: Bearer`` or ``X-API-Key``), or
    ``None`` and what is wrong, in words for the 401."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    presented = credentials.strip() if scheme.lower() == "bearer" else ""
    presented = presented or headers.get("x-api-key", "")
    if not presented:
        return None, "an API key is required (Authorization: Bearer <key> or X-API-Key)"
    principal = keyring.authenticate(presented)
    if principal is None:
        return None, "the API key is not valid"
    return principal, ""


async def api_principal(
    request: Request,
    # Declared for the OpenAPI document (both ways of presenting a key); the guard read them.
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Principal:
    """Dependency: the caller of an ``/api/*`` route, from ``Authorization: Bearer`` or
    ``X-API-Key``. 401 without a valid key."""
    return request_principal(request)


def request_principal(request: Request) -> Principal:
    """The caller of an ``/api/*`` request: the principal the guard found (it authenticates
    every such request before the app runs), else the request's key checked here. 401
    without a valid key. The token broker calls it directly, without the dependencies."""
    found: Principal | None = request.scope.get("state", {}).get("zohokit.principal")
    if found is not None:
        return found
    principal, problem = authenticate_headers(request.app.state.zohokit.keyring, request.headers)
    if principal is None:
        raise _unauthorized(problem)
    return principal


async def key_or_session_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Principal:
    """Dependency for routes a browser opens too (the connect link): a key, or a session."""
    if bearer is not None or header_key:
        return await api_principal(request, bearer, header_key)
    session = await request.app.state.zohokit.sessions.read(request.headers)
    if session is None:
        raise _unauthorized("log in on the admin page or send an API key")
    principal: Principal = session[0]
    return principal


def ensure_tenant_access(principal: Principal, tenant: str) -> None:
    """403 unless ``principal`` may act on ``tenant``."""
    if not principal.may_access(tenant):
        raise HTTPException(status_code=403, detail="this API key is not valid for this tenant")


def ensure_global(principal: Principal) -> None:
    """403 unless the key covers every tenant."""
    if not principal.is_global:
        raise HTTPException(status_code=403, detail="this action needs a key for every tenant")


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
BrowserPrincipal = Annotated[Principal, Depends(key_or_session_principal)]
