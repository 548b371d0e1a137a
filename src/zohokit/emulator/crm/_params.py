"""Reading a CRM request: module, query parameters, headers and JSON body, as Zoho checks them.

Every helper raises :class:`~zohokit.emulator._errors.ApiError` with the code and ``details``
Zoho answers for that parameter, so the handlers read as a list of checks in Zoho's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .._core import zoho_json
from .._errors import ApiError
from ._metadata import ModuleDef
from ._store import CrmStore, ModuleState, Record
from ._values import parse_header_time
from ._versions import VERSIONS, ApiVersion

if TYPE_CHECKING:
    from .._core import Emulator

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_WRITE = 100
SORT_FIELDS = ("id", "Created_Time", "Modified_Time")
CONVERTED_VALUES = ("true", "false", "both")
SORT_ORDERS = ("asc", "desc")


class Handlers:
    """What every group of CRM handlers shares: the emulator and its current store."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def store(self) -> CrmStore:
        """The emulator's current store (it is replaced on reset)."""
        return self.emu.crm


def invalid_param(name: str, **extra: Any) -> ApiError:
    """``INVALID_DATA`` for the query parameter ``name``."""
    return ApiError("INVALID_DATA", "invalid data", details={"param_name": name, **extra})


def missing_param(name: str, message: str = "required param is missing") -> ApiError:
    """``REQUIRED_PARAM_MISSING`` for the parameter ``name`` (``message``: Zoho's words,
    which differ between endpoints)."""
    return ApiError("REQUIRED_PARAM_MISSING", message, details={"param_name": name})


def comma_list(raw: str | None) -> list[str]:
    """A comma-separated parameter's items, blanks dropped (``"a, b,,c"``: a, b, c)."""
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def too_many(limit: int, message: str = "limit exceeded", **where: str) -> ApiError:
    """``LIMIT_EXCEEDED``: more than ``limit`` items where ``where`` says (``param_name``,
    ``json_path``, ``api_name``: Zoho's words differ between endpoints)."""
    return ApiError("LIMIT_EXCEEDED", message, details={"limit": limit, **where})


def required_list(
    request: Request,
    name: str,
    message: str = "required param is missing",
    *,
    most: int | None = None,
) -> list[str]:
    """The comma-separated query parameter ``name``: :func:`missing_param` when it names
    nothing, :func:`too_many` past ``most`` items."""
    items = comma_list(request.query_params.get(name))
    if not items:
        raise missing_param(name, message)
    if most is not None and len(items) > most:
        raise too_many(most, param_name=name)
    return items


def version_of(request: Request) -> ApiVersion:
    """The API version in the path (the route wrapper has refused unknown ones)."""
    return VERSIONS[request.path_params["version"]]


def rows_page(
    rows: list[dict[str, Any]], page: int, per_page: int, more: bool, **extra: Any
) -> Response:
    """One page of a list as Zoho answers it: ``data`` and ``info``, or 204 when empty."""
    if not rows:
        return Response(status_code=204)
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
    return zoho_json({"data": rows, "info": {**info, **extra}})


def module_param(store: CrmStore, request: Request) -> ModuleDef:
    """The module named by ``?module=``: required, and one of the org's."""
    name = request.query_params.get("module")
    if not name:
        raise missing_param("module")
    mod = store.schema.find(name)
    if mod is None:
        raise invalid_module(param_name="module")
    return mod


def invalid_module(**details: Any) -> ApiError:
    """``INVALID_MODULE``, with where the module name sat."""
    return ApiError("INVALID_MODULE", "the module name given seems to be invalid", details=details)


def module_of(store: CrmStore, request: Request) -> ModuleState:
    """The state of the module named in the path, or ``INVALID_MODULE``.

    Subform row modules are not reachable through the records API (``api_supported`` is
    false for them, as in Zoho).
    """
    mod = store.schema.find(request.path_params["module"])
    if mod is None or mod.generated_type == "subform":
        raise invalid_module(resource_path_index=0)
    return store.state(mod.api_name)


def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    """An integer query parameter between ``low`` and ``high`` (``default`` when absent)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, expected_data_type="integer") from None
    if value < low or (high is not None and value > high):
        raise invalid_param(name, minimum=low, **({"maximum": high} if high else {}))
    return value


def choice_param(request: Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    """A query parameter that must be one of ``allowed``."""
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise invalid_param(name, supported_values=list(allowed))
    return value


def per_page_param(request: Request) -> int:
    """``per_page``: 1 to 200, default 200."""
    return int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)


def page_param(request: Request) -> int:
    """``page``: 1 or more, default 1."""
    return int_param(request, "page", 1, 1, None)


def sort_params(request: Request) -> tuple[str, str]:
    """``sort_by`` (``id``, ``Created_Time``, ``Modified_Time``) and ``sort_order``."""
    return (
        choice_param(request, "sort_by", "id", SORT_FIELDS),
        choice_param(request, "sort_order", "desc", SORT_ORDERS),
    )


def converted_param(request: Request) -> str:
    """``converted``: ``false`` (default), ``true`` or ``both``, case-insensitively."""
    value = request.query_params.get("converted", "false").lower()
    if value not in CONVERTED_VALUES:
        raise invalid_param("converted", supported_values=list(CONVERTED_VALUES))
    return value


def fields_param(mod: ModuleDef, raw: str | None, required: bool) -> list[str] | None:
    """The ``fields`` list (each a field of ``mod``, at most 50), or ``None`` for all."""
    if raw is None or not raw.strip():
        if required:
            raise missing_param("fields")
        return None
    names = comma_list(raw)
    if len(names) > MAX_FIELDS:
        raise too_many(MAX_FIELDS, param_name="fields")
    for name in names:
        # ``Tag`` is every module's: a record's tags, written by the tag calls (``_tags``).
        if name not in mod.field_map and name != "Tag":
            raise ApiError(
                "INVALID_DATA",
                "the field api name given seems to be invalid",
                details={"api_name": name, "param_name": "fields"},
            )
    return list(dict.fromkeys(names))


def header_time(request: Request, header: str) -> float | None:
    """Epoch seconds of an ``If-Modified-Since``-style header, ``None`` when absent."""
    raw = request.headers.get(header)
    if raw is None or not raw.strip():
        return None
    ts = parse_header_time(raw)
    if ts is None:
        raise ApiError("INVALID_DATA", "invalid data", details={"header_name": header})
    return ts


def project(rec: Record, fields: list[str] | None) -> dict[str, Any]:
    """The record as an answer shows it: every value, or ``id`` plus the asked ``fields``."""
    if fields is None:
        return dict(rec.data)
    out: dict[str, Any] = {"id": rec.id}
    for name in fields:
        out[name] = rec.data.get(name, [] if name == "Tag" else None)
    return out


def items_of(body: dict[str, Any], key: str, limit: int) -> list[Any]:
    """The non-empty list at ``body[key]`` (at most ``limit`` items), or the error Zoho
    answers: ``MANDATORY_NOT_FOUND`` without one, ``LIMIT_EXCEEDED`` past the limit."""
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise ApiError(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            details={"api_name": key, "json_path": f"$.{key}"},
        )
    if len(items) > limit:
        raise too_many(limit, json_path=f"$.{key}")
    return items


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, whatever its Content-Type says."""
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


def records_of(body: dict[str, Any]) -> list[Any]:
    """The body's ``data`` array: present, a list, 1 to 100 elements."""
    data = body.get("data")
    if data is None:
        raise missing_param("data")
    if not isinstance(data, list):
        raise ApiError("INVALID_DATA", "invalid data", details={"json_path": "$.data"})
    if not data:
        raise missing_param("data")
    if len(data) > MAX_WRITE:
        raise too_many(
            MAX_WRITE, "Cannot process more than 100 records at a time", json_path="$.data"
        )
    return data


def write_answer(results: list[dict[str, Any]], all_ok: int) -> Response:
    """Per-record results under ``data``: ``all_ok`` if all passed, 207 mixed, else 400/412."""
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


@dataclass(frozen=True)
class ListQuery:
    """A Get Records request's parameters, checked in the order Zoho reports them."""

    fields: list[str] | None
    per_page: int
    page_token: str | None
    page: int
    sort_by: str
    sort_order: str
    converted: str
    ids: tuple[str, ...]
    since: float | None

    @property
    def descending(self) -> bool:
        """Whether the newest (highest) key comes first."""
        return self.sort_order == "desc"

    @property
    def signature(self) -> tuple[Any, ...]:
        """What a ``page_token`` is bound to: changing any of it is a mismatch."""
        return (
            tuple(self.fields or ()),
            self.per_page,
            self.sort_by,
            self.sort_order,
            self.converted,
            self.ids,
            self.since,
        )


def list_query(request: Request, mod: ModuleDef) -> ListQuery:
    """The parameters of a Get Records request, checked in the order Zoho reports them."""
    q = request.query_params
    fields = fields_param(mod, q.get("fields"), required=version_of(request).list_needs_fields)
    per_page = per_page_param(request)
    page_token = q.get("page_token")
    if page_token is not None and q.get("page") is not None:
        raise ApiError(
            "AMBIGUITY_DURING_PROCESSING",
            "page and page_token cannot be given together",
            details={"ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]},
        )
    page = page_param(request)
    sort_by, sort_order = sort_params(request)
    if q.get("cvid"):
        raise invalid_param("cvid")
    converted = converted_param(request)
    ids = tuple(comma_list(q.get("ids")))
    since = header_time(request, "if-modified-since")
    return ListQuery(fields, per_page, page_token, page, sort_by, sort_order, converted, ids, since)
