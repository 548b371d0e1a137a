"""Which OAuth scope a CRM or Calendar request needs, and whether a token's scopes cover it.

Zoho's scopes read ``<Service>.<group>[.<resource>].<operation>``; ``ALL`` covers every
operation (https://www.zoho.com/crm/developer/docs/api/v8/scopes.html). Record calls accept
the module-wide scope (``ZohoCRM.modules.ALL``, ``ZohoCRM.modules.READ``) or the module's own
(``ZohoCRM.modules.leads.CREATE``). A token without the scope gets 401
``OAUTH_SCOPE_MISMATCH``, which is what a client with a too-narrow consent meets in production.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Operations that stand in for others: WRITE covers creating and updating.
_COVERS: dict[str, frozenset[str]] = {
    "ALL": frozenset({"READ", "CREATE", "UPDATE", "DELETE", "WRITE"}),
    "WRITE": frozenset({"CREATE", "UPDATE", "WRITE"}),
}

_CRM_GROUPS = {"settings", "users", "org", "coql"}


@dataclass(frozen=True)
class Need:
    """A scope a request needs: ``service.group[.resource].operation`` (any of ``ops``)."""

    service: str
    group: str
    ops: frozenset[str]
    resource: str | None = None

    def describe(self) -> str:
        """How the scope is written, for error details."""
        middle = f"{self.group}.{self.resource}" if self.resource else self.group
        return f"{self.service}.{middle}.{'|'.join(sorted(self.ops))}"


def crm_need(method: str, path: str) -> Need:
    """The scope a ``/crm/v8/...`` request needs."""
    segments = [p for p in path.split("/") if p]
    if segments[1:2] == ["bulk"]:
        # Bulk Read needs ZohoCRM.bulk.READ, Bulk Write ZohoCRM.bulk.CREATE (or .ALL).
        reading = method == "GET" or segments[3:4] == ["read"]
        return Need("ZohoCRM", "bulk", frozenset({"READ" if reading else "CREATE"}))
    if segments[2:] == ["upload"]:
        return Need("ZohoFiles", "files", frozenset({"CREATE"}))  # the Bulk Write upload
    parts = segments[2:]  # drop "crm", "v8"
    head = parts[0] if parts else ""
    if head in _CRM_GROUPS:
        # settings/fields may also be granted alone: ZohoCRM.settings.fields.READ.
        resource = parts[1].lower() if head == "settings" and len(parts) > 1 else None
        return Need("ZohoCRM", head, frozenset({"READ"}), resource)
    op = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "PATCH": "UPDATE"}.get(method)
    if method == "DELETE":
        op = "DELETE"
    if parts[:2] == ["actions", "watch"]:
        # The Notification API has scopes of its own: ZohoCRM.notifications.{ALL,READ,...}.
        return Need("ZohoCRM", "notifications", frozenset({op or "READ"}))
    if len(parts) > 1 and parts[1] in ("search", "deleted", "actions"):
        op = "READ"
    ops = {op or "READ"}
    if len(parts) > 1 and parts[1] == "upsert":
        ops = {"CREATE", "UPDATE"}  # Zoho checks the one the record turns out to need
    return Need("ZohoCRM", "modules", frozenset(ops), head.lower() or None)


def calendar_need(method: str, path: str) -> Need:
    """The scope a ``/api/v1/...`` request needs."""
    parts = [p for p in path.split("/") if p][2:]  # drop "api", "v1"
    if len(parts) >= 2 and parts[0] == "calendars" and parts[1] == "freebusy":
        return Need("ZohoCalendar", "freebusy", frozenset({"READ"}))
    op = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}.get(method, "READ")
    group = "event" if "events" in parts else "calendar"
    return Need("ZohoCalendar", group, frozenset({op}))


def allows(granted: tuple[str, ...], need: Need) -> bool:
    """Whether any granted scope covers ``need``."""
    for scope in granted:
        parts = scope.split(".")
        if len(parts) < 3 or parts[0] != need.service or parts[1] != need.group:
            continue
        resource = parts[2].lower() if len(parts) == 4 else None
        if resource is not None and resource != need.resource:
            continue  # a scope for one module (or one settings resource) only
        op = parts[-1].upper()
        covered = _COVERS.get(op, frozenset({op}))
        if need.ops & covered:
            return True
    return False
