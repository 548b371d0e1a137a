"""The one error the emulator's CRM and Calendar handlers raise for a request Zoho refuses.

Zoho frames request-level errors the same way in both products: an unwrapped
``{"code","details","message","status":"error"}`` object with an HTTP status. Handlers raise
:class:`ApiError` at the first problem; the route wrapper renders it with :meth:`response`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ._core import zoho_error


class ApiError(Exception):
    """A request Zoho would refuse: ``code``, ``message``, HTTP ``status`` and ``details``."""

    def __init__(
        self, code: str, message: str, status: int = 400, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}

    def response(self) -> Response:
        """The error as an HTTP answer, unwrapped as Zoho sends it."""
        return zoho_error(self.code, self.message, self.status, self.details)


def invalid_url() -> ApiError:
    """The 404 ``INVALID_URL_PATTERN`` Zoho's gateway answers for a path it does not serve."""
    return ApiError(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404
    )
