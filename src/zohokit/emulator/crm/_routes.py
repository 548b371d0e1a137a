"""The CRM route table: every path, its handler and the methods it takes.

Each handler authenticates first, then resolves the module, then validates parameters in the
order Zoho reports them. Request-level errors are unwrapped ``{"code",...}`` objects; per-record
results are wrapped in ``data[]`` in input order. The handlers live by idea in
:mod:`._records`, :mod:`._queries` and :mod:`._meta`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._core import zoho_error
from .._errors import ApiError, invalid_url
from ._meta import MetaHandlers
from ._queries import QueryHandlers
from ._records import RecordHandlers
from ._versions import VERSIONS

if TYPE_CHECKING:
    from .._core import Emulator

Handler = Callable[[Request], Awaitable[Response]]

_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def _guarded(emu: Emulator, handler: Handler, methods: tuple[str, ...]) -> Handler:
    """Wrap ``handler`` with authentication, method checks and :class:`ApiError` rendering."""

    async def endpoint(request: Request) -> Response:
        grant = emu.authenticate(request, "crm")
        if isinstance(grant, Response):
            return grant
        if request.path_params.get("version") not in VERSIONS:
            return invalid_url().response()
        if request.method not in methods:
            return zoho_error(
                "INVALID_REQUEST_METHOD",
                "The http request method type is not a valid one",
                400,
                {},
            )
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    return endpoint


def crm_routes(emu: Emulator) -> list[BaseRoute]:
    """Every CRM route of every version (``/crm/v2`` .. ``/crm/v8``), plus a catch-all.

    The catch-all answers ``INVALID_URL_PATTERN``, as does a version Zoho does not serve.
    """
    records = RecordHandlers(emu)
    queries = QueryHandlers(emu)
    meta = MetaHandlers(emu)

    async def not_found(request: Request) -> Response:
        raise invalid_url()

    def route(path: str, handler: Handler, *methods: str) -> Route:
        return Route(path, _guarded(emu, handler, methods), methods=_ALL_METHODS)

    base = "/crm/{version}"
    return [
        route(f"{base}/settings/modules", meta.settings_modules, "GET"),
        route(f"{base}/settings/modules/{{api_name}}", meta.settings_module, "GET"),
        route(f"{base}/settings/fields", meta.settings_fields, "GET"),
        route(f"{base}/settings/layouts", meta.settings_layouts, "GET"),
        route(f"{base}/settings/layouts/{{layout_id}}", meta.settings_layout, "GET"),
        route(f"{base}/users", meta.users, "GET"),
        route(f"{base}/org", meta.org, "GET"),
        route(f"{base}/coql", queries.coql, "POST"),
        route(f"{base}/{{module}}/search", queries.search, "GET"),
        route(f"{base}/{{module}}/deleted", queries.deleted, "GET"),
        route(f"{base}/{{module}}/actions/count", queries.count, "GET"),
        route(f"{base}/{{module}}/upsert", records.upsert, "POST"),
        route(f"{base}/{{module}}", records.collection, "GET", "POST", "PUT", "DELETE"),
        route(f"{base}/{{module}}/{{record_id}}", records.one, "GET", "PUT", "DELETE"),
        Route(
            "/crm/{rest:path}",
            _guarded(emu, not_found, tuple(_ALL_METHODS)),
            methods=_ALL_METHODS,
        ),
    ]
