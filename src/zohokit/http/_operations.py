"""The bounded name of a Zoho call (``records.upsert``, ``coql``, ``freebusy``, ...), derived
from its method and route, never its raw URL: record ids, module names and calendar ids stay
out, so a metric labelled by operation has a few dozen series however many records and
tenants there are. Pure functions, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["PROVIDER_LABELS", "operation_name", "provider_label"]

#: The short provider name metrics and logs carry (``zoho_crm`` is ``crm``).
PROVIDER_LABELS = {"zoho_crm": "crm", "zoho_calendar": "calendar", "accounts": "accounts"}

#: ``/crm/v8/...``, ``/crm/v2.1/...``, ``/crm/bulk/v8/...``: the version goes, the rest stays.
_CRM = re.compile(r"^/crm/(?:(?P<bulk>bulk)/)?v\d+(?:\.\d+)?/(?P<rest>.*)$")
#: ``/{Module}`` by method.
_RECORDS_BY_METHOD = {
    "GET": "records.list",
    "POST": "records.insert",
    "PUT": "records.update",
    "PATCH": "records.update",
    "DELETE": "records.delete",
}
#: ``/{Module}/{id}`` by method.
_RECORD_BY_METHOD = {
    "GET": "records.get",
    "PUT": "records.update",
    "PATCH": "records.update",
    "DELETE": "records.delete",
}
#: Routes whose first segment is not a module.
_CRM_ROOTS = {
    "org": "org",
    "users": "users",
    "coql": "coql",
    "composite": "composite",
    "__composite_requests": "composite",
    "settings": "settings",
    "actions": "actions",
    "upload": "files.upload",
    "files": "files",
}
#: ``/{Module}/<word>`` routes that are not record ids.
_MODULE_WORDS = {
    "upsert": "records.upsert",
    "search": "records.search",
    "deleted": "records.deleted",
    "actions": "records.actions",
    "mass_update": "records.mass_update",
}
#: ``/{Module}/{id}/<related>``.
_RELATED = {
    "Notes": "records.notes",
    "Attachments": "records.attachments",
    "photo": "records.photo",
    "actions": "records.actions",
}
#: Names made only of these characters are safe as a label's suffix.
_WORD = re.compile(r"^[a-z_]{1,32}$")


def provider_label(provider: str) -> str:
    """``crm``, ``calendar`` or ``accounts`` for a provider key (anything else: ``other``)."""
    return PROVIDER_LABELS.get(provider, "other")


def _word(segment: str) -> str:
    """``segment`` when it is a plain lower-case word, else ``other`` (never an id)."""
    return segment if _WORD.match(segment) else "other"


def _crm(method: str, path: str) -> str:
    found = _CRM.match(path)
    if found is None:
        return "other"
    parts = [p for p in found.group("rest").split("/") if p]
    if found.group("bulk"):
        # /bulk/v8/read (a new job), /read/{id} (its state), /read/{id}/result (its file).
        if not parts:
            return "bulk.other"
        kind = f"bulk.{_word(parts[0])}"
        if len(parts) == 1:
            return kind
        return f"{kind}.result" if parts[-1] == "result" else f"{kind}.status"
    if not parts:
        return "other"
    head = parts[0]
    if head in _CRM_ROOTS:
        root = _CRM_ROOTS[head]
        if head in ("settings", "actions") and len(parts) > 1:
            return f"{root}.{_word(parts[1])}"
        return root
    # The first segment is a module (Leads, a custom module): its name stays out.
    if len(parts) == 1:
        return _RECORDS_BY_METHOD.get(method, "records.other")
    second = parts[1]
    if second in _MODULE_WORDS:
        if second == "actions" and len(parts) > 2:
            return f"records.{_word(parts[2])}"
        return _MODULE_WORDS[second]
    if len(parts) == 2:
        return _RECORD_BY_METHOD.get(method, "records.other")
    related = parts[2]
    if related == "actions" and len(parts) > 3:
        return f"records.{_word(parts[3])}"
    return _RELATED.get(related, "records.related")


def _calendar(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    # /api/v1/calendars[/{uid}[/events[/{uid}]]], /api/v1/calendars/freebusy
    if len(parts) < 3 or parts[0] != "api" or parts[2] != "calendars":
        return "other"
    rest = parts[3:]
    if not rest:
        return "calendars.list" if method == "GET" else "calendars.other"
    if rest[0] == "freebusy":
        return "freebusy"
    if len(rest) == 1:
        return "calendars.get" if method == "GET" else f"calendars.{method.lower()}"
    if rest[1] != "events":
        return "calendars.other"
    if len(rest) == 2:
        return "events.list" if method == "GET" else "events.create"
    by_method = {"GET": "events.get", "PUT": "events.update", "DELETE": "events.delete"}
    return by_method.get(method, "events.other")


def operation_name(provider: str, method: str, path: str) -> str:
    """The bounded operation of a call: ``records.upsert`` for ``POST /crm/v8/Leads/upsert``,
    ``records.get`` for ``GET /crm/v8/Leads/4876876000000333001``, ``coql``, ``freebusy``,
    ``events.create``, ... ``other`` for a route it does not know (never the path itself).

    >>> operation_name("zoho_crm", "POST", "/crm/v8/Leads/upsert")
    'records.upsert'
    >>> operation_name("zoho_calendar", "GET", "/api/v1/calendars/freebusy")
    'freebusy'
    """
    path = path.split("?", 1)[0]
    method = method.upper()
    if provider == "zoho_crm":
        return _crm(method, path)
    if provider == "zoho_calendar":
        return _calendar(method, path)
    return "other"
