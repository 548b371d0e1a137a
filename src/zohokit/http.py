"""The one request path every Zoho CRM and Calendar call goes through.

:class:`ZohoHTTP` owns what a Zoho call needs beyond building the request and reading the
answer: the access token (from a :class:`TokenSource`, normally the token service), the
``Authorization: Zoho-oauthtoken`` header, the host of the tenant's data centre, a per-tenant
cap on requests in flight, retries with backoff and jitter, recovery from a 401 with a fresh
token, and mapping every failure onto the error tree of :mod:`zohokit.errors`.

The retry rules are plain functions of their inputs (:func:`classify_exception`,
:func:`classify_response`, :meth:`RetryPolicy.delay`) so they can be tested without I/O:

- 429, 5xx, HTML or otherwise non-JSON answers and connection failures are retried, up to
  ``max_retries`` times, with exponential backoff, jitter, and Zoho's ``Retry-After`` if sent;
- a request that may have reached Zoho (read timeout, dropped connection, 5xx) is retried only
  when it is idempotent: an insert is never sent twice blindly (use an upsert to get retries);
- a 401 ``INVALID_TOKEN`` / ``INVALID_OAUTHTOKEN`` invalidates the token once and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json as jsonlib
import logging
import math
import random
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from .datacenters import DATA_CENTERS
from .errors import (
    AuthenticationError,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    ZohoAPIError,
)
from .settings import EnvCredentials, Settings
from .tokens import ZohoCredentials

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "RequestTally",
    "RetryPolicy",
    "ServiceDefaults",
    "TokenLike",
    "TokenSource",
    "ZohoHTTP",
    "ZohoResponse",
    "ZohoService",
    "calendar_url_for",
    "classify_exception",
    "classify_response",
    "credits_for",
    "current_tally",
    "default_http",
    "parse_retry_after",
    "tally_requests",
]

log = logging.getLogger("zohokit.http")

#: Zoho's concurrency limit for heavy APIs is 10 in every edition (zoho-api.md 3.14).
DEFAULT_MAX_IN_FLIGHT = 10
#: Connect quickly or fail; give Zoho time to answer a 100-record write.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: 401 codes that mean "this token is dead, a fresh one will do" (not a scope or header error).
TOKEN_DEAD_CODES = frozenset({"INVALID_TOKEN", "INVALID_OAUTHTOKEN"})
#: Methods that may be sent twice with the same effect.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

Service = Literal["crm", "calendar"]
#: What a failed attempt was, for the retry decision.
Failure = Literal["not_sent", "maybe_processed", "throttled", "server"]


class TokenLike(Protocol):
    """What the request path needs from an access token."""

    @property
    def token(self) -> str:
        """The access token itself."""
        ...

    @property
    def api_domain(self) -> str | None:
        """The CRM host of the tenant's data centre (the token response's ``api_domain``)."""
        ...


class TokenSource(Protocol):
    """Where tokens come from: :class:`zohokit.tokens.OAuthTokenService` satisfies it."""

    async def get_access_token(self, tenant: str, provider: str, credentials: Any = None, /) -> str:
        """The seed's call: a valid access token (the string) for the tenant and provider."""
        ...

    async def get_token(self, tenant: str, provider: str, credentials: Any = None, /) -> TokenLike:
        """A valid access token, with its ``api_domain``, for the tenant and provider."""
        ...

    async def invalidate(
        self, tenant: str, provider: str, failed_token: str, credentials: Any = None, /
    ) -> TokenLike:
        """Forget ``failed_token`` (Zoho refused it) and return a token that is not it."""
        ...


@dataclass(frozen=True, slots=True)
class ZohoResponse:
    """A successful (or per-record) Zoho answer. ``body`` is ``None`` for 204 and 304."""

    status: int
    headers: httpx.Headers
    body: Any
    request_id: str | None = None

    @property
    def not_modified(self) -> bool:
        """Whether Zoho said 304: nothing changed since ``If-Modified-Since``."""
        return self.status == 304


def credits_for(method: str, json: Any) -> int:
    """Zoho API credits one call costs: a write of N records ``ceil(N / 10)``, any other 1.

    These are Zoho's published rates (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
    """
    if method in ("POST", "PUT", "PATCH") and isinstance(json, Mapping):
        records = json.get("data")
        if isinstance(records, list) and records:
            return math.ceil(len(records) / 10)
    return 1


@dataclass
class RequestTally:
    """What the request path sent while :func:`tally_requests` was active.

    Every attempt counts, retries included: each one reached (or may have reached) Zoho and
    costs credits there.
    """

    requests: int = 0
    credits: int = 0

    def add(self, method: str, json: Any) -> None:
        """Count one attempt."""
        self.requests += 1
        self.credits += credits_for(method, json)


_tally: ContextVar[RequestTally | None] = ContextVar("zohokit_request_tally", default=None)


def current_tally() -> RequestTally | None:
    """The tally of the innermost :func:`tally_requests` block this task runs in, if any."""
    return _tally.get()


@contextlib.contextmanager
def tally_requests() -> Iterator[RequestTally]:
    """Count every request sent by this task and the tasks it starts, while the block runs.

    >>> with tally_requests() as tally:  # doctest: +SKIP
    ...     await crm.upsert_records("Leads", rows)
    >>> tally.requests, tally.credits  # doctest: +SKIP
    """
    tally = RequestTally()
    reset = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(reset)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before sending a failed request again.

    The delay before retry ``n`` (0-based) is ``initial_delay * 2**n`` capped at ``max_delay``,
    then jittered into ``[delay/2, delay]`` so that many clients do not retry in lockstep.
    A ``Retry-After`` from Zoho wins when it is longer; one longer than ``max_retry_after`` is
    not waited for at all (the error is raised with ``retry_after`` for the caller to plan).
    """

    max_retries: int = 3
    initial_delay: float = 0.2
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def jitter(self, delay: float) -> float:
        """Spread ``delay`` randomly over its upper half (override to make tests exact)."""
        return random.uniform(delay / 2, delay)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (0-based), or ``None`` to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        backoff = self.jitter(min(self.max_delay, self.initial_delay * 2**attempt))
        return max(backoff, retry_after or 0.0)


def should_retry(failure: Failure, idempotent: bool) -> bool:
    """Whether a failed attempt may be sent again.

    A request that never left (``not_sent``) or that Zoho refused before doing anything
    (``throttled``: 429) is always safe to resend. One that may have been processed (a read
    timeout, a dropped answer, a 5xx or a gateway page) is resent only if it is idempotent.
    """
    if failure in ("not_sent", "throttled"):
        return True
    return idempotent


def classify_exception(exc: httpx.TransportError) -> Failure:
    """Whether a transport error happened before the request could reach Zoho."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "not_sent"
    return "maybe_processed"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _decode(response: httpx.Response) -> tuple[bool, Any]:
    """``(is_json, body)``: Zoho's JSON, or the fact that the answer was not JSON."""
    if response.status_code in (204, 304) or not response.content:
        return True, None
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return False, None
    try:
        return True, jsonlib.loads(response.content)
    except ValueError:
        return False, None


def classify_response(status: int, is_json: bool, body: Any) -> Failure | None:
    """The retryable failure an answer represents, or ``None`` if it is final."""
    if status == 429:
        return "throttled"
    if status >= 500 or not is_json:
        # A non-JSON answer is a proxy or maintenance page, never Zoho's API speaking.
        return "server"
    return None


def _error_fields(body: Any) -> tuple[str | None, str, dict[str, Any]]:
    """Zoho's ``code``, ``message`` and ``details`` from a request-level error body."""
    if isinstance(body, dict):
        # Calendar sometimes wraps the error in "error"; CRM puts it at the top.
        nested = body.get("error")
        inner: dict[str, Any] = nested if isinstance(nested, dict) else body
        code = inner.get("code")
        message = inner.get("message") or "Zoho returned an error"
        details = inner.get("details")
        return (
            str(code) if code is not None else None,
            str(message),
            details if isinstance(details, dict) else {},
        )
    return None, "Zoho returned an error", {}


def _api_host(url: str) -> str | None:
    return urlsplit(url).hostname


_CALENDAR_BY_API_HOST = {_api_host(dc.api_domain): dc.calendar_url for dc in DATA_CENTERS}


def calendar_url_for(api_domain: str) -> str:
    """The Calendar host of the data centre whose CRM host is ``api_domain``.

    ``https://www.zohoapis.eu`` gives ``https://calendar.zoho.eu``. A host that is not one of
    Zoho's (the emulator, a proxy) serves Calendar itself, so it is returned unchanged.
    """
    host = _api_host(api_domain)
    if host in _CALENDAR_BY_API_HOST:
        calendar = _CALENDAR_BY_API_HOST[host]
        if calendar is None:
            raise ZohoAPIError(f"Zoho Calendar has no known host for the data centre of {host}")
        return calendar
    return api_domain.rstrip("/")


@dataclass
class _LoopState:
    """The HTTP client and in-flight caps of one event loop (neither can cross loops)."""

    client: httpx.AsyncClient
    caps: dict[tuple[str, str], asyncio.Semaphore] = field(default_factory=dict)


class ZohoHTTP:
    """The shared async client for Zoho CRM and Calendar: one per process is enough.

    ``tokens`` hands out access tokens; ``max_in_flight`` caps concurrent requests per tenant
    and provider (Zoho answers 429 past its concurrency limit, so waiting here is cheaper);
    ``transport`` replaces the network (an ``httpx.ASGITransport`` over the emulator in tests).
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.tokens = tokens
        self.max_in_flight = max_in_flight
        self.retry = retry or RetryPolicy()
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._transport = transport
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"ZohoHTTP(max_in_flight={self.max_in_flight}, retry={self.retry!r})"

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None or state.client.is_closed:
            limits = httpx.Limits(
                max_connections=None, max_keepalive_connections=4 * self.max_in_flight
            )
            client = httpx.AsyncClient(
                timeout=self.timeout,
                limits=limits,
                transport=self._transport,
                headers={"User-Agent": "zohokit/0.1", "Accept": "application/json"},
            )
            state = _LoopState(client)
            self._loops[loop] = state
        return state

    def _cap(self, state: _LoopState, tenant: str, provider: str) -> asyncio.Semaphore:
        key = (tenant, provider)
        cap = state.caps.get(key)
        if cap is None:
            cap = state.caps[key] = asyncio.Semaphore(self.max_in_flight)
        return cap

    async def aclose(self) -> None:
        """Close the connections this event loop opened."""
        loop = asyncio.get_running_loop()
        state = self._loops.pop(loop, None)
        if state is not None:
            await state.client.aclose()

    @staticmethod
    def base_url(service: Service, token: TokenLike, override: str | None = None) -> str:
        """Where the tenant's ``service`` lives: ``override``, else derived from the token."""
        if override:
            return override.rstrip("/")
        api_domain = (token.api_domain or "https://www.zohoapis.com").rstrip("/")
        return api_domain if service == "crm" else calendar_url_for(api_domain)

    async def request(
        self,
        tenant: str,
        provider: str,
        method: str,
        path: str,
        *,
        service: Service,
        credentials: Any = None,
        base_url: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        record_results: bool = False,
    ) -> ZohoResponse:
        """Send one Zoho call for ``tenant`` and return its answer, or raise a ``ZohoError``.

        ``path`` starts with ``/`` and is joined to the tenant's host (``base_url`` overrides
        it). ``idempotent`` defaults from the method (POST is not). With ``record_results`` a
        4xx whose body is a per-record ``data`` array (a bulk write where every record failed)
        is returned rather than raised, so the caller can report each record.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        state = self._state()
        cap = self._cap(state, tenant, provider)
        token_recovered = False
        attempt = 0
        pinned: TokenLike | None = None
        while True:
            # After a 401 the token handed back by ``invalidate`` is used as is: asking again
            # could return a cached copy of the token that just failed.
            token = pinned or await self.tokens.get_token(tenant, provider, credentials)
            pinned = None
            url = self.base_url(service, token, base_url) + path
            send_headers = {"Authorization": f"Zoho-oauthtoken {token.token}", **(headers or {})}
            failure: Failure
            retry_after: float | None = None
            error: Exception
            try:
                async with cap:
                    tally = _tally.get()
                    if tally is not None:
                        tally.add(method, json)
                    response = await state.client.request(
                        method, url, params=params, json=json, data=data, headers=send_headers
                    )
            except httpx.TransportError as exc:
                failure = classify_exception(exc)
                error = TransportError(
                    f"{method} {path} got no answer from Zoho ({type(exc).__name__})",
                    tenant=tenant,
                    provider=provider,
                )
                error.__cause__ = exc
            else:
                is_json, body = _decode(response)
                status = response.status_code
                request_id = response.headers.get("x-request-id")
                log.debug("%s %s -> %s (attempt %d)", method, path, status, attempt + 1)
                code, message, details = _error_fields(body) if is_json else (None, "", {})
                if status == 401 and code in TOKEN_DEAD_CODES and not token_recovered:
                    # The token was evicted or expired early: one fresh token, one more try.
                    token_recovered = True
                    fresh = await self.tokens.invalidate(tenant, provider, token.token, credentials)
                    pinned = fresh
                    continue
                maybe = classify_response(status, is_json, body)
                if maybe is None:
                    if status < 400 or (
                        record_results
                        and isinstance(body, dict)
                        and isinstance(body.get("data"), list)
                    ):
                        return ZohoResponse(status, response.headers, body, request_id)
                    raise _api_error(
                        status, code, message, details, request_id, tenant, provider, method, path
                    )
                failure = maybe
                if failure == "throttled":
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    if retry_after is None and isinstance(details.get("retry_after"), int | float):
                        retry_after = float(details["retry_after"])
                error = _api_error(
                    status,
                    code,
                    message,
                    details,
                    request_id,
                    tenant,
                    provider,
                    method,
                    path,
                    retry_after=retry_after,
                )
            delay = (
                self.retry.delay(attempt, retry_after)
                if should_retry(failure, idempotent)
                else None
            )
            if delay is None:
                raise error
            log.info(
                "retrying %s %s for tenant %s in %.2fs after %s (attempt %d)",
                method,
                path,
                tenant,
                delay,
                failure,
                attempt + 1,
            )
            attempt += 1
            await asyncio.sleep(delay)


def _api_error(
    status: int,
    code: str | None,
    message: str,
    details: dict[str, Any],
    request_id: str | None,
    tenant: str,
    provider: str,
    method: str,
    path: str,
    *,
    retry_after: float | None = None,
) -> ZohoAPIError:
    """The error-tree node for a final Zoho answer."""
    text = f"{method} {path}: {message or 'Zoho returned HTTP ' + str(status)}"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "request_id": request_id,
        "tenant": tenant,
        "provider": provider,
    }
    if status == 429:
        return RateLimited(text, retry_after=retry_after, **common)
    if status >= 500 or (code is None and status >= 400 and not message):
        return ServerError(text, **common)
    if status == 401:
        return AuthenticationError(text, **common)
    if status == 404:
        return NotFound(text, **common)
    if status == 412:
        return PreconditionFailed(text, **common)
    if status < 400:
        # A 2xx that was not JSON: a proxy page in place of Zoho's answer.
        return ServerError(f"{method} {path}: the answer was not JSON", **common)
    return ZohoAPIError(text, **common)


# --- the services' common ground -------------------------------------------------------------


def _default_root() -> Any:
    # The seed's API: a service built with no wiring runs on the process-wide default root.
    # Imported here, not at the top: the root sits above this module and wires it.
    from ._zoho import Zoho

    return Zoho.default()


def default_http() -> ZohoHTTP:
    """The request path of :meth:`zohokit.Zoho.default` (built from the environment on first
    call, never at import). Every service built with no wiring shares it, and with it one
    connection pool and one in-flight cap per tenant."""
    http: ZohoHTTP = _default_root().http
    return http


@dataclass(frozen=True)
class ServiceDefaults:
    """What a service falls back to when its caller gives nothing more specific.

    ``env_credentials(provider)`` gives the environment's OAuth client (the ``ZOHO_*``
    variables); ``api_url`` and ``calendar_url`` replace Zoho's hosts (the emulator, a
    proxy); ``calendar_id`` is the default calendar. A :class:`~zohokit.Zoho` root hands its
    own to every service it builds; a service built with none has no fallback at all.
    """

    env_credentials: Callable[[str], EnvCredentials] | None = None
    api_url: str | None = None
    calendar_url: str | None = None
    calendar_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceDefaults:
        """The fallbacks ``settings`` describe (it is read, never built, here)."""
        return cls(
            env_credentials=settings.env_credentials,
            api_url=settings.zoho_api_url,
            calendar_url=settings.zoho_calendar_url,
            calendar_id=settings.zoho_calendar_id,
        )

    def env(self, provider: str) -> EnvCredentials:
        """The fallback credentials for ``provider`` (all ``None`` when there are none)."""
        if self.env_credentials is None:
            return EnvCredentials(None)
        return self.env_credentials(provider)


class ZohoService:
    """What :class:`~zohokit.crm.ZohoCRMService` and the Calendar service share (the seed's
    constructor, credential precedence, ``get_access_token`` and the request call).

    ``credentials`` (a :class:`~zohokit.tokens.ZohoCredentials` or a dict with ``client_id``,
    ``client_secret``, ``refresh_token``) win over the fallbacks in ``defaults`` (or in
    ``settings``, read as :meth:`ServiceDefaults.from_settings` does); for each part the
    generic ``ZOHO_*`` variable comes next, then the product-specific one. ``client_id`` is
    the **tenant key** (whose tokens to use), as in the seed. No token is kept here: every
    call asks the token service, which caches.

    Build services with :meth:`zohokit.Zoho.crm` / :meth:`zohokit.Zoho.calendar`. Built with
    neither ``http``, ``token_service``, ``defaults`` nor ``settings`` (the seed's
    ``ZohoCRMService()``), a service runs on :meth:`zohokit.Zoho.default`.
    """

    provider: ClassVar[str]
    service: ClassVar[Service]

    def __init__(
        self,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
        client_id: str = "default",
        *,
        token_service: TokenSource | None = None,
        http: ZohoHTTP | None = None,
        defaults: ServiceDefaults | None = None,
        settings: Settings | None = None,
        base_url: str | None = None,
    ) -> None:
        if settings is not None:
            defaults = ServiceDefaults.from_settings(settings)
        if defaults is None:
            unwired = http is None and token_service is None
            defaults = _default_root().defaults if unwired else ServiceDefaults()
        assert defaults is not None
        self.defaults = defaults
        env = defaults.env(self.provider)
        self._given = ZohoCredentials.coerce(credentials)
        given = self._given or ZohoCredentials(None)
        self.tenant = client_id
        self.client_id = given.client_id or env.client_id or ""
        self._client_secret = given.client_secret or env.client_secret or ""
        self._refresh_token = given.refresh_token or env.refresh_token or ""
        # The token service falls back to the environment itself: only what the caller gave
        # travels with each request (``self._given``).
        override = defaults.api_url if self.service == "crm" else defaults.calendar_url
        self.base_url = base_url or override
        if http is None and token_service is not None:
            http = ZohoHTTP(token_service)
        self._http = http

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self.tenant!r}, client_id={self.client_id!r})"

    @property
    def http(self) -> ZohoHTTP:
        """The request path this service uses (the default root's unless one was given)."""
        if self._http is None:
            self._http = default_http()
        return self._http

    @property
    def credentials(self) -> ZohoCredentials:
        """The OAuth client (and refresh token) this service knows of, fallbacks included."""
        return ZohoCredentials(
            self.client_id or None, self._client_secret or None, self._refresh_token or None
        )

    def _has_credentials(self) -> bool:
        return bool(self.client_id and self._client_secret and self._refresh_token)

    async def get_access_token(self) -> str:
        """A valid access token for this tenant, from the token service (the seed's call)."""
        return await self.http.tokens.get_access_token(self.tenant, self.provider, self._given)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        record_results: bool = False,
    ) -> ZohoResponse:
        return await self.http.request(
            self.tenant,
            self.provider,
            method,
            path,
            service=self.service,
            credentials=self._given,
            base_url=self.base_url,
            params=params,
            json=json,
            data=data,
            headers=headers,
            idempotent=idempotent,
            record_results=record_results,
        )
