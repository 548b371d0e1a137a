"""The one error the emulator's CRM and Calendar handlers raise for a request Zoho refuses.

Zoho frames request-level errors the same way in both products: an unwrapped
``{"code","details","message","status":"error"}`` object with an HTTP status. Handlers raise
:class:`ApiError` at the first problem; the route wrapper renders it with :meth:`response`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ._core import zoho_error

if TYPE_CHECKING:
    from ._core import Emulator, Service

Handler = Callable[[Request], Awaitable[Response]]


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


def authenticated(emu: Emulator, service: Service, handler: Handler) -> Handler:
    """``handler`` behind what Zoho does before and around any work: the request's access
    token is checked for ``service`` first (the 401 of :meth:`Emulator.authenticate` if it
    does not serve), and an :class:`ApiError` the handler raises is answered as Zoho frames it.
    """

    async def endpoint(request: Request) -> Response:
        grant = emu.authenticate(request, service)
        if isinstance(grant, Response):
            return grant
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
