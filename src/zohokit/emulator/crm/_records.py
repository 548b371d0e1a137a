"""CRM record handlers: list, get, insert, update, upsert and delete.

A list answers ``page`` or ``page_token`` paging over a cached sorted view of the module; writes
go through :class:`~zohokit.emulator.crm._store.CrmStore` and answer one result per record, in
input order.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .._core import iso, zoho_json
from .._errors import ApiError, invalid_url
from ._params import (
    MAX_WRITE,
    Handlers,
    ListQuery,
    fields_param,
    header_time,
    json_body,
    list_query,
    module_of,
    project,
    records_of,
    required_list,
    write_answer,
)
from ._store import (
    ModuleState,
    Record,
    SortKey,
    lookup_id_or_none,
    page_of,
    position_after,
    sort_key,
)


class RecordHandlers(Handlers):
    """``/crm/{version}/{module}``, ``/{module}/{id}`` and ``/{module}/upsert``."""

    async def collection(self, request: Request) -> Response:
        """``/crm/v8/{module}``: list, insert, update many, delete many."""
        state = module_of(self.store, request)
        if request.method == "GET":
            return self.list_records(request, state)
        if request.method == "POST":
            return await self.insert(request, state)
        if request.method == "PUT":
            return await self.update_many(request, state)
        return self.delete_many(request, state)

    def list_records(self, request: Request, state: ModuleState) -> Response:
        """Get Records with ``page``/``page_token`` paging, sorting and filters."""
        query = list_query(request, state.definition)
        recs, keys = self.store.view(state, query.sort_by, query.converted)
        if query.ids or query.since is not None:
            recs, keys = _filtered(recs, keys, query)
            if query.since is not None and not recs:
                return Response(status_code=304)
        window = self._window(query, state.definition.api_name, keys)
        chunk = page_of(recs, keys, query.descending, window.start, window.count)
        if not chunk:
            return Response(status_code=204)
        more = window.start + len(chunk) < len(recs)
        next_token = None
        if more:
            next_token = self.store.issue_token(
                state.definition.api_name,
                query.signature,
                sort_key(chunk[-1], query.sort_by),
                window.served + len(chunk),
                window.previous,
            )
        info = {
            "per_page": query.per_page,
            "count": len(chunk),
            "page": window.page,
            "sort_by": query.sort_by,
            "sort_order": query.sort_order,
            "more_records": more,
            "next_page_token": next_token.token if next_token else None,
            "previous_page_token": window.previous,
            "page_token_expiry": iso(next_token.expires) if next_token else None,
            "call": False,
            "email": False,
        }
        return zoho_json({"data": [project(r, query.fields) for r in chunk], "info": info})

    def _window(self, query: ListQuery, module: str, keys: list[SortKey]) -> _Window:
        """Where the page starts: after a ``page_token``'s last record, or at ``page``."""
        store = self.store
        if query.page_token is None:
            if query.page * query.per_page > store.discrete_limit:
                raise ApiError(
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    f"You can only get the first {store.discrete_limit} records without "
                    "using page_token param",
                    details={"limit": store.discrete_limit},
                )
            start = (query.page - 1) * query.per_page
            return _Window(start, start, query.per_page, query.page, None)
        token = store.page_tokens.get(query.page_token)
        if token is None or token.module != module or token.signature != query.signature:
            raise ApiError(
                "TOKEN_BOUND_DATA_MISMATCH",
                "The page_token given seems to be invalid or input param is added or "
                "altered or deleted",
                details={"param_name": "page_token"},
            )
        if token.expires <= self.emu.clock.now():
            raise ApiError(
                "EXPIRED_VALUE",
                "Page token expired",
                details={"api_name": "page_token", "json_path": "$.query.page_token"},
            )
        if token.served >= store.page_token_limit:
            raise ApiError(
                "PAGINATION_LIMIT_EXCEEDED",
                f"You can only get upto {store.page_token_limit} records using page_token param",
                details={"param_name": "page_token"},
            )
        return _Window(
            start=position_after(keys, token.last_key, query.descending),
            served=token.served,
            count=min(query.per_page, store.page_token_limit - token.served),
            page=token.served // query.per_page + 1,
            previous=token.token,
        )

    async def insert(self, request: Request, state: ModuleState) -> Response:
        """Insert Records: 201 all added, 207 mixed, 400 none."""
        records = records_of(await json_body(request))
        actor = self.store.api_user()
        results = [self.store.insert(state, raw, i, actor) for i, raw in enumerate(records)]
        return write_answer(results, 201)

    async def update_many(self, request: Request, state: ModuleState) -> Response:
        """Update Records in bulk; every record names its ``id`` (string or JSON number)."""
        records = records_of(await json_body(request))
        since = header_time(request, "if-unmodified-since")
        actor = self.store.api_user()
        results = []
        for i, raw in enumerate(records):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            if raw_id is None:
                results.append(
                    {
                        "code": "MANDATORY_NOT_FOUND",
                        "details": {"api_name": "id", "json_path": f"$.data[{i}].id"},
                        "message": "required field not found",
                        "status": "error",
                    }
                )
                continue
            rec_id = lookup_id_or_none(raw_id)
            if rec_id is None:
                results.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {
                            "api_name": "id",
                            "json_path": f"$.data[{i}].id",
                            "expected_data_type": "bigint",
                        },
                        "message": "invalid data",
                        "status": "error",
                    }
                )
                continue
            results.append(self.store.update(state, rec_id, raw, i, actor, since))
        return write_answer(results, 200)

    def delete_many(self, request: Request, state: ModuleState) -> Response:
        """Delete Records by ``ids`` (at most 100)."""
        ids = required_list(
            request, "ids", "One of the expected parameter is missing", most=MAX_WRITE
        )
        actor = self.store.api_user()
        results = [self.store.remove(state, rec_id, actor) for rec_id in ids]
        return write_answer(results, 200)

    # ------------------------------------------------------------ one record

    async def one(self, request: Request) -> Response:
        """``/crm/v8/{module}/{id}``: get, update or delete one record."""
        state = module_of(self.store, request)
        rec_id = request.path_params["record_id"]
        if not rec_id.isdigit():
            if request.method == "GET":
                raise invalid_url()
            raise ApiError("INVALID_DATA", "invalid record id", details={"resource_path_index": 1})
        if request.method == "GET":
            fields = fields_param(state.definition, request.query_params.get("fields"), False)
            rec = state.records.get(rec_id)
            if rec is None:
                return Response(status_code=204)
            return zoho_json({"data": [project(rec, fields)]})
        actor = self.store.api_user()
        if request.method == "PUT":
            records = records_of(await json_body(request))
            since = header_time(request, "if-unmodified-since")
            result = self.store.update(state, rec_id, records[0], 0, actor, since)
            return write_answer([result], 200)
        if request.method == "DELETE":
            return write_answer([self.store.remove(state, rec_id, actor)], 200)
        raise ApiError("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")

    # ------------------------------------------------------------ upsert

    async def upsert(self, request: Request) -> Response:
        """Upsert Records by ``duplicate_check_fields`` (default: dedupe field, then unique)."""
        state = module_of(self.store, request)
        mod = state.definition
        body = await json_body(request)
        records = records_of(body)
        check = body.get("duplicate_check_fields")
        if check is None:
            check_fields = mod.duplicate_check_fields
        else:
            if not isinstance(check, list) or not all(isinstance(c, str) for c in check):
                raise ApiError(
                    "INVALID_DATA",
                    "invalid data",
                    details={"json_path": "$.duplicate_check_fields"},
                )
            for i, name in enumerate(check):
                if name not in mod.duplicate_check_fields:
                    raise ApiError(
                        "INVALID_DATA",
                        "the field is not a duplicate check field",
                        details={
                            "api_name": name,
                            "json_path": f"$.duplicate_check_fields[{i}]",
                            "supported_values": list(mod.duplicate_check_fields),
                        },
                    )
            check_fields = tuple(check)
        since = header_time(request, "if-unmodified-since")
        actor = self.store.api_user()
        results = [
            self.store.upsert(state, raw, i, actor, check_fields, since)
            for i, raw in enumerate(records)
        ]
        return write_answer(results, 200)


@dataclass(frozen=True)
class _Window:
    """The slice of the sorted view one page reads, and how it is numbered."""

    start: int
    served: int
    count: int
    page: int
    previous: str | None


def _filtered(
    recs: list[Record], keys: list[SortKey], query: ListQuery
) -> tuple[list[Record], list[SortKey]]:
    """The records (and their keys) among ``ids`` and modified after ``If-Modified-Since``."""
    wanted = set(query.ids)
    since = query.since
    pairs = [
        (r, k)
        for r, k in zip(recs, keys, strict=True)
        if (not wanted or r.id in wanted) and (since is None or r.modified > since)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]
