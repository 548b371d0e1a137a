"""The CRM route table: every path, its handler and the methods it takes.

Every request authenticates first, then its version and path are resolved, then the handler
validates parameters in the order Zoho reports them. Request-level errors are unwrapped
``{"code",...}`` objects; per-record results are wrapped in ``data[]`` in input order. The
handlers live by idea in :mod:`._records`, :mod:`._queries` and :mod:`._meta`.

All of ``/crm/`` is one Starlette route whose endpoint resolves the rest of the path from a
table: benchmarks hammer these paths, and one dictionary lookup costs less than trying a
dozen route patterns in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._core import zoho_error
from .._errors import authenticated, invalid_url
from ._beyond import BeyondRoutes
from ._bulk import BulkHandlers, bulk_routes
from ._meta import MetaHandlers
from ._queries import QueryHandlers
from ._records import RecordHandlers
from ._versions import VERSIONS
from ._watch import WatchHandlers

if TYPE_CHECKING:
    from .._core import Emulator

Handler = Callable[[Request], Awaitable[Response]]

_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


Target = tuple[Handler, tuple[str, ...]]


class CrmDispatcher:
    """Resolves ``/crm/{version}/...`` to a handler, its allowed methods and path parameters."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        #: Authenticate, resolve, check the method, run the handler, render an ApiError (what
        #: a composite request's sub-requests go through too).
        self.endpoint = authenticated(emu, "crm", self._dispatch)
        records = RecordHandlers(emu)
        queries = QueryHandlers(emu)
        meta = MetaHandlers(emu)
        watch = WatchHandlers(emu)
        bulk = BulkHandlers(emu)
        get = ("GET",)
        #: Paths with no variable part.
        self.fixed: dict[tuple[str, ...], Target] = {
            ("settings", "modules"): (meta.settings_modules, get),
            ("settings", "fields"): (meta.settings_fields, get),
            ("settings", "layouts"): (meta.settings_layouts, get),
            ("users",): (meta.users, get),
            ("org",): (meta.org, get),
            ("coql",): (queries.coql, ("POST",)),
            ("actions", "watch"): (watch.endpoint, ("GET", "POST", "PUT", "PATCH", "DELETE")),
            ("upload",): (bulk.upload, ("POST",)),
        }
        #: ``settings/{kind}/{name}``: the parameter each one names.
        self.settings_item: dict[str, tuple[str, Target]] = {
            "modules": ("api_name", (meta.settings_module, get)),
            "layouts": ("layout_id", (meta.settings_layout, get)),
        }
        #: ``{module}/{action}``.
        self.actions: dict[str, Target] = {
            "search": (queries.search, get),
            "deleted": (queries.deleted, get),
            "upsert": (records.upsert, ("POST",)),
        }
        self.count: Target = (queries.count, get)
        self.collection: Target = (records.collection, ("GET", "POST", "PUT", "DELETE"))
        self.one: Target = (records.one, ("GET", "PUT", "DELETE"))
        #: Notes, attachments, files, tags, related records, conversion, composite.
        self.beyond = BeyondRoutes(emu, self.endpoint)

    def resolve(self, rest: str) -> tuple[Target, dict[str, str]] | None:
        """The handler of the path after ``/crm/{version}/`` and its parameters, if any."""
        parts = rest.split("/")
        if "" in parts:
            return None
        beyond = self.beyond.resolve(parts)
        if beyond is not None:
            return beyond
        fixed = self.fixed.get(tuple(parts))
        if fixed is not None:
            return fixed, {}
        n = len(parts)
        if n == 1:
            return self.collection, {"module": parts[0]}
        if n == 2:
            action = self.actions.get(parts[1])
            if action is not None:
                return action, {"module": parts[0]}
            return self.one, {"module": parts[0], "record_id": parts[1]}
        if n == 3 and parts[0] == "settings" and parts[1] in self.settings_item:
            name, target = self.settings_item[parts[1]]
            return target, {name: parts[2]}
        if n == 3 and parts[1:] == ["actions", "count"]:
            return self.count, {"module": parts[0]}
        return None

    async def _dispatch(self, request: Request) -> Response:
        """Resolve, check the method, run the handler (after authentication)."""
        params = request.path_params
        found = self.resolve(params["rest"]) if params.get("version") in VERSIONS else None
        if found is None:
            return invalid_url().response()
        (handler, methods), names = found
        if request.method not in methods:
            return zoho_error(
                "INVALID_REQUEST_METHOD",
                "The http request method type is not a valid one",
                400,
                {},
            )
        request.scope["path_params"] = {"version": params["version"], **names}
        watches = self.emu.watch
        watches.loop = watches.loop or asyncio.get_running_loop()
        # What this request writes is announced to the channels once it is done.
        with watches.batch():
            # Bulk jobs that came due do their work first: a bulk write's records are in
            # the store before this request reads it.
            self.emu.crm.bulk.settle()
            return await handler(request)


def crm_routes(emu: Emulator) -> list[BaseRoute]:
    """Every CRM path of every version (``/crm/v2`` .. ``/crm/v8``) as one route.

    A path it does not serve, or a version Zoho does not, answers ``INVALID_URL_PATTERN``
    (after authentication, as Zoho checks the token first).
    """
    dispatch = CrmDispatcher(emu)
    return [
        *bulk_routes(emu),
        Route("/crm/{version}/{rest:path}", dispatch.endpoint, methods=_ALL_METHODS),
        Route("/crm/{rest:path}", dispatch.endpoint, methods=_ALL_METHODS),
    ]
