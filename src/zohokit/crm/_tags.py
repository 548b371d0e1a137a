"""Tags: a module's tags, a record's tags, and adding or removing tags (``crm.tags``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._part import CrmPart
from ._service import RecordResult

__all__ = ["MAX_TAGGED_RECORDS", "Tag", "Tags"]

#: Zoho takes at most 500 records per tag call; more are sent in several calls.
MAX_TAGGED_RECORDS = 500


@dataclass(frozen=True)
class Tag:
    """One tag: its ``name``, ``id`` and ``color_code`` (``None`` when Zoho gives none)."""

    name: str
    id: str | None = None
    color_code: str | None = None

    @classmethod
    def from_zoho(cls, row: Mapping[str, Any]) -> Tag:
        """Read a tag of ``/settings/tags`` or of a record's ``Tag`` value."""
        raw_id = row.get("id")
        return cls(str(row["name"]), None if raw_id is None else str(raw_id), row.get("color_code"))


class Tags(CrmPart):
    """Tags of one tenant's CRM (``crm.tags``)."""

    async def of_module(self, module: str) -> list[Tag]:
        """Every tag of ``module`` (``/settings/tags``)."""
        answer = await self._call("GET", "settings/tags", params={"module": module})
        body = answer.body if isinstance(answer.body, dict) else {}
        return [Tag.from_zoho(row) for row in body.get("tags") or []]

    async def of_record(self, module: str, record_id: str) -> list[Tag]:
        """The tags on one record (its ``Tag`` value)."""
        record = await self.crm.get_record(module, record_id, fields=["Tag"])
        return [Tag.from_zoho(row) for row in record.get("Tag") or []]

    async def add(
        self,
        module: str,
        record_ids: Sequence[str],
        tags: Sequence[str],
        *,
        overwrite: bool = False,
    ) -> list[RecordResult]:
        """Add ``tags`` (names; new ones are created) to each record, 500 records per call;
        one result per record, in input order, whose ``details["tags"]`` are its tags now.
        ``overwrite`` replaces a record's tags instead. Zoho keeps at most 10 per record."""
        return await self._send("add_tags", module, record_ids, tags, overwrite)

    async def remove(
        self, module: str, record_ids: Sequence[str], tags: Sequence[str]
    ) -> list[RecordResult]:
        """Remove ``tags`` (names) from each record; one result per record, in input order."""
        return await self._send("remove_tags", module, record_ids, tags, False)

    async def _send(
        self,
        action: str,
        module: str,
        record_ids: Sequence[str],
        tags: Sequence[str],
        overwrite: bool,
    ) -> list[RecordResult]:
        if not tags or any(not t or "," in t for t in tags):
            raise ValueError("give one or more tag names, none empty and none with a comma")
        ids = [str(i) for i in record_ids]
        results: list[RecordResult] = []
        for start in range(0, len(ids), MAX_TAGGED_RECORDS):
            batch = ids[start : start + MAX_TAGGED_RECORDS]
            params: dict[str, Any] = {}
            body: dict[str, Any] | None = None
            if self.since(3):
                body = {"tags": [{"name": t} for t in tags], "ids": batch}
                if overwrite:
                    body["over_write"] = True
            else:  # v2 and v2.1 name the tags and records in the query
                params = {"tag_names": ",".join(tags), "ids": ",".join(batch)}
                if overwrite:
                    params["over_write"] = "true"
            answer = await self._call(
                "POST",
                f"{module}/actions/{action}",
                params=params or None,
                json=body,
                idempotent=True,  # adding or removing a tag twice is the same as once
                record_results=True,
            )
            data = answer.body.get("data") if isinstance(answer.body, dict) else None
            rows = data if isinstance(data, list) else []
            results += [RecordResult.from_zoho(start + i, row) for i, row in enumerate(rows)]
        return results
