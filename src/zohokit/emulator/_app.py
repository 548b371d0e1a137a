"""The emulator as one ASGI app: accounts, CRM and Calendar under one base URL.

A pure-ASGI middleware sits in front of every route. It first refuses (403) a request whose
``Host`` is not this machine's, the base URL's or an allowed name (DNS rebinding; see
:mod:`._hosts`). For every Zoho route it then counts requests, applies
latency and faults, enforces the CRM concurrency limit and daily credit budget (both answered
with 429 ``TOO_MANY_REQUESTS``, as Zoho does), and adds the response headers Zoho sends. The
``/_emulator/*`` control routes sit outside all of that.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import fields
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._accounts import AccessGrant, accounts_routes
from ._core import Emulator, EmulatorConfig, iso, zoho_error, zoho_json
from ._credits import call_name, credit_cost, is_heavy
from ._durable import all_or_nothing
from ._errors import ApiError
from ._faults import Decision, FaultConfigError, non_negative_number
from ._hosts import host_allowed
from .calendar import calendar_routes
from .crm import VERSIONS, crm_routes

_HTML_PAGE = (
    b"<html><head><title>{status} Service Unavailable</title></head><body>"
    b"<h1>Service temporarily unavailable</h1><p>Zoho is down for maintenance. "
    b"Please try again later.</p></body></html>"
)


class ConnectionDropped(Exception):
    """Raised inside the app to make the server drop the connection mid-answer."""


class _DropFilter(logging.Filter):
    """Keeps deliberate drops out of uvicorn's error log: they are the point, not a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _kind(path: str) -> str | None:
    if path.startswith("/crm/"):
        return "crm"
    if path.startswith("/api/"):
        return "calendar"
    if path.startswith("/oauth/v2/token"):
        return "token"
    if path.startswith("/oauth/"):
        return "accounts"
    return None


class _Middleware:
    """A pure-ASGI middleware over one emulator: HTTP requests go to :meth:`http`."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (anything but HTTP passes straight through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request."""
        await self.app(scope, receive, send)


#: ``host_allowed`` is pure and every request asks it about the same few ``Host`` values.
_host_ok = lru_cache(maxsize=256)(host_allowed)


class EmulatorMiddleware(_Middleware):
    """Counting, faults, latency, limits and Zoho's headers for every Zoho route."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request."""
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        if not _host_ok(host, self.emu.base_url, self.emu.config.allowed_hosts):
            answer = {"status": "error", "message": "this Host is not one the emulator answers"}
            await zoho_json(answer, 403)(scope, receive, send)
            return
        kind = _kind(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        emu = self.emu
        stats = emu.stats
        if kind in ("crm", "calendar"):
            stats.incr(f"{kind}_requests")
            method = scope["method"]
            # By method, and the writes apart (a COQL query is a read sent as POST), so a
            # test can show that a check or a dry run sent nothing that changes data.
            stats.incr(f"{kind}_{method.lower()}_requests")
            if method in _WRITE_METHODS and not scope["path"].endswith("/coql"):
                stats.incr(f"{kind}_write_requests")
        limited = kind == "crm"
        # Zoho's heavy APIs (COQL, lead conversion): at most 10 in flight in every edition.
        heavy = limited and is_heavy(scope["path"])
        if limited:
            config = emu.config
            if stats.in_flight >= config.concurrency_limit:
                await self._too_many(send, {"limit": config.concurrency_limit})
                return
            if heavy and stats.heavy_in_flight >= config.heavy_concurrency_limit:
                await self._too_many(send, {"limit": config.heavy_concurrency_limit})
                return
            now = emu.clock.now()
            if stats.credits.used(now) >= config.daily_credits:
                await self._too_many(send, {"credits": config.daily_credits})
                return
            cost = credit_cost(scope["method"], scope["path"])
            stats.credits.spend(now, cost)
            stats.incr("credits_used", cost)
            stats.incr(f"credits_{call_name(scope['method'], scope['path'])}", cost)
            stats.in_flight += 1
            stats.heavy_in_flight += heavy
            stats.max_concurrency_seen = max(stats.max_concurrency_seen, stats.in_flight)
        # Only now roll the dice: a request Zoho turns away with 429 must not use up a rule's
        # ``count`` (or a roll) for a fault that then never strikes.
        decision = emu.faults.decide(kind, scope["method"], scope["path"])
        latency = emu.config.latency_ms + (decision.latency_ms if decision else 0.0)
        try:
            if latency > 0:
                await self._serve_late(scope, receive, send, kind, decision, latency / 1000)
            else:
                await self._serve(scope, receive, send, kind, decision)
        finally:
            if limited:
                stats.in_flight -= 1
                stats.heavy_in_flight -= heavy

    async def _serve_late(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        kind: str,
        decision: Decision | None,
        latency: float,
    ) -> None:
        # Latency is the least time an answer takes, not a sleep in front of the work: real Zoho
        # works on many requests at once, while this single-threaded emulator would otherwise
        # add its own processing time on top and make ten requests in flight move in waves.
        started = asyncio.get_running_loop().time()
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self._serve(scope, receive, hold, kind, decision)
        finally:
            remaining = latency - (asyncio.get_running_loop().time() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
            for message in held:
                await send(message)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, kind: str, decision: Decision | None
    ) -> None:
        action = decision.action if decision else None
        if action is None or decision is None:
            await self.app(scope, receive, self._with_headers(scope, send, kind))
            return
        self.emu.stats.incr("faults_injected")
        if decision.when == "after":
            # The handler runs (and commits) but its answer is thrown away.
            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
        await self._strike(scope, receive, send, kind, decision)

    async def _strike(
        self, scope: Scope, receive: Receive, send: Send, kind: str, decision: Decision
    ) -> None:
        rule = decision.rule
        assert rule is not None
        if decision.action == "stall":
            await asyncio.sleep(rule.stall_ms / 1000)
            if decision.when == "after":
                await _send(send, _internal_error(500), self.emu.next_request_id())
            else:
                await self.app(scope, receive, self._with_headers(scope, send, kind))
        elif decision.action == "error":
            await _send(send, _internal_error(rule.error_status), self.emu.next_request_id())
        elif decision.action == "html":
            body = _HTML_PAGE.replace(b"{status}", str(rule.html_status).encode())
            await _send(
                send,
                Response(body, rule.html_status, media_type="text/html"),
                self.emu.next_request_id(),
            )
        elif decision.action == "throttle":
            await self._too_many(send, {}, rule.retry_after_seconds)
        else:  # drop: start an answer, then break the connection half-way through it
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"data":[', "more_body": True})
            raise ConnectionDropped("connection dropped by a fault rule")

    async def _too_many(
        self, send: Send, details: dict[str, Any], retry_after: float = 0.0
    ) -> None:
        self.emu.stats.incr("rejected_429")
        answer = zoho_error(
            "TOO_MANY_REQUESTS", "too many requests. please try again after some time", 429, details
        )
        if retry_after:
            answer.headers["retry-after"] = f"{retry_after:g}"
        await _send(send, answer, self.emu.next_request_id())

    def _with_headers(self, scope: Scope, send: Send, kind: str) -> Send:
        emu = self.emu

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"server", b"ZGS"), (b"x-request-id", emu.next_request_id())]
                if kind == "crm":
                    headers += [
                        (b"cache-control", b"no-store, no-cache, must-revalidate, private"),
                        (b"expires", b"Thu, 01 Jan 1970 00:00:00 GMT"),
                        (b"clientversion", b"8000000"),
                    ]
                    named = any(k.lower() == b"content-disposition" for k, _ in headers)
                    if message["status"] not in (204, 304) and not named:
                        headers.append(
                            (b"content-disposition", b"attachment; filename=response.json")
                        )
                    grant = scope.get("zohokit.grant")
                    if isinstance(grant, AccessGrant):
                        headers.append((b"x-accesstoken-reset", iso(grant.expires_at).encode()))
                    budget = emu.config.daily_credits
                    used = emu.stats.credits.spent
                    if used * 2 >= budget:
                        headers.append((b"x-api-credits-remaining", str(budget - used).encode()))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def _internal_error(status: int) -> Response:
    return zoho_error("INTERNAL_ERROR", "Internal Server Error", status)


async def _send(send: Send, response: Response, request_id: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [*response.raw_headers, (b"server", b"ZGS"), (b"x-request-id", request_id)],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def _control_routes(emu: Emulator) -> list[BaseRoute]:
    """``/_emulator/*``: counters, reset, faults, clock, seeding and run-time configuration."""

    async def body_json(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        return json.loads(raw)

    async def stats(request: Request) -> Response:
        return zoho_json(emu.stats.snapshot())

    async def reset(request: Request) -> Response:
        emu.reset()
        return zoho_json({"status": "success"})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                emu.faults.configure(await body_json(request))
            except (FaultConfigError, ValueError) as exc:
                return zoho_json({"status": "error", "message": str(exc)}, 400)
        elif request.method == "DELETE":
            emu.faults.configure(
                {"rules": [], "token_throttle": False, "consent": "approve", "notifications": {}}
            )
        return zoho_json(emu.faults.to_json())

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            try:
                advance = (await body_json(request)).get("advance", 0)
            except (ValueError, AttributeError):
                advance = None
            if (
                not isinstance(advance, int | float)
                or isinstance(advance, bool)
                or not _lands_in_range(emu.clock.now(), advance)
            ):
                return zoho_json(
                    {
                        "status": "error",
                        "message": "advance must be a number of seconds that keeps the clock "
                        "between the years 1 and 9999",
                    },
                    400,
                )
            emu.clock.advance(float(advance))
            emu.journal.changed("meta", "clock", lambda: emu.clock.offset)
        return zoho_json({"now": iso(emu.clock.now()), "offset": emu.clock.offset})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                _apply_config(emu.config, await body_json(request))
            except (ValueError, AttributeError) as exc:
                return zoho_json({"status": "error", "message": str(exc)}, 400)
        return zoho_json(
            {
                f.name: getattr(emu.config, f.name)
                for f in fields(emu.config)
                if f.name not in _SECRET_KEYS
            }
        )

    async def seed(request: Request) -> Response:
        try:
            result = seed_emulator(emu, await body_json(request))
        except (ValueError, KeyError, TypeError, AttributeError, ApiError) as exc:
            # AttributeError: a list where an object belongs; ApiError: bad eventdata
            # or an unknown calendar uid.
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            return zoho_json({"status": "error", "message": message}, 400)
        return zoho_json(result)

    async def self_client_code(request: Request) -> Response:
        # The API console's Self Client: {"scopes": [...] or "a,b", "client_id"?, "ttl"?}.
        try:
            body = await body_json(request)
            raw = body.get("scopes", "")
            scopes = tuple(
                s for s in (raw.split(",") if isinstance(raw, str) else raw) if str(s).strip()
            )
            ttl = body.get("ttl")
            code = emu.accounts.self_client_code(
                str(body.get("client_id") or emu.config.client_id),
                tuple(str(s).strip() for s in scopes),
                None if ttl is None else float(ttl),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return zoho_json({"status": "error", "message": str(exc)}, 400)
        return zoho_json(
            {
                "code": code.code,
                "scopes": list(code.scopes),
                "expires_in": int(code.expires_at - emu.clock.now()),
            }
        )

    async def index(request: Request) -> Response:
        return zoho_json(
            {
                "emulator": "zohokit",
                "accounts_server": emu.base_url,
                "api_domain": emu.base_url,
                "crm": f"{emu.base_url}/crm/v8",
                "crm_versions": list(VERSIONS),
                "edition": emu.config.edition,
                "calendar": f"{emu.base_url}/api/v1",
                "client_id": emu.config.client_id,
            }
        )

    return [
        Route("/", index, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
        Route("/_emulator/config", config, methods=["GET", "POST"]),
        Route("/_emulator/seed", seed, methods=["POST"]),
        Route("/_emulator/self-client/code", self_client_code, methods=["POST"]),
    ]


def _lands_in_range(now: float, advance: float) -> bool:
    """Whether moving the clock by ``advance`` seconds leaves a time Zoho's formats can show.

    A clock moved past that (or by NaN) would break every later answer that shows a time.
    """
    try:
        iso(now + float(advance))
    except (OverflowError, ValueError, OSError):
        return False
    return True


#: Never served: whoever runs the emulator has them (``zohokit emulator`` prints them at start,
#: an in-process caller holds the :class:`EmulatorConfig`).
_SECRET_KEYS = frozenset({"client_secret", "refresh_token"})

_RUNTIME_KEYS = {
    "token_ttl",
    "latency_ms",
    "access_tokens_per_window",
    "access_token_window_seconds",
    "max_live_access_tokens",
    "max_refresh_tokens",
    "grant_code_ttl_seconds",
    "throttle_status",
    "concurrency_limit",
    "heavy_concurrency_limit",
    "daily_credits",
    "location",
    "user_email",
    "adopt_unknown_refresh_tokens",
}


def _apply_config(config: EmulatorConfig, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    for key, value in payload.items():
        if key not in _RUNTIME_KEYS:
            raise ValueError(
                f"{key} cannot be changed at run time (allowed: {sorted(_RUNTIME_KEYS)})"
            )
        current = getattr(config, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif isinstance(current, str):
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
        elif not non_negative_number(value):
            raise ValueError(f"{key} must be a non-negative number")
        setattr(config, key, type(current)(value))


def seed_emulator(emu: Emulator, payload: Any) -> dict[str, Any]:
    """Add clients, refresh tokens, CRM records and Calendar events in one call.

    ``{"clients": [{"client_id", "client_secret", "redirect_uris"?}],
    "refresh_tokens": [{"client_id", "token"?, "scopes"?, "user_email"?}],
    "records": {"Leads": [{...}]}, "events": {"<calendar uid or primary>": [{eventdata}]},
    "calendars": [{"name", "timezone"?, "include_infreebusy"?}]}``

    All or nothing: if any item is refused (the error names it), the emulator is left
    exactly as it was before the call.
    """
    with all_or_nothing(emu):
        return _seed(emu, payload)


def _seed(emu: Emulator, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    out: dict[str, Any] = {}
    for client in payload.get("clients", []):
        emu.accounts.register_client(
            client["client_id"], client["client_secret"], tuple(client.get("redirect_uris", ()))
        )
    tokens = []
    for raw in payload.get("refresh_tokens", []):
        if raw["client_id"] not in emu.accounts.clients:
            raise ValueError(f"refresh_tokens: client {raw['client_id']!r} is not registered")
        kwargs: dict[str, Any] = {}
        if "scopes" in raw:
            kwargs["scopes"] = tuple(raw["scopes"])
        if "user_email" in raw:
            kwargs["user_email"] = raw["user_email"]
        tokens.append(
            emu.accounts.grant_refresh_token(raw["client_id"], raw.get("token"), **kwargs).token
        )
    if tokens:
        out["refresh_tokens"] = tokens
    calendars = [
        emu.calendar.add_calendar(
            raw["name"],
            timezone=raw.get("timezone", "UTC"),
            include_infreebusy=bool(raw.get("include_infreebusy", True)),
        )
        for raw in payload.get("calendars", [])
    ]
    if calendars:
        out["calendars"] = calendars
    records = payload.get("records", {})
    if records:
        out["records"] = {module: emu.crm.seed(module, rows) for module, rows in records.items()}
    events = payload.get("events", {})
    if events:
        out["events"] = {
            uid: emu.calendar.seed_events(
                emu.calendar.primary_uid if uid == "primary" else uid, rows
            )
            for uid, rows in events.items()
        }
    return out


def create_app(emulator: Emulator | EmulatorConfig | None = None) -> Starlette:
    """Build the emulator's ASGI app from an :class:`Emulator` (or a config to build one).

    The app's ``state.emulator`` is the :class:`Emulator`, for in-process tests.
    """
    emu = emulator if isinstance(emulator, Emulator) else Emulator(emulator)
    # The groups share no path; CRM goes first because clients and benchmarks call it most.
    routes = crm_routes(emu) + calendar_routes(emu) + accounts_routes(emu) + _control_routes(emu)
    app = Starlette(routes=routes)
    app.state.emulator = emu
    app.add_middleware(EmulatorMiddleware, emu=emu)
    if emu.journal.durable:
        app.add_middleware(DurableMiddleware, emu=emu)
    return app


class DurableMiddleware(_Middleware):
    """Writes what a request changed to the ``data`` file before its answer leaves.

    Only installed with a data file: the in-memory emulator serves without it.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, flushing the journal as the answer starts."""
        journal = self.emu.journal

        async def flushing(message: Message) -> None:
            if message["type"] == "http.response.start":
                journal.flush()
            await send(message)

        try:
            await self.app(scope, receive, flushing)
        finally:
            # A fault that drops the answer (or an error) must not lose what was committed.
            journal.flush()
