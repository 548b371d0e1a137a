"""HTTP handlers of the CRM v8 API: records, search, COQL, deleted records and metadata.

Each handler authenticates first, then resolves the module, then validates parameters in the
order Zoho reports them. Request-level errors are unwrapped ``{"code",...}`` objects; per-record
results are wrapped in ``data[]`` in input order.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._core import iso, zoho_error, zoho_json
from ._coql import CoqlError, run_coql
from ._criteria import CriteriaError, compile_criteria
from ._metadata import (
    ORG_ID,
    ORG_ZGID,
    USER_ID,
    USER_ZUID,
    ModuleDef,
    fields_json,
    find_module,
    modules_json,
)
from ._store import (
    RECYCLE_BIN_SECONDS,
    CrmStore,
    ModuleState,
    Record,
    lookup_id_or_none,
    page_of,
    position_after,
    sort_key,
)
from ._values import parse_header_time

if TYPE_CHECKING:
    from .._core import Emulator

Handler = Callable[[Request], Awaitable[Response]]

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_WRITE = 100
SORT_FIELDS = ("id", "Created_Time", "Modified_Time")
_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


class ApiError(Exception):
    """A request-level error; :meth:`response` renders it unwrapped, as Zoho does."""

    def __init__(
        self, code: str, message: str, status: int = 400, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}

    def response(self) -> Response:
        """The error as an HTTP answer."""
        return zoho_error(self.code, self.message, self.status, self.details)


def _invalid_param(name: str, **extra: Any) -> ApiError:
    return ApiError("INVALID_DATA", "invalid data", details={"param_name": name, **extra})


def _missing_param(name: str) -> ApiError:
    return ApiError(
        "REQUIRED_PARAM_MISSING", "required param is missing", details={"param_name": name}
    )


def _module_of(store: CrmStore, request: Request) -> ModuleState:
    mod = find_module(request.path_params["module"])
    if mod is None:
        raise ApiError(
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            details={"resource_path_index": 0},
        )
    return store.state(mod.api_name)


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid_param(name, expected_data_type="integer") from None
    if value < low or (high is not None and value > high):
        raise _invalid_param(name, minimum=low, **({"maximum": high} if high else {}))
    return value


def _fields_param(mod: ModuleDef, raw: str | None, required: bool) -> list[str] | None:
    if raw is None or not raw.strip():
        if required:
            raise _missing_param("fields")
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_FIELDS:
        raise ApiError(
            "LIMIT_EXCEEDED",
            "limit exceeded",
            details={"limit": MAX_FIELDS, "param_name": "fields"},
        )
    for name in names:
        if name not in mod.field_map:
            raise ApiError(
                "INVALID_DATA",
                "the field api name given seems to be invalid",
                details={"api_name": name, "param_name": "fields"},
            )
    return list(dict.fromkeys(names))


def _header_time(request: Request, header: str) -> float | None:
    raw = request.headers.get(header)
    if raw is None or not raw.strip():
        return None
    ts = parse_header_time(raw)
    if ts is None:
        raise ApiError("INVALID_DATA", "invalid data", details={"header_name": header})
    return ts


def _project(mod: ModuleDef, rec: Record, fields: list[str] | None) -> dict[str, Any]:
    if fields is None:
        return dict(rec.data)
    out: dict[str, Any] = {"id": rec.id}
    for name in fields:
        out[name] = rec.data.get(name)
    return out


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    # The official SDK sends JSON with no Content-Type at all: parse whatever arrives.
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            "INVALID_DATA",
            "either the request body or parameters is in wrong format",
            details={},
        )
    return body


def _records_of(body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    if data is None:
        raise _missing_param("data")
    if not isinstance(data, list):
        raise ApiError("INVALID_DATA", "invalid data", details={"json_path": "$.data"})
    if not data:
        raise _missing_param("data")
    if len(data) > MAX_WRITE:
        raise ApiError(
            "LIMIT_EXCEEDED",
            "Cannot process more than 100 records at a time",
            details={"limit": MAX_WRITE, "json_path": "$.data"},
        )
    return data


def _write_answer(results: list[dict[str, Any]], all_ok: int) -> Response:
    ok = sum(1 for r in results if r["status"] == "success")
    if ok == len(results):
        status = all_ok
    elif ok:
        status = 207
    elif any(r["code"] == "ALREADY_MODIFIED" for r in results):
        status = 412
    else:
        status = 400
    return zoho_json({"data": results}, status)


class CrmApi:
    """The CRM handlers, bound to one emulator."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def store(self) -> CrmStore:
        """The emulator's current store (it is replaced on reset)."""
        return self.emu.crm

    def guarded(self, handler: Handler, methods: tuple[str, ...]) -> Handler:
        """Wrap ``handler`` with authentication, method checks and :class:`ApiError` rendering."""

        async def endpoint(request: Request) -> Response:
            grant = self.emu.authenticate(request, "crm")
            if isinstance(grant, Response):
                return grant
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

    # ------------------------------------------------------------ records collection

    async def collection(self, request: Request) -> Response:
        """``/crm/v8/{module}``: list, insert, update many, delete many."""
        state = _module_of(self.store, request)
        if request.method == "GET":
            return self.list_records(request, state)
        if request.method == "POST":
            return await self.insert(request, state)
        if request.method == "PUT":
            return await self.update_many(request, state)
        return self.delete_many(request, state)

    def list_records(self, request: Request, state: ModuleState) -> Response:
        """Get Records with ``page``/``page_token`` paging, sorting and filters."""
        mod = state.definition
        q = request.query_params
        fields = _fields_param(mod, q.get("fields"), required=True)
        assert fields is not None
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        token_text = q.get("page_token")
        if token_text is not None and q.get("page") is not None:
            raise ApiError(
                "AMBIGUITY_DURING_PROCESSING",
                "page and page_token cannot be given together",
                details={
                    "ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]
                },
            )
        page = _int_param(request, "page", 1, 1, None)
        sort_by = q.get("sort_by", "id")
        if sort_by not in SORT_FIELDS:
            raise _invalid_param("sort_by", supported_values=list(SORT_FIELDS))
        sort_order = q.get("sort_order", "desc")
        if sort_order not in ("asc", "desc"):
            raise _invalid_param("sort_order", supported_values=["asc", "desc"])
        if q.get("cvid"):
            raise _invalid_param("cvid")
        converted = q.get("converted", "false").lower()
        if converted not in ("true", "false", "both"):
            raise _invalid_param("converted", supported_values=["true", "false", "both"])
        ids_raw = q.get("ids")
        ids = tuple(i.strip() for i in ids_raw.split(",") if i.strip()) if ids_raw else ()
        since = _header_time(request, "if-modified-since")
        signature = (tuple(fields), per_page, sort_by, sort_order, converted, ids, since)

        recs, keys = self.store.view(state, sort_by, converted)
        if ids or since is not None:
            wanted = set(ids)
            pairs = [
                (r, k)
                for r, k in zip(recs, keys, strict=True)
                if (not ids or r.id in wanted) and (since is None or r.modified > since)
            ]
            recs = [p[0] for p in pairs]
            keys = [p[1] for p in pairs]
            if since is not None and not recs:
                return Response(status_code=304)
        descending = sort_order == "desc"

        previous: str | None = None
        if token_text is not None:
            token = self.store.page_tokens.get(token_text)
            if token is None or token.module != mod.api_name or token.signature != signature:
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
            if token.served >= self.store.page_token_limit:
                raise ApiError(
                    "PAGINATION_LIMIT_EXCEEDED",
                    f"You can only get upto {self.store.page_token_limit} records using "
                    "page_token param",
                    details={"param_name": "page_token"},
                )
            start = position_after(keys, token.last_key, descending)
            served = token.served
            count = min(per_page, self.store.page_token_limit - served)
            page = served // per_page + 1
            previous = token.token
        else:
            if page * per_page > self.store.discrete_limit:
                raise ApiError(
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    f"You can only get the first {self.store.discrete_limit} records without "
                    "using page_token param",
                    details={"limit": self.store.discrete_limit},
                )
            start = served = (page - 1) * per_page
            count = per_page
        chunk = page_of(recs, keys, descending, start, count)
        if not chunk:
            return Response(status_code=204)
        more = start + len(chunk) < len(recs)
        next_token = None
        if more:
            next_token = self.store.issue_token(
                mod.api_name, signature, sort_key(chunk[-1], sort_by), served + len(chunk), previous
            )
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": page,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "more_records": more,
            "next_page_token": next_token.token if next_token else None,
            "previous_page_token": previous,
            "page_token_expiry": iso(next_token.expires) if next_token else None,
            "call": False,
            "email": False,
        }
        return zoho_json({"data": [_project(mod, r, fields) for r in chunk], "info": info})

    async def insert(self, request: Request, state: ModuleState) -> Response:
        """Insert Records: 201 all added, 207 mixed, 400 none."""
        records = _records_of(await _json_body(request))
        actor = self.store.api_user()
        results = [self.store.insert(state, raw, i, actor) for i, raw in enumerate(records)]
        return _write_answer(results, 201)

    async def update_many(self, request: Request, state: ModuleState) -> Response:
        """Update Records in bulk; every record names its ``id`` (string or JSON number)."""
        records = _records_of(await _json_body(request))
        since = _header_time(request, "if-unmodified-since")
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
        return _write_answer(results, 200)

    def delete_many(self, request: Request, state: ModuleState) -> Response:
        """Delete Records by ``ids`` (at most 100)."""
        raw = request.query_params.get("ids")
        ids = [i.strip() for i in raw.split(",") if i.strip()] if raw else []
        if not ids:
            raise ApiError(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                details={"param_name": "ids"},
            )
        if len(ids) > MAX_WRITE:
            raise ApiError(
                "LIMIT_EXCEEDED",
                "limit exceeded",
                details={"limit": MAX_WRITE, "param_name": "ids"},
            )
        actor = self.store.api_user()
        results = [self.store.remove(state, rec_id, actor) for rec_id in ids]
        return _write_answer(results, 200)

    # ------------------------------------------------------------ one record

    async def one(self, request: Request) -> Response:
        """``/crm/v8/{module}/{id}``: get, update or delete one record."""
        state = _module_of(self.store, request)
        rec_id = request.path_params["record_id"]
        if not rec_id.isdigit():
            if request.method == "GET":
                raise ApiError(
                    "INVALID_URL_PATTERN",
                    "Please check if the URL trying to access is a correct one",
                    404,
                )
            raise ApiError("INVALID_DATA", "invalid record id", details={"resource_path_index": 1})
        if request.method == "GET":
            fields = _fields_param(state.definition, request.query_params.get("fields"), False)
            rec = state.records.get(rec_id)
            if rec is None:
                return Response(status_code=204)
            return zoho_json({"data": [_project(state.definition, rec, fields)]})
        actor = self.store.api_user()
        if request.method == "PUT":
            records = _records_of(await _json_body(request))
            since = _header_time(request, "if-unmodified-since")
            result = self.store.update(state, rec_id, records[0], 0, actor, since)
            return _write_answer([result], 200)
        if request.method == "DELETE":
            return _write_answer([self.store.remove(state, rec_id, actor)], 200)
        raise ApiError("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")

    # ------------------------------------------------------------ upsert, search, count

    async def upsert(self, request: Request) -> Response:
        """Upsert Records by ``duplicate_check_fields`` (default: dedupe field, then unique)."""
        state = _module_of(self.store, request)
        mod = state.definition
        body = await _json_body(request)
        records = _records_of(body)
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
        since = _header_time(request, "if-unmodified-since")
        actor = self.store.api_user()
        results = [
            self.store.upsert(state, raw, i, actor, check_fields, since)
            for i, raw in enumerate(records)
        ]
        return _write_answer(results, 200)

    def _matching(self, request: Request, state: ModuleState) -> list[Record]:
        """Records matching ``criteria`` > ``email`` > ``phone`` > ``word``, oldest first."""
        mod = state.definition
        q = request.query_params
        converted = q.get("converted", "false").lower()
        if converted not in ("true", "false", "both"):
            raise _invalid_param("converted", supported_values=["true", "false", "both"])
        recs, _ = self.store.view(state, "id", converted)
        criteria, email, phone, word = (q.get(k) for k in ("criteria", "email", "phone", "word"))
        if criteria is not None:
            try:
                predicate = compile_criteria(criteria, mod)
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
                raise _invalid_param("phone")
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
                raise _invalid_param("word")
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
        state = _module_of(self.store, request)
        mod = state.definition
        fields = _fields_param(mod, request.query_params.get("fields"), required=False)
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        page = _int_param(request, "page", 1, 1, None)
        sort_by = request.query_params.get("sort_by", "id")
        if sort_by not in SORT_FIELDS:
            raise _invalid_param("sort_by", supported_values=list(SORT_FIELDS))
        sort_order = request.query_params.get("sort_order", "desc")
        if sort_order not in ("asc", "desc"):
            raise _invalid_param("sort_order", supported_values=["asc", "desc"])
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
        if not chunk:
            return Response(status_code=204)
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": page,
            "more_records": start + len(chunk) < len(matches),
            "sort_by": sort_by,
            "sort_order": sort_order,
        }
        return zoho_json({"data": [_project(mod, r, fields) for r in chunk], "info": info})

    async def count(self, request: Request) -> Response:
        """``/actions/count``: all records, or those matching a search parameter."""
        state = _module_of(self.store, request)
        q = request.query_params
        if any(q.get(k) is not None for k in ("criteria", "email", "phone", "word")):
            return zoho_json({"count": len(self._matching(request, state))})
        converted = q.get("converted", "false").lower()
        if converted not in ("true", "false", "both"):
            raise _invalid_param("converted", supported_values=["true", "false", "both"])
        recs, _ = self.store.view(state, "id", converted)
        return zoho_json({"count": len(recs)})

    async def deleted(self, request: Request) -> Response:
        """Deleted Records (``type`` all, recycle or permanent), newest deletion first."""
        state = _module_of(self.store, request)
        kind = request.query_params.get("type", "all")
        if kind not in ("all", "recycle", "permanent"):
            raise _invalid_param("type", supported_values=["all", "recycle", "permanent"])
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        page = _int_param(request, "page", 1, 1, None)
        since = _header_time(request, "if-modified-since")
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
        body = await _json_body(request)
        query = body.get("select_query")
        if not isinstance(query, str) or not query.strip():
            raise _missing_param("select_query")
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
        mod = find_module(name)
        if mod is None:
            return None
        recs, _ = self.store.view(self.store.state(mod.api_name), "id", "false")
        return mod, recs

    # ------------------------------------------------------------ metadata

    async def settings_modules(self, request: Request) -> Response:
        """Modules metadata."""
        return zoho_json(modules_json())

    async def settings_fields(self, request: Request) -> Response:
        """Fields metadata of ``?module=``."""
        name = request.query_params.get("module")
        if not name:
            raise _missing_param("module")
        mod = find_module(name)
        if mod is None:
            raise ApiError(
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                details={"param_name": "module"},
            )
        return zoho_json(fields_json(mod.api_name))

    async def users(self, request: Request) -> Response:
        """Users; ``type=CurrentUser`` gives the grant's user."""
        cfg = self.emu.config
        kind = request.query_params.get("type", "AllUsers")
        first, _, last = cfg.user_name.partition(" ")
        me = {
            "id": USER_ID,
            "zuid": USER_ZUID,
            "email": cfg.user_email,
            "full_name": cfg.user_name,
            "first_name": first,
            "last_name": last or first,
            "status": "active",
            "confirm": True,
            "role": {"name": "CEO", "id": f"{USER_ID[:-4]}0011"},
            "profile": {"name": "Administrator", "id": f"{USER_ID[:-4]}0026"},
            "time_zone": "Etc/UTC",
            "locale": "en_US",
        }
        if kind == "CurrentUser":
            return zoho_json({"users": [me]})
        sales = self.store.sales_user()
        other = {
            **me,
            "id": sales["id"],
            "zuid": self.store.zuid_of(sales["id"]),
            "email": sales["email"],
            "full_name": sales["name"],
            "first_name": sales["name"].split()[0],
            "last_name": sales["name"].split()[-1],
            "role": {"name": "Sales", "id": f"{USER_ID[:-4]}0012"},
            "profile": {"name": "Standard", "id": f"{USER_ID[:-4]}0027"},
        }
        users = [me, other]
        return zoho_json(
            {
                "users": users,
                "info": {"per_page": 200, "count": len(users), "page": 1, "more_records": False},
            }
        )

    async def org(self, request: Request) -> Response:
        """The organization."""
        cfg = self.emu.config
        return zoho_json(
            {
                "org": [
                    {
                        "id": ORG_ID,
                        "zgid": ORG_ZGID,
                        "company_name": "Emulated Org",
                        "primary_email": cfg.user_email,
                        "primary_zuid": USER_ZUID,
                        "time_zone": "Etc/UTC",
                        "iso_code": "USD",
                        "currency": "US Dollar - USD",
                        "currency_symbol": "$",
                        "country_code": "US",
                        "domain_name": f"org{ORG_ZGID}",
                        "type": "production",
                        "mc_status": False,
                        "license_details": {
                            "paid": True,
                            "paid_type": "enterprise",
                            "users_license_purchased": 10,
                        },
                    }
                ]
            }
        )


def crm_routes(emu: Emulator) -> list[BaseRoute]:
    """Every CRM v8 route, with full paths, plus a catch-all answering ``INVALID_URL_PATTERN``."""
    api = CrmApi(emu)
    g = api.guarded

    async def not_found(request: Request) -> Response:
        grant = emu.authenticate(request, "crm")
        if isinstance(grant, Response):
            return grant
        return zoho_error(
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            404,
            {},
        )

    def route(path: str, handler: Handler, *methods: str) -> Route:
        return Route(path, g(handler, methods), methods=_ALL_METHODS)

    base = "/crm/v8"
    return [
        route(f"{base}/settings/modules", api.settings_modules, "GET"),
        route(f"{base}/settings/fields", api.settings_fields, "GET"),
        route(f"{base}/users", api.users, "GET"),
        route(f"{base}/org", api.org, "GET"),
        route(f"{base}/coql", api.coql, "POST"),
        route(f"{base}/{{module}}/search", api.search, "GET"),
        route(f"{base}/{{module}}/deleted", api.deleted, "GET"),
        route(f"{base}/{{module}}/actions/count", api.count, "GET"),
        route(f"{base}/{{module}}/upsert", api.upsert, "POST"),
        route(f"{base}/{{module}}", api.collection, "GET", "POST", "PUT", "DELETE"),
        route(f"{base}/{{module}}/{{record_id}}", api.one, "GET", "PUT", "DELETE"),
        Route("/crm/{rest:path}", not_found, methods=_ALL_METHODS),
    ]
