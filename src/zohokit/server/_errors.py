"""Every error leaves as JSON with a message (``{"error": code, "message": text}``), and
every 4xx the framework raises (validation, unknown route, wrong method) does too."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["error_body", "install_error_handlers"]

log = logging.getLogger("zohokit.server")


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON error shape: a snake_case ``error`` code from the status, and a ``message``."""
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return {"error": code, "message": message, **extra}


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
