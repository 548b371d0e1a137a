"""What a Zoho CRM call costs: credits, and whether it is one of Zoho's heavy APIs.

Plain functions of the call (method, path, query parameters, JSON body), no I/O. Zoho's
rates (``docs/budget.md`` gives the sources; the third-party ones are marked there):

- most calls 1 credit; a write (insert, update, upsert) of N records ``ceil(N / 10)``;
- COQL 1, 2 or 3 credits for a ``LIMIT`` up to 200, 1,000 or 2,000 (no ``LIMIT``: 200);
- Convert Lead 5; a composite request 1; a records count 50; Get Records with ``cvid`` 3;
- Bulk Read 50 and Bulk Write 500 per job created (polling a job and downloading its
  result cost 1, as a plain call).

Heavy (at most 10 in flight in every edition): COQL, search, bulk jobs, convert, composite
requests, writes of more than 10 records, Get Records with ``cvid`` or ``sort_by``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["call_cost", "is_heavy"]

_WRITES = frozenset({"POST", "PUT", "PATCH"})
_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


def _records(method: str, json: Any) -> int:
    """How many records a write carries (0 for anything else)."""
    if method in _WRITES and isinstance(json, Mapping):
        records = json.get("data")
        if isinstance(records, list):
            return len(records)
    return 0


def _coql_limit(json: Any) -> int:
    query = json.get("select_query") if isinstance(json, Mapping) else None
    match = _LIMIT.search(query) if isinstance(query, str) else None
    if match is None:
        return 200
    # ``LIMIT offset, count`` or ``LIMIT count``.
    return int(match.group(2) or match.group(1))


def call_cost(
    method: str, path: str = "", *, params: Mapping[str, Any] | None = None, json: Any = None
) -> int:
    """The Zoho API credits one CRM call costs (see the module's table)."""
    method = method.upper()
    if path.endswith("/coql"):
        limit = _coql_limit(json)
        return 1 if limit <= 200 else 2 if limit <= 1000 else 3
    if "/bulk/" in path and method == "POST":
        return 50 if path.rstrip("/").endswith("/read") else 500
    if path.endswith("/actions/convert"):
        return 5
    if path.endswith("/actions/count"):
        return 50
    if path.endswith("__composite_requests"):
        return 1
    records = _records(method, json)
    if records:
        return math.ceil(records / 10)
    if params and "cvid" in params:
        return 3
    return 1


def is_heavy(
    method: str, path: str = "", *, params: Mapping[str, Any] | None = None, json: Any = None
) -> bool:
    """Whether Zoho counts the call against its heavy-API cap (10 in flight per org)."""
    if path.endswith(("/coql", "/search", "/actions/convert", "__composite_requests")):
        return True
    if "/bulk/" in path:
        return True
    if _records(method.upper(), json) > 10:
        return True
    return params is not None and ("cvid" in params or "sort_by" in params)
