"""CRM query handlers: search, count, deleted records and COQL.

Search and count share one matcher (``criteria`` > ``email`` > ``phone`` > ``word``); COQL runs
over the same sorted views the record lists use.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._core import iso, zoho_json
from .._errors import ApiError
from ._coql import CoqlError, run_coql
from ._criteria import CriteriaError, compile_criteria
from ._metadata import ModuleDef
from ._params import (
    Handlers,
    converted_param,
    fields_param,
    header_time,
    invalid_param,
    json_body,
    missing_param,
    module_of,
    page_param,
    per_page_param,
    project,
    rows_page,
    sort_params,
    version_of,
)
from ._store import RECYCLE_BIN_SECONDS, ModuleState, Record, sort_key


class QueryHandlers(Handlers):
    """``/{module}/search``, ``/{module}/actions/count``, ``/{module}/deleted`` and ``/coql``."""

    def _matching(self, request: Request, state: ModuleState) -> list[Record]:
        """Records matching ``criteria`` > ``email`` > ``phone`` > ``word``, oldest first."""
        mod = state.definition
        q = request.query_params
        recs, _ = self.store.view(state, "id", converted_param(request))
        criteria, email, phone, word = (q.get(k) for k in ("criteria", "email", "phone", "word"))
        if criteria is not None:
            try:
                operators = version_of(request).search_operators
                predicate = compile_criteria(criteria, mod, operators)
            except CriteriaError as exc:
                raise ApiError(
                    "INVALID_QUERY", "invalid query formed", details=exc.details
                ) from None
            return [r for r in recs if predicate(r.data)]
        if email is not None:
            needle = email.strip().lower()
            names = [f.api_name for f in mod.fields if f.data_type == "email"]
            return [r for r in recs if any(needle in (r.data.get(n) or "").lower() for n in names)]
        if phone is not None:
            digits = "".join(c for c in phone if c.isdigit())
            if len(phone.strip()) < 3 or not digits:
                raise invalid_param("phone")
            names = [f.api_name for f in mod.fields if f.data_type == "phone"]
            return [
                r
                for r in recs
                if any(
                    digits in "".join(c for c in (r.data.get(n) or "") if c.isdigit())
                    for n in names
                )
            ]
        if word is not None:
            needle = word.strip().lower()
            if len(needle) < 2:
                raise invalid_param("word")
            names = [
                f.api_name
                for f in mod.fields
                if f.data_type in ("text", "email", "phone", "website", "textarea", "picklist")
            ]
            return [
                r for r in recs if any(needle in str(r.data.get(n) or "").lower() for n in names)
            ]
        raise ApiError(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            details={"param_name": "criteria"},
        )

    async def search(self, request: Request) -> Response:
        """Search Records; at most the first 2,000 matches are reachable."""
        state = module_of(self.store, request)
        mod = state.definition
        fields = fields_param(mod, request.query_params.get("fields"), required=False)
        per_page = per_page_param(request)
        page = page_param(request)
        sort_by, sort_order = sort_params(request)
        limit = self.store.search_limit
        if page * per_page > limit:
            raise ApiError(
                "LIMIT_REACHED",
                f"You can only fetch the first {limit} records with the search API",
                details={"limit": limit},
            )
        matches = self._matching(request, state)
        if sort_by != "id":
            matches.sort(key=lambda r: sort_key(r, sort_by))
        if sort_order == "desc":
            matches.reverse()
        matches = matches[:limit]
        start = (page - 1) * per_page
        chunk = matches[start : start + per_page]
        return rows_page(
            [project(r, fields) for r in chunk],
            page,
            per_page,
            start + len(chunk) < len(matches),
            sort_by=sort_by,
            sort_order=sort_order,
        )

    async def count(self, request: Request) -> Response:
        """``/actions/count``: all records, or those matching a search parameter."""
        state = module_of(self.store, request)
        q = request.query_params
        if any(q.get(k) is not None for k in ("criteria", "email", "phone", "word")):
            return zoho_json({"count": len(self._matching(request, state))})
        converted = converted_param(request)
        recs, _ = self.store.view(state, "id", converted)
        return zoho_json({"count": len(recs)})

    async def deleted(self, request: Request) -> Response:
        """Deleted Records (``type`` all, recycle or permanent), newest deletion first."""
        state = module_of(self.store, request)
        kind = request.query_params.get("type", "all")
        if kind not in ("all", "recycle", "permanent"):
            raise invalid_param("type", supported_values=["all", "recycle", "permanent"])
        per_page = per_page_param(request)
        page = page_param(request)
        since = header_time(request, "if-modified-since")
        now = self.emu.clock.now()
        entries = []
        for entry in reversed(state.deleted):
            # Zoho purges the recycle bin after 60 days; purged entries are "permanent".
            entry_type = (
                "permanent" if now - entry.deleted_time > RECYCLE_BIN_SECONDS else "recycle"
            )
            if kind != "all" and entry_type != kind:
                continue
            if since is not None and entry.deleted_time <= since:
                continue
            entries.append((entry, entry_type))
        if since is not None and not entries:
            return Response(status_code=304)
        start = (page - 1) * per_page
        chunk = entries[start : start + per_page]
        if not chunk:
            return Response(status_code=204)
        data = [
            {
                "deleted_by": e.deleted_by,
                "id": e.id,
                "display_name": e.display_name,
                "type": t,
                "created_by": e.created_by,
                "deleted_time": iso(e.deleted_time),
            }
            for e, t in chunk
        ]
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": page,
            "more_records": start + len(chunk) < len(entries),
        }
        return zoho_json({"data": data, "info": info})

    async def coql(self, request: Request) -> Response:
        """COQL: ``{"select_query": "select ... from ... where ..."}``."""
        body = await json_body(request)
        query = body.get("select_query")
        if not isinstance(query, str) or not query.strip():
            raise missing_param("select_query")
        try:
            result = run_coql(query, lambda name: self._coql_records(request, name))
        except CoqlError as exc:
            raise ApiError(exc.code, exc.message, details=exc.details) from None
        if not result.rows:
            return Response(status_code=204)
        return zoho_json(
            {"data": result.rows, "info": {"count": len(result.rows), "more_records": result.more}}
        )

    def _coql_records(self, request: Request, name: str) -> tuple[ModuleDef, list[Record]] | None:
        mod = self.store.schema.find(name)
        if mod is None or mod.generated_type == "subform":
            return None
        recs, _ = self.store.view(self.store.state(mod.api_name), "id", "false")
        return mod, recs
