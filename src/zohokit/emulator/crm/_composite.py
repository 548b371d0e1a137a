"""Composite requests (``/__composite_requests``, v3 on): up to five sub-requests for one credit.

Each sub-request (``uri``, ``method``, ``params``, ``body``, ``headers``, ``sub_request_id``)
runs through the CRM dispatcher as if sent alone, with the composite's token (its scopes are
checked), but is not charged on its own. A later sub-request may use an earlier one's answer
as ``@{sub_request_id:$.data[0].details.id}`` in its ``uri``, ``params`` or ``body``.

``rollback_on_fail``: when a sub-request fails (its answer is an error, or any per-record
error), everything the composite changed is undone and the rest are not run.
``parallel_execution`` (``concurrent_execution`` in v3 and v4) may not be true together with
it (``AMBIGUITY_DURING_PROCESSING``). The emulator runs sub-requests one after another either
way (its answers do not depend on the order of independent ones).

Sources: https://www.zoho.com/crm/developer/docs/api/v8/composite-api.html,
https://zoho.com/crm/developer/docs/api/v3/composite-api.html (``concurrent_execution``),
``zoho/crm-oas`` ``v8.0/composite_requests``. The codes of rolled back and skipped
sub-requests (``ROLLBACK_PERFORMED``, ``NOT_EXECUTED``) are UNVERIFIED.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .._core import zoho_json
from .._durable import all_or_nothing
from .._errors import ApiError, invalid_url
from ._params import Handlers, items_of, json_body, version_of

Handler = Callable[[Request], Awaitable[Response]]

#: Zoho: at most five sub-requests in one composite request.
MAX_SUB_REQUESTS = 5
_URI = re.compile(r"/crm(/.*)?/v[0-9]+([.][0-9]+)?/.*")
_SUB_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_]*")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REFERENCE = re.compile(r"@\{([a-zA-Z0-9][a-zA-Z0-9_]*):(\$[^}]*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_$]+)|\[(\d+)\]")


class _RolledBack(Exception):
    """Raised inside the all-or-nothing block to undo a composite."""


class CompositeHandlers(Handlers):
    """``/__composite_requests``; ``endpoint`` is the CRM dispatcher's, which runs each one."""

    def __init__(self, emu: Any, endpoint: Handler) -> None:
        super().__init__(emu)
        self.endpoint = endpoint

    async def run(self, request: Request) -> Response:
        """Check the composite, run its sub-requests, answer one element per sub-request."""
        version = version_of(request)
        if not version.since(3):
            raise invalid_url()
        body = await json_body(request)
        subs = items_of(body, "__composite_requests", MAX_SUB_REQUESTS)
        rollback = body.get("rollback_on_fail") is True
        flag = "parallel_execution" if version.since(5) else "concurrent_execution"
        if rollback and body.get(flag) is True:
            raise ApiError(
                "AMBIGUITY_DURING_PROCESSING",
                f"rollback_on_fail and {flag} cannot both be true",
                details={
                    "ambiguity_due_to": [{"api_name": "rollback_on_fail"}, {"api_name": flag}]
                },
            )
        checked = [_checked(sub, i) for i, sub in enumerate(subs)]
        auth = request.headers.get("authorization", "")
        answers: list[tuple[int, dict[str, str], Any]] = []
        done: dict[str, Any] = {}
        rolled_back = False
        # Only a rollback needs the copy all_or_nothing takes first. Nothing else runs while
        # the sub-requests do: no handler awaits anything that gives the loop to another
        # request, so undoing restores exactly what this composite changed.
        guard = all_or_nothing(self.emu) if rollback else contextlib.nullcontext()
        try:
            with guard:
                for sub in checked:
                    status, headers, answer = await self._one(sub, done, auth)
                    answers.append((status, headers, answer))
                    if sub.get("sub_request_id"):
                        done[sub["sub_request_id"]] = answer
                    if rollback and _failed(status, answer):
                        raise _RolledBack
        except _RolledBack:
            rolled_back = True
        out = []
        for i in range(len(checked)):
            if i >= len(answers):
                out.append(
                    {
                        "code": "NOT_EXECUTED",
                        "details": {},
                        "message": "not executed",
                        "status": "error",
                    }
                )
                continue
            status, headers, answer = answers[i]
            response = {"headers": headers, "body": answer, "status_code": status}
            if rolled_back:
                out.append(
                    {
                        "code": "ROLLBACK_PERFORMED",
                        "details": {"response": response},
                        "message": "the changes of this sub-request were rolled back",
                        "status": "error",
                    }
                )
            else:
                out.append(
                    {
                        "code": "SUCCESS",
                        "details": {"response": response},
                        "message": "composite sub request executed successfully",
                        "status": "success",
                    }
                )
        failed = [_failed(s, a) for s, _, a in answers]
        status = 400 if rolled_back or all(failed) else 207 if any(failed) else 200
        return zoho_json({"__composite_requests": out}, status)

    async def _one(
        self, sub: dict[str, Any], done: dict[str, Any], auth: str
    ) -> tuple[int, dict[str, str], Any]:
        """Run one sub-request through the dispatcher; its status, headers and JSON body."""
        uri = str(_resolve(sub["uri"], done))
        params = _resolve(sub.get("params") or {}, done)
        body = _resolve(sub.get("body"), done)
        match = re.fullmatch(r"/crm/([^/]+)/(.*)", uri)
        if match is None:  # the uri check let it through, so this cannot happen
            raise invalid_url()
        raw = b"" if body is None else json.dumps(body).encode()
        headers = [(b"authorization", auth.encode()), (b"content-type", b"application/json")]
        headers += [
            (str(k).lower().encode(), str(v).encode())
            for k, v in (sub.get("headers") or {}).items()
        ]
        scope = {
            "type": "http",
            "method": sub["method"],
            "scheme": "http",
            "server": ("emulator", 80),
            "root_path": "",
            "path": uri,
            "raw_path": uri.encode(),
            "query_string": urlencode({k: str(v) for k, v in params.items()}).encode(),
            "headers": headers,
            "path_params": {"version": match.group(1), "rest": match.group(2)},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        response = await self.endpoint(Request(scope, receive))
        content = bytes(response.body)
        try:
            answer = json.loads(content) if content else None
        except ValueError:
            answer = None
        kept = {k: v for k, v in response.headers.items() if k in ("content-type",)}
        return response.status_code, kept, answer


def _checked(sub: Any, index: int) -> dict[str, Any]:
    """One sub-request, its keys checked as Zoho checks them."""
    path = f"$.__composite_requests[{index}]"
    if not isinstance(sub, dict):
        raise ApiError("INVALID_DATA", "invalid data", details={"json_path": path})
    uri = sub.get("uri")
    if not isinstance(uri, str) or not _URI.fullmatch(uri):
        raise ApiError(
            "INVALID_DATA",
            "invalid data",
            details={
                "expected_data_type": "text",
                "regex": _URI.pattern,
                "api_name": "uri",
                "json_path": f"{path}.uri",
            },
        )
    method = str(sub.get("method") or "").upper()
    if method not in _METHODS:
        raise ApiError(
            "INVALID_DATA",
            "invalid data",
            details={
                "api_name": "method",
                "json_path": f"{path}.method",
                "supported_values": list(_METHODS),
            },
        )
    sub_id = sub.get("sub_request_id")
    if sub_id is not None and (not isinstance(sub_id, str) or not _SUB_ID.fullmatch(sub_id)):
        raise ApiError(
            "INVALID_DATA",
            "invalid data",
            details={"api_name": "sub_request_id", "json_path": f"{path}.sub_request_id"},
        )
    headers = sub.get("headers") or {}
    if not isinstance(headers, dict) or {str(k).lower() for k in headers} & {
        "authorization",
        "x-crm-org",
    }:
        raise ApiError(
            "INVALID_DATA",
            "authorization and x-crm-org cannot be given in a sub-request",
            details={"api_name": "headers", "json_path": f"{path}.headers"},
        )
    for key in ("params", "body"):
        if sub.get(key) is not None and not isinstance(sub[key], dict):
            raise ApiError(
                "INVALID_DATA",
                "invalid data",
                details={
                    "api_name": key,
                    "json_path": f"{path}.{key}",
                    "expected_data_type": "jsonobject",
                },
            )
    return {**sub, "method": method, "uri": uri}


def _failed(status: int, answer: Any) -> bool:
    """Whether a sub-request failed: an error status, or any per-record error in its answer."""
    if status >= 400:
        return True
    data = answer.get("data") if isinstance(answer, dict) else None
    return isinstance(data, list) and any(
        isinstance(e, dict) and e.get("status") == "error" for e in data
    )


def _resolve(value: Any, done: dict[str, Any]) -> Any:
    """``value`` with every ``@{sub_request_id:$.json.path}`` replaced by what it points at."""
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, done) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        return _lookup(done, whole.group(1), whole.group(2))
    return _REFERENCE.sub(lambda m: str(_lookup(done, m.group(1), m.group(2))), value)


def _lookup(done: dict[str, Any], sub_id: str, path: str) -> Any:
    if sub_id not in done:
        raise ApiError(
            "INVALID_REFERENCE",
            "the reference names no earlier sub-request",
            details={"sub_request_id": sub_id},
        )
    node = done[sub_id]
    for key, index in _STEP.findall(path[1:]):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            raise ApiError(
                "INVALID_REFERENCE",
                "the reference points at nothing in that answer",
                details={"sub_request_id": sub_id, "json_path": path},
            ) from None
    return node
