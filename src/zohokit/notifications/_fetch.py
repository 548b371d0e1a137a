"""Notified ids -> fetched records: what a batch of inbox notifications announces, as
:class:`~zohokit.notifications.RecordChange`\\ s.

Deletions are taken as Zoho states them (at its ``server_time``). Created and edited records
are read back with batched ``GET /{module}?ids=...`` (100 ids per call, every field of the
module in groups of 50, merged by id), so a handler gets the record as it is now; one
deleted meanwhile is simply absent (its deletion comes on its own).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from ..crm import ZohoCRMService
from ..sync import field_groups
from ._changes import Operation, RecordChange
from ._inbox import OPERATIONS, InboxItem

__all__ = ["IDS_PER_CALL", "fetch_changes", "fetch_records"]

#: Zoho's Get Records takes at most 100 ids.
IDS_PER_CALL = 100


async def fetch_changes(
    crm: ZohoCRMService, module: str, items: list[InboxItem]
) -> list[RecordChange]:
    """The changes ``items`` (of ``crm``'s tenant, on ``module``) announce."""
    tenant = crm.tenant
    changes: list[RecordChange] = []
    wanted: dict[str, tuple[Operation, tuple[str, ...]]] = {}
    for item in items:
        op = cast(Operation, OPERATIONS[item.operation])
        for record_id in item.ids:
            fields = tuple(item.affected_fields.get(record_id, ()))
            if op == "deleted":
                when = datetime.fromtimestamp(item.server_time / 1000, tz=UTC)
                changes.append(RecordChange(tenant, module, op, record_id, when, None, fields))
            elif record_id not in wanted or op == "updated":
                wanted[record_id] = (op, fields)
    if wanted:
        for record in await fetch_records(crm, module, list(wanted)):
            record_id = str(record.get("id"))
            stamp = record.get("Modified_Time")
            if record_id not in wanted or not isinstance(stamp, str):
                continue
            op, fields = wanted[record_id]
            when = datetime.fromisoformat(stamp)
            changes.append(RecordChange(tenant, module, op, record_id, when, record, fields))
    return changes


async def fetch_records(crm: ZohoCRMService, module: str, ids: list[str]) -> list[dict[str, Any]]:
    """The records of ``module`` with these ids, with every field."""
    names = list((await crm.metadata.module(module)).fields)
    merged: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), IDS_PER_CALL):
        chunk = ids[start : start + IDS_PER_CALL]
        for index, group in enumerate(field_groups(names)):
            async for record in crm.list_records(module, fields=group, ids=chunk):
                key = str(record.get("id"))
                if index == 0:
                    merged[key] = dict(record)
                elif key in merged:
                    # The first group's Modified_Time stands: a later one may be newer, and
                    # then the record comes again, whole.
                    merged[key].update({k: v for k, v in record.items() if k != "Modified_Time"})
    return list(merged.values())
