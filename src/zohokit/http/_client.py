"""The one request path every Zoho CRM and Calendar call goes through.

:class:`ZohoHTTP` owns what a Zoho call needs beyond building the request and reading the
answer, in three layers as httpx stacks its client (``send`` -> auth -> one request):

- :meth:`ZohoHTTP.request`: the retry loop, and nothing else (the policy is
  :mod:`zohokit.http._retry`, plain functions of their inputs);
- ``_attempt``: the access token from a :class:`TokenSource` (normally the token service),
  and recovery from a 401 ``INVALID_TOKEN`` with one fresh token;
- ``_send_once``: the per-tenant in-flight cap, the fleet-wide budget's admission
  (:mod:`zohokit.http._admission`), the credit tally (:mod:`zohokit.http._tally`),
  the ``Authorization: Zoho-oauthtoken`` header, the host of the tenant's data centre, the
  transport, and reading the answer into a :class:`ZohoResponse` or a node of the error tree
  (:mod:`zohokit.errors`, one status-to-error table: :func:`api_error`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

import httpx

from ..budget import Budget, current_lane
from ..datacenters import by_code, calendar_url_for
from ..errors import (
    AuthenticationError,
    TransportError,
    ZohoAPIError,
    ZohoError,
)
from ._admission import Admission
from ._answers import ERRORS_BY_STATUS, ErrorAnswer, api_error, decode
from ._observe import Attempt, CallObserver
from ._operations import operation_name
from ._retry import (
    IDEMPOTENT_METHODS,
    TOKEN_DEAD_CODES,
    Failure,
    RetryPolicy,
    classify_exception,
    classify_response,
    should_retry,
)
from ._tally import count_attempt, credits_for

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "ERRORS_BY_STATUS",
    "ErrorAnswer",
    "RequestOptions",
    "TokenLike",
    "TokenSource",
    "ZohoHTTP",
    "ZohoResponse",
    "api_error",
]

log = logging.getLogger("zohokit.http")

#: Zoho's concurrency limit for heavy APIs is 10 in every edition (zoho-api.md 3.14).
DEFAULT_MAX_IN_FLIGHT = 10
#: Connect quickly or fail; give Zoho time to answer a 100-record write.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: Where a token with no ``api_domain`` sends its CRM calls: the US data centre's host.
DEFAULT_API_DOMAIN = by_code("us").api_domain


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
    #: The raw bytes of an answer that is not JSON (a bulk job's zip), else empty.
    content: bytes = field(default=b"", repr=False)

    @property
    def not_modified(self) -> bool:
        """Whether Zoho said 304: nothing changed since ``If-Modified-Since``."""
        return self.status == 304


class RequestOptions(TypedDict, total=False):
    """What a call may add to its method and path (see :meth:`ZohoHTTP.request`)."""

    params: Mapping[str, Any] | None
    json: Any
    data: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    idempotent: bool | None
    record_results: bool
    files: Mapping[str, Any] | None
    stream: bool


@dataclass(frozen=True, slots=True)
class _Call:
    """One Zoho call, as it travels down the layers of the request path."""

    tenant: str
    provider: str
    method: str
    path: str
    credentials: Any
    base_url: str | None
    params: Mapping[str, Any] | None
    json: Any
    data: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    idempotent: bool
    record_results: bool
    #: The bounded name of the call (``records.upsert``), for metrics, logs and the budget.
    operation: str
    files: Mapping[str, Any] | None = None
    stream: bool = False


@dataclass(frozen=True, slots=True)
class _Failed:
    """An attempt that did not succeed: ``failure`` says whether (and how) it may be retried,
    ``None`` when the answer is final."""

    failure: Failure | None
    error: ZohoError
    retry_after: float | None = None
    #: The answer's headers (``None`` when there was no answer), for the observer.
    headers: httpx.Headers | None = None


def _token_dead(outcome: ZohoResponse | _Failed) -> bool:
    return (
        isinstance(outcome, _Failed)
        and isinstance(outcome.error, AuthenticationError)
        and outcome.error.code in TOKEN_DEAD_CODES
    )


@dataclass
class _LoopState:
    """The HTTP client and in-flight caps of one event loop (neither can cross loops)."""

    client: httpx.AsyncClient
    caps: dict[tuple[str, str, str], asyncio.Semaphore] = field(default_factory=dict)


class ZohoHTTP:
    """The shared async client for Zoho CRM and Calendar: one per process is enough.

    ``tokens`` hands out access tokens; ``max_in_flight`` caps concurrent requests per tenant
    and provider (Zoho answers 429 past its concurrency limit, so waiting here is cheaper);
    ``transport`` replaces the network (an ``httpx.ASGITransport`` over the emulator in tests);
    ``observer`` records each attempt's metrics, log line and span (:mod:`._observe`);
    ``budget`` is the fleet-wide budget each CRM call is admitted by (``None``: off).
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        budget: Budget | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.admission = Admission(budget)
        self.tokens = tokens
        self.max_in_flight = max_in_flight
        self.retry = retry or RetryPolicy()
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._transport = transport
        self.observer = observer or CallObserver()
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
        # Per lane: a batch job filling the process's cap must not queue a booking behind it.
        key = (tenant, provider, current_lane())
        cap = state.caps.get(key)
        if cap is None:
            cap = state.caps[key] = asyncio.Semaphore(self.max_in_flight)
        return cap

    async def aclose(self) -> None:
        """Close the connections this event loop opened."""
        loop = asyncio.get_running_loop()
        state = self._loops.pop(loop, None)
        await self.admission.aclose()
        if state is not None:
            await state.client.aclose()

    @staticmethod
    def base_url(provider: str, token: TokenLike, override: str | None = None) -> str:
        """Where the tenant's ``provider`` lives: ``override``, else derived from the token
        (CRM at its ``api_domain``, Calendar at that data centre's Calendar host)."""
        if override:
            return override.rstrip("/")
        api_domain = (token.api_domain or DEFAULT_API_DOMAIN).rstrip("/")
        return api_domain if provider == "zoho_crm" else calendar_url_for(api_domain)

    async def request(
        self,
        tenant: str,
        provider: str,
        method: str,
        path: str,
        *,
        credentials: Any = None,
        base_url: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        record_results: bool = False,
        files: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> ZohoResponse:
        """Send one Zoho call for ``tenant``'s ``provider`` (``zoho_crm`` or ``zoho_calendar``)
        and return its answer, or raise a ``ZohoError``.

        ``path`` starts with ``/`` and is joined to the tenant's host (``base_url`` overrides
        it). ``idempotent`` defaults from the method (POST is not). With ``record_results`` a
        4xx whose body is a per-record ``data`` array (a bulk write where every record failed;
        a composite's ``__composite_requests``) is returned rather than raised. With ``stream``
        a successful answer that is not JSON (a download) comes back unread: ``body`` is the
        open ``httpx.Response``, which the caller reads (``aiter_bytes()``) and must ``aclose()``.
        """
        method = method.upper()
        call = _Call(
            tenant,
            provider,
            method,
            path,
            credentials,
            base_url,
            params,
            json,
            data,
            headers,
            method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            record_results,
            operation_name(provider, method, path),
            files,
            stream,
        )
        state = self._state()
        attempt = 0
        sends = itertools.count(1)  # every send of this call, the 401 recovery's included
        while True:
            outcome = await self._attempt(call, state, sends)
            if isinstance(outcome, ZohoResponse):
                return outcome
            delay = None
            if outcome.failure is not None and should_retry(outcome.failure, call.idempotent):
                delay = self.retry.delay(attempt, outcome.retry_after)
            if delay is None:
                raise outcome.error
            self.observer.retried(
                tenant=tenant,
                provider=provider,
                operation=call.operation,
                reason=str(outcome.failure),
            )
            log.info(
                "retrying %s %s for tenant %s in %.2fs after %s (attempt %d)",
                method,
                path,
                tenant,
                delay,
                outcome.failure,
                attempt + 1,
            )
            attempt += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self, call: _Call, state: _LoopState, sends: Iterator[int]
    ) -> ZohoResponse | _Failed:
        """One try with the tenant's token; a 401 for a dead token gets one fresh token."""
        token = await self.tokens.get_token(call.tenant, call.provider, call.credentials)
        outcome = await self._send_observed(call, state, token, next(sends))
        if _token_dead(outcome):
            self.observer.retried(
                tenant=call.tenant, provider=call.provider, operation=call.operation, reason="token"
            )
            # The token was evicted or expired early. The one ``invalidate`` hands back is
            # used as is: asking again could return a cached copy of the token that failed.
            fresh = await self.tokens.invalidate(
                call.tenant, call.provider, token.token, call.credentials
            )
            outcome = await self._send_observed(call, state, fresh, next(sends))
        return outcome

    async def _send_observed(
        self, call: _Call, state: _LoopState, token: TokenLike, number: int
    ) -> ZohoResponse | _Failed:
        """:meth:`_send_once`, recorded as attempt ``number`` (metrics, log line, span)."""
        seen = Attempt(
            self.observer,
            tenant=call.tenant,
            provider=call.provider,
            operation=call.operation,
            method=call.method,
            number=number,
            credits=credits_for(call.method, call.json, path=call.path, params=call.params),
        )
        try:
            outcome = await self._send_once(call, state, token, seen)
        except BaseException:
            seen.failed("cancelled")
            raise
        if isinstance(outcome, ZohoResponse):
            seen.answered(outcome.status, outcome.headers, None)
        elif isinstance(outcome.error, ZohoAPIError):
            error = outcome.error
            seen.answered(error.status or 0, outcome.headers, error.code)
        else:
            seen.failed("transport_error")
        return outcome

    async def _send_once(
        self, call: _Call, state: _LoopState, token: TokenLike, seen: Attempt
    ) -> ZohoResponse | _Failed:
        """Send ``call`` once with ``token`` and read the answer."""
        url = self.base_url(call.provider, token, call.base_url) + call.path
        headers = {"Authorization": f"Zoho-oauthtoken {token.token}", **(call.headers or {})}
        try:
            async with (
                self._cap(state, call.tenant, call.provider),
                self.admission.admit(
                    call.tenant, call.provider, call.method, call.path, call.params, call.json
                ) as admitted,
            ):
                count_attempt(admitted.cost)
                seen.sent(admitted.cost)
                request = state.client.build_request(
                    call.method,
                    url,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    files=call.files,
                    headers=headers,
                )
                response = await state.client.send(request, stream=call.stream)
                await admitted.answered(response)
                if call.stream:
                    kind = response.headers.get("content-type", "")
                    if response.is_success and "json" not in kind:
                        request_id = response.headers.get("x-request-id")
                        return ZohoResponse(
                            response.status_code, response.headers, response, request_id
                        )
                    await response.aread()  # an error or a JSON answer: read as usual
        except httpx.TransportError as exc:
            error = TransportError(
                f"{call.method} {call.path} got no answer from Zoho ({type(exc).__name__})",
                tenant=call.tenant,
                provider=call.provider,
            )
            error.__cause__ = exc
            return _Failed(classify_exception(exc), error)
        is_json, body = decode(response)
        status = response.status_code
        log.debug("%s %s -> %s", call.method, call.path, status)
        failure = classify_response(status, is_json, body)
        if failure is None and (
            status < 400
            or (
                call.record_results
                and isinstance(body, dict)
                and any(isinstance(body.get(k), list) for k in ("data", "__composite_requests"))
            )
        ):
            raw = response.content if body is None else b""
            return ZohoResponse(
                status, response.headers, body, response.headers.get("x-request-id"), raw
            )
        answer = ErrorAnswer.read(response, is_json, body)
        refused = api_error(
            answer, tenant=call.tenant, provider=call.provider, method=call.method, path=call.path
        )
        return _Failed(failure, refused, answer.retry_after, response.headers)
