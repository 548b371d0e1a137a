"""Reading a Zoho answer: its JSON (or the fact that it is not JSON), the error fields of an
answer that is an error, and the one status-to-error table (:func:`api_error`). Pure
functions of the answer, no I/O.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    ServerError,
    ZohoAPIError,
)
from ._retry import parse_retry_after

__all__ = ["ERRORS_BY_STATUS", "ErrorAnswer", "api_error", "decode"]


def decode(response: httpx.Response) -> tuple[bool, Any]:
    """``(is_json, body)``: Zoho's JSON, or the fact that the answer was not JSON."""
    if response.status_code in (204, 304) or not response.content:
        return True, None
    content_type = response.headers.get("content-type", "")
    if "zip" in content_type or "octet-stream" in content_type:
        return True, None  # a file Zoho serves (a bulk job's result): read from .content
    if "json" not in content_type:
        return False, None
    try:
        return True, jsonlib.loads(response.content)
    except ValueError:
        return False, None


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """A Zoho answer that is an error, read from its status, body and headers.

    ``code``, ``message`` and ``details`` are Zoho's (Calendar sometimes nests them under
    ``error``); ``retry_after`` is Zoho's ``Retry-After`` (or ``details.retry_after``) of a
    429, in seconds.
    """

    status: int
    code: str | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    retry_after: float | None = None

    @classmethod
    def read(cls, response: httpx.Response, is_json: bool, body: Any) -> ErrorAnswer:
        """The error fields of ``response`` (whose body decoded to ``body``)."""
        code: str | None = None
        message = ""
        details: dict[str, Any] = {}
        if is_json:
            inner = body.get("error") if isinstance(body, dict) else None
            fields: Any = inner if isinstance(inner, dict) else body
            if isinstance(fields, dict):
                raw = fields.get("code")
                code = str(raw) if raw is not None else None
                message = str(fields.get("message") or "Zoho returned an error")
                given = fields.get("details")
                details = given if isinstance(given, dict) else {}
            else:
                message = "Zoho returned an error"
        retry_after = None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is None and isinstance(details.get("retry_after"), int | float):
                retry_after = float(details["retry_after"])
        return cls(
            response.status_code,
            code,
            message,
            details,
            response.headers.get("x-request-id"),
            retry_after,
        )


#: The status-to-error table for a final 4xx answer; anything else 4xx is a ZohoAPIError.
ERRORS_BY_STATUS: dict[int, type[ZohoAPIError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
}


def api_error(
    answer: ErrorAnswer, *, tenant: str, provider: str, method: str, path: str
) -> ZohoAPIError:
    """The error-tree node for a Zoho answer that is an error.

    429 is :class:`RateLimited`, 5xx (and a page that is not Zoho's JSON) :class:`ServerError`,
    a 4xx the class of :data:`ERRORS_BY_STATUS`. Zoho answers a token whose scopes do not
    cover the call with 401 ``OAUTH_SCOPE_MISMATCH``: a :class:`PermissionDenied`, as a fresh
    token cannot help.
    """
    status, code = answer.status, answer.code
    text = f"{method} {path}: {answer.message or f'Zoho returned HTTP {status}'}"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": answer.details,
        "request_id": answer.request_id,
        "tenant": tenant,
        "provider": provider,
    }
    if status == 429:
        return RateLimited(text, retry_after=answer.retry_after, **common)
    if status >= 500 or (code is None and status >= 400 and not answer.message):
        return ServerError(text, **common)
    if status < 400:
        # A 2xx that was not JSON: a proxy page in place of Zoho's answer.
        return ServerError(f"{method} {path}: the answer was not JSON", **common)
    if code == "OAUTH_SCOPE_MISMATCH":
        return PermissionDenied(text, **common)
    return ERRORS_BY_STATUS.get(status, ZohoAPIError)(text, **common)
