"""What every request meets before the app and every answer carries after it: one pure-ASGI
layer (one hop on the broker's hot path rather than three).

Before the app:

- **Authentication before the body.** A request to a path behind an API key (``/api/*``,
  ``/metrics``, ``/openapi.json``) without a valid key, or an admin form post (``POST
  /admin/*`` but the login form) without a live session, is answered 401 at once: its body is
  never read, never parsed (malformed JSON without a key is a 401, not a 400), and the
  connection is closed so the client cannot keep streaming it.
- **A body limit** (``ZOHOKIT_MAX_BODY_BYTES``): a ``Content-Length`` over it is answered 413
  without reading a byte; a body without one (chunked) is counted as it arrives and cut at the
  limit, with 413.

After it:

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every answer
  (the callback's URL holds a grant code: no page may leak it in a ``Referer``);
- ``X-Frame-Options: DENY`` and a ``Content-Security-Policy`` with ``frame-ancestors 'none'``
  on every HTML answer (no clickjacking of the admin page);
- ``Cache-Control: no-store`` on every answer that did not choose its own: the service's
  answers carry tokens, connect links and tenants' states (RFC 6749 section 5.1), and
  ``Pragma: no-cache`` beside it for HTTP/1.0 caches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from ._asgi import HTTPMiddleware
from ._auth import authenticate_headers
from ._errors import error_body

if TYPE_CHECKING:
    from ._state import ServiceState

__all__ = ["CONTENT_SECURITY_POLICY", "RequestGuard"]

#: The admin page is server-rendered with inline styles and no script at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_HTML_ONLY = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
]
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
#: Paths whose every route takes an API key.
_KEYED_PREFIXES = ("/api/",)
_KEYED_PATHS = frozenset({"/metrics", "/openapi.json"})
#: The one admin form that is posted without a session.
_ADMIN_LOGIN = "/admin/login"


#: The request headers the guard reads (ASGI servers hand header names lower-cased).
_READ = frozenset({b"authorization", b"x-api-key", b"content-length", b"transfer-encoding"})


def _read_headers(scope: Scope) -> dict[str, str]:
    """The headers the guard needs, in one pass over the request's (the first of each
    name wins, as ``Headers.get`` would have it); the cookie only for an admin form post."""
    wanted = _READ | {b"cookie"} if scope["method"] == "POST" else _READ
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


def _has_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


class RequestGuard(HTTPMiddleware):
    """Authentication before the body, the body limit, and the security headers (see the
    module docstring). Reads the service's state from the app, so it is built with none."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on within the limit and with the headers."""
        state: ServiceState = scope["app"].state.zohokit
        headers = _read_headers(scope)
        refusal = await self._refusal(state, scope, headers)
        has_body = _has_body(headers)
        if refusal is not None:
            status, message, extra = refusal
            await _answer(send, status, message, extra, close=has_body)
            return
        if has_body:
            receive = _limited(receive, state.settings.zohokit_max_body_bytes)
        # A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112
        # section 6.3): nothing to count.
        await self.app(scope, receive, _with_headers(send))

    async def _refusal(
        self, state: ServiceState, scope: Scope, headers: Mapping[str, str]
    ) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """Why this request is answered before the app runs, or ``None``."""
        path: str = scope["path"]
        if path.startswith(_KEYED_PREFIXES) or path in _KEYED_PATHS:
            principal, problem = authenticate_headers(state.keyring, headers)
            if principal is None:
                return 401, problem, [(b"www-authenticate", b"Bearer")]
            scope.setdefault("state", {})["zohokit.principal"] = principal
        elif (
            scope["method"] == "POST"
            and path.startswith("/admin/")
            and path != _ADMIN_LOGIN
            and await state.sessions.read(headers) is None
        ):
            return 401, "log in first", []
        length = headers.get("content-length")
        limit = state.settings.zohokit_max_body_bytes
        if length is not None and length.strip().isdigit() and int(length) > limit:
            return 413, f"the request body is over the limit of {limit} bytes", []
        return None


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises 413 once the body read so far passes ``limit`` bytes."""
    seen = 0

    async def receive_within_limit() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI re-raises an HTTPException met while reading the body, so this
                # leaves as the app's usual JSON error; the connection is closed after it.
                raise HTTPException(
                    413,
                    f"the request body is over the limit of {limit} bytes",
                    headers={"Connection": "close"},
                )
        return message

    return receive_within_limit


def _with_headers(send: Send) -> Send:
    """``send`` that adds the security and caching headers to the answer's head."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw: list[tuple[bytes, bytes]] = message.get("headers", [])
            names = {name.lower() for name, _ in raw}
            extra = [h for h in _ALWAYS if h[0] not in names]
            ctype = next((v for n, v in raw if n.lower() == b"content-type"), b"")
            if ctype.startswith(b"text/html"):
                extra += [h for h in _HTML_ONLY if h[0] not in names]
            if b"cache-control" not in names:
                extra += _NO_STORE
            message = {**message, "headers": raw + extra}
        await send(message)

    return send_with_headers


async def _answer(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]], *, close: bool
) -> None:
    body = json.dumps(error_body(status, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
        *_ALWAYS,
        *_NO_STORE,
    ]
    if close:
        # The body was not read: closing stops the client from streaming it to us.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
