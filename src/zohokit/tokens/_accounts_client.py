"""The Zoho accounts server client: refresh, code exchange and revoke.

:func:`classify_token_response` is the pure heart: given the HTTP status and body of a token
call, it says what happened. Zoho answers errors with HTTP 200 and an ``error`` body, throttles
with "Access Denied" (200 or 400, possibly translated), and sometimes a proxy answers with an
HTML page; only a body with ``access_token`` is a success.

The client takes an optional ``httpx.AsyncBaseTransport``: tests hand it an in-process ASGI
app (the emulator) and nothing is patched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx

__all__ = [
    "AccountsClient",
    "TokenFailure",
    "TokenGrant",
    "TokenOutcome",
    "classify_token_response",
]

FailureKind = Literal["permanent", "throttled", "transient"]

#: Errors that retrying cannot fix: the refresh token, code or client is wrong or gone.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_code",
        "invalid_client",
        "invalid_client_secret",
        "invalid_grant",
        "invalid_redirect_uri",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_request",
    }
)
#: Zoho documents 3600 s; a missing field must not make a token look immortal.
DEFAULT_EXPIRES_IN = 3600.0
# Legacy answers give ``expires_in`` in milliseconds; no real token lives a day or more.
_MILLISECONDS_THRESHOLD = 86_400


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A successful token answer. ``refresh_token`` only comes with a code exchange."""

    access_token: str = field(repr=False)
    expires_in: float
    api_domain: str | None = None
    scope: str | None = None
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TokenFailure:
    """A failed token answer: ``kind`` decides what the service does next.

    ``error`` is Zoho's error code (or ``http_<status>`` / ``not_json`` / a network error
    class), safe to log and store: it never contains a token.
    """

    kind: FailureKind
    error: str
    status: int | None = None


TokenOutcome = TokenGrant | TokenFailure


def _expires_in(body: dict[str, object]) -> float:
    legacy = body.get("expires_in_sec")
    if isinstance(legacy, int | float) and not isinstance(legacy, bool) and legacy > 0:
        return float(legacy)
    value = body.get("expires_in")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value) / 1000 if value > _MILLISECONDS_THRESHOLD else float(value)
    return DEFAULT_EXPIRES_IN


def _safe_code(value: object) -> str:
    # Error codes go to logs and the database; keep them short and printable.
    text = str(value)[:64]
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def classify_token_response(status: int, body: bytes) -> TokenOutcome:
    """Say what a token-endpoint answer means. Pure: no I/O, no clock.

    - a JSON object with a non-empty ``access_token`` is a success (whatever the status);
    - 5xx, or a body that is not a JSON object, is transient;
    - ``invalid_code``, ``invalid_client`` and friends are permanent;
    - "Access Denied", or any other error with ``"status": "failure"`` (Zoho localizes the
      text), or HTTP 429, is a throttle;
    - anything else is transient.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        token = data.get("access_token")
        if isinstance(token, str) and token:
            api_domain = data.get("api_domain")
            scope = data.get("scope")
            refresh = data.get("refresh_token")
            return TokenGrant(
                access_token=token,
                expires_in=_expires_in(data),
                api_domain=api_domain if isinstance(api_domain, str) else None,
                scope=scope if isinstance(scope, str) else None,
                refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            )
    if status >= 500:
        return TokenFailure("transient", f"http_{status}", status)
    if not isinstance(data, dict):
        return TokenFailure("transient", "not_json", status)
    error = data.get("error")
    code = _safe_code(error) if error is not None else f"http_{status}"
    if isinstance(error, str) and error.strip().lower() in PERMANENT_ERRORS:
        return TokenFailure("permanent", error.strip().lower(), status)
    if (
        status == 429
        or (isinstance(error, str) and error.strip().lower() == "access denied")
        or data.get("status") == "failure"
    ):
        return TokenFailure("throttled", code, status)
    return TokenFailure("transient", code, status)


class CallRecord(Protocol):
    """The record of one call to the accounts server (what the request path's observer
    opens: :class:`zohokit.http.CallObserver`), so token calls are counted and timed with
    the API calls, under the provider ``accounts``."""

    def sent(self) -> None:
        """The call leaves now."""
        ...

    def answered(self, status: int, headers: httpx.Headers | None, code: str | None) -> None:
        """Zoho answered ``status``."""
        ...

    def failed(self, reason: str) -> None:
        """No answer: ``reason`` (``timeout``, ``transport_error``)."""
        ...


#: Opens the record of a call, given its operation (``token.refresh``, ``token.revoke``) and
#: the tenant it is for (``""`` when the caller did not say).
CallWatch = Callable[[str, str], CallRecord]
#: The operation of a token call, by its ``grant_type``.
_OPERATIONS = {"refresh_token": "token.refresh", "authorization_code": "token.exchange"}


class AccountsClient:
    """Calls one Zoho accounts server (or the emulator) with a timeout on every call.

    ``accounts_url`` is the default server; each call may name another one (a tenant's data
    centre). Give ``transport`` to route calls in process (tests, the sandbox), and ``watch``
    to record each call (metrics, log line, span).
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "zohokit",
        watch: CallWatch | None = None,
    ) -> None:
        self._timeout = timeout
        self._watch = watch
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": user_agent},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return "AccountsClient()"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def _token_call(
        self, accounts_url: str, form: dict[str, str], tenant: str
    ) -> TokenOutcome:
        operation = _OPERATIONS.get(form["grant_type"], "token.other")
        seen = self._watch(operation, tenant) if self._watch else None
        if seen is not None:
            seen.sent()
        try:
            # httpx's timeout applies to each phase (connect, write, read) on its own; the
            # whole call must fit in it, or a slow answer would outlive the refresher's lease
            # and a peer would refresh too.
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(
                    f"{accounts_url.rstrip('/')}/oauth/v2/token", data=form
                )
        except (httpx.TimeoutException, TimeoutError):
            if seen is not None:
                seen.failed("timeout")
            return TokenFailure("transient", "timeout")
        except httpx.HTTPError as exc:
            if seen is not None:
                seen.failed("transport_error")
            # The class name says what failed; the message could echo the URL, so skip it.
            return TokenFailure("transient", type(exc).__name__)
        outcome = classify_token_response(response.status_code, response.content)
        if seen is not None:
            # Zoho answers a refused grant with HTTP 200 and an ``error``: its code counts.
            code = outcome.error if isinstance(outcome, TokenFailure) else None
            seen.answered(response.status_code, response.headers, code)
        return outcome

    async def refresh(
        self,
        accounts_url: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        tenant: str = "",
    ) -> TokenOutcome:
        """Mint an access token from a refresh token (``grant_type=refresh_token``);
        ``tenant`` only names the call in metrics and logs."""
        return await self._token_call(
            accounts_url,
            {
                "grant_type": "refresh_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
            },
            tenant,
        )

    async def exchange_code(
        self,
        accounts_url: str,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
        tenant: str = "",
    ) -> TokenOutcome:
        """Exchange a grant code (connect flow or Self Client) for tokens."""
        form = {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
        }
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        if code_verifier:
            form["code_verifier"] = code_verifier
        return await self._token_call(accounts_url, form, tenant)

    async def revoke(self, accounts_url: str, *, token: str, tenant: str = "") -> bool:
        """Revoke a refresh token; ``True`` when Zoho says ``success``.

        An unknown token (400) counts as not revoked; network errors raise
        :class:`httpx.HTTPError` for the caller to map.
        """
        seen = self._watch("token.revoke", tenant) if self._watch else None
        if seen is not None:
            seen.sent()
        try:
            response = await self._http.post(
                f"{accounts_url.rstrip('/')}/oauth/v2/token/revoke", data={"token": token}
            )
        except httpx.HTTPError:
            if seen is not None:
                seen.failed("transport_error")
            raise
        if seen is not None:
            seen.answered(response.status_code, response.headers, None)
        try:
            data = response.json()
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("status") == "success"
