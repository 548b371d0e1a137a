"""The token service's public value types: credentials, an access token, a status snapshot.

They hold no behaviour beyond coercion and formatting, and every secret field is hidden from
its ``repr``. :func:`snapshot` turns a stored row into the secret-free :class:`TokenStatus`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from ..db import from_row
from ._crypto import Cipher
from ._health import IN_PYTHON, ConnectionState, decide_state
from ._store import TokenRow

__all__ = [
    "AccessToken",
    "ConnectionState",
    "Source",
    "TokenStatus",
    "ZohoCredentials",
    "ZohoCredentialsDict",
    "missing_scopes",
    "snapshot",
]

#: Where a row's refresh token came from.
Source = Literal["env", "connect", "admin"]
SOURCES: tuple[Source, ...] = ("env", "connect", "admin")
#: The columns that hold ciphertext.
ENC_COLUMNS = ("client_secret_enc", "refresh_token_enc", "access_token_enc")


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
    """A snapshot of one tenant's connection, safe to print: it holds no secret.

    The last refresh failure is ``last_failure_kind`` (``permanent``, ``throttled`` or
    ``transient``), Zoho's ``last_failure_code`` and ``last_failure_at``; :attr:`last_error`
    is the two as one line for people.
    """

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
    failure_count: int
    cooldown_until: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None
    key_ids: tuple[str, ...]
    last_failure_kind: str | None = None
    last_failure_code: str | None = None
    last_failure_at: datetime | None = None

    @property
    def last_error(self) -> str | None:
        """The last refresh failure as ``"kind: code"`` (``None`` when the last one worked)."""
        return failure_text(self.last_failure_kind, self.last_failure_code)

    def state(self, now: datetime) -> ConnectionState:
        """The one word the CLI, the API and the console use for this connection at ``now``
        (:func:`~zohokit.tokens._health.decide_state`): ``healthy``, ``expiring``,
        ``cooldown``, ``needs_reauth`` or ``revoked``. (The stored ``status`` column says
        ``active`` for the first three.)"""
        return decide_state(IN_PYTHON, self.status, self.cooldown_until, self.expires_at, now)


def failure_text(kind: str | None, code: str | None) -> str | None:
    """A stored failure as one line: ``"throttled: Access Denied"``."""
    if kind is None:
        return None
    return f"{kind}: {code}" if code else kind


def as_datetime(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (what the table stores)."""
    return datetime.fromtimestamp(ts, tz=UTC)


def as_epoch(value: datetime | None) -> float | None:
    """A stored time as epoch seconds (what the clock and the policy use)."""
    return value.timestamp() if value is not None else None


def scope_tuple(text: str | None) -> tuple[str, ...]:
    """Zoho's scope string (comma- or space-separated) as a tuple."""
    return tuple(s for s in (text or "").replace(",", " ").split() if s)


def missing_scopes(granted: tuple[str, ...], required: tuple[str, ...]) -> tuple[str, ...]:
    """The ``required`` scopes that ``granted`` does not cover (case-insensitively, as Zoho
    compares them). ``X.ALL`` covers every scope under ``X`` (``ZohoCRM.modules.ALL`` covers
    ``ZohoCRM.modules.READ`` and ``ZohoCRM.modules.contacts.CREATE``)."""
    have = {g.lower() for g in granted}
    wide = [g[: -len("all")] for g in have if g.endswith(".all")]  # "zohocrm.modules."
    return tuple(
        r
        for r in required
        if r.lower() not in have and not any(r.lower().startswith(w) for w in wide)
    )


def snapshot(row: TokenRow, *, accounts_server: str) -> TokenStatus:
    """The secret-free status of ``row``; ``accounts_server`` is where its token calls go."""
    kids = sorted(
        {kid for c in ENC_COLUMNS if (v := getattr(row, c)) and (kid := Cipher.key_id_of(v))}
    )
    return from_row(
        TokenStatus,
        row,
        has_refresh_token=row.refresh_token_enc is not None,
        has_access_token=row.access_token_enc is not None,
        accounts_server=accounts_server,
        scopes=scope_tuple(row.scopes),
        key_ids=tuple(kids),
    )
