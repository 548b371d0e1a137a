"""Every error leaves as one JSON shape, whichever router raised it (see ``docs/service.md``)::

    {"error": "failed_dependency",          # the HTTP status, in snake_case
     "message": "connect 'acme' to zoho_crm first",
     "status": "not_connected",             # 424: not_connected | needs_reauth | revoked;
                                            # 503 from the token service: cooldown
     "connect_url": "/connect/zoho?tenant=acme&provider=zoho_crm",   # 424 only
     "retry_after": 30,                     # every 503: seconds, as in Retry-After
     "reason": "no_answer",                 # 503 when Zoho busy time cannot be read
     "details": [...]}                      # 422 from validation: every field at fault

A :class:`~zohokit.errors.ZohoError` that reaches a route is mapped here, once for the whole
app (:func:`zoho_error_answer`), so the token broker and the booking API answer a tenant that
must reconnect, a throttled refresh or a taken slot alike. Every 4xx the framework raises
(validation, unknown route, wrong method) has the same shape, and a bug is a 500 without its
traceback.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import scheduling as booking
from .. import webhooks
from ..availability import FreeBusyUnavailable, InvalidSchedule
from ..errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
    ZohoError,
)

__all__ = ["error_body", "install_error_handlers", "not_connected", "zoho_error_answer"]

#: How long a caller waits when Zoho busy time could not be read (Zoho gave no hint).
FREEBUSY_RETRY_AFTER = 30.0
#: The same, after a failed token refresh that does not say when to try again.
REFRESH_RETRY_AFTER = 30.0

#: The booking flow's refusals, by HTTP status (a subclass before its base: HoldExpired).
_REFUSALS: tuple[tuple[tuple[type[ZohoError], ...], int], ...] = (
    ((booking.SlotTaken,), 409),
    ((booking.HoldExpired,), 410),
    ((booking.HoldNotFound, booking.BookingNotFound, booking.ScheduleNotFound), 404),
    ((booking.SlotNotOffered, booking.IdempotencyConflict, InvalidSchedule), 422),
    ((webhooks.EndpointNotFound, webhooks.DeliveryNotFound), 404),
    ((webhooks.EndpointRefused,), 422),
)

log = logging.getLogger("zohokit.server")


def error_body(http_status: int, message: str, /, **extra: Any) -> dict[str, Any]:
    """The JSON error shape: a snake_case ``error`` code from the HTTP status, a ``message``,
    and the ``extra`` keys (``status`` among them is the connection's, not the HTTP one)."""
    code = HTTPStatus(http_status).phrase.lower().replace(" ", "_").replace("-", "_")
    return {"error": code, "message": message, **extra}


def _connection(tenant: str, provider: str, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "connect_url": f"/connect/zoho?tenant={tenant}&provider={provider}",
    }


def not_connected(tenant: str, provider: str) -> HTTPException:
    """The 424 for a tenant with no stored connection to ``provider``: the token service
    would otherwise fall back to the ``ZOHO_*`` environment, one business's account for all."""
    detail = {
        "message": f"connect {tenant!r} to {provider} first",
        **_connection(tenant, provider, "not_connected"),
    }
    return HTTPException(status_code=424, detail=detail)


def _retry_later(seconds: float) -> tuple[dict[str, Any], dict[str, str]]:
    return {"retry_after": round(seconds, 1)}, {"Retry-After": str(max(1, math.ceil(seconds)))}


def zoho_error_answer(
    exc: ZohoError, *, tenant: str | None = None, provider: str | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The HTTP status, the body's extra keys and the headers for ``exc``. ``tenant`` and
    ``provider`` (from the path) fill in what the error does not carry."""
    for kinds, status in _REFUSALS:
        if isinstance(exc, kinds):
            return status, {}, {}
    if isinstance(exc, FreeBusyUnavailable):
        extra, headers = _retry_later(FREEBUSY_RETRY_AFTER)
        return 503, {**extra, "reason": exc.reason}, headers
    if isinstance(exc, (NeedsReauthorization, TokenRevoked, ConfigurationError)):
        state = (
            "needs_reauth"
            if isinstance(exc, NeedsReauthorization)
            else "revoked"
            if isinstance(exc, TokenRevoked)
            else "not_connected"
        )
        who = tenant or exc.tenant or ""
        which = exc.provider or provider or "zoho_calendar"
        return 424, _connection(who, which, state), {}
    if isinstance(exc, (TokenRefreshThrottled, TokenRefreshFailed)):
        wait = exc.retry_after if exc.retry_after is not None else REFRESH_RETRY_AFTER
        extra, headers = _retry_later(wait)
        return 503, {"status": "cooldown", **extra}, headers
    return 502, {}, {}


def _clean(errors: Any) -> list[dict[str, Any]]:
    # Pydantic's entries may hold the raw input and exception objects; keep what is printable.
    out: list[dict[str, Any]] = []
    for item in errors:
        loc = [str(part) for part in item.get("loc", ())]
        out.append(
            {"loc": loc, "message": str(item.get("msg", "invalid")), "type": item.get("type")}
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        body = error_body(exc.status_code, message)
        if isinstance(exc.detail, dict):
            body.update(exc.detail)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ZohoError)
    async def zoho_error(request: Request, exc: ZohoError) -> JSONResponse:
        path = request.path_params
        status, extra, headers = zoho_error_answer(
            exc, tenant=path.get("tenant"), provider=path.get("provider")
        )
        message = exc.message if status != 502 else f"Zoho failed: {exc.message}"
        return JSONResponse(error_body(status, message, **extra), status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean(exc.errors())
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"]) or "request"
        message = f"{where}: {first['message']}"
        return JSONResponse(error_body(422, message, details=details), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: log it with the traceback, answer without one.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body(500, "internal error; see the server log"), 500)
