"""Related records: a record's related list, link (update the relation) and unlink (Zoho's
"delink"), as ``crm.related``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ._part import PER_PAGE, CrmPart, first_result
from ._service import RecordResult

__all__ = ["Related"]


class Related(CrmPart):
    """Related lists of one tenant's CRM (``crm.related``): ``related_list`` is the list's API
    name on the parent record (``Contacts`` of an account, ``Deals`` of a contact)."""

    async def list(
        self,
        module: str,
        record_id: str,
        related_list: str,
        *,
        fields: Sequence[str],
        per_page: int = PER_PAGE,
    ) -> AsyncIterator[dict[str, Any]]:
        """The records in ``related_list`` of one record, page after page (``fields`` is
        required by Zoho from v3 on)."""
        if not fields:
            raise ValueError("give the fields of the related records to return")
        params = {"fields": ",".join(fields), "per_page": per_page}
        async for row in self._pages(f"{module}/{record_id}/{related_list}", params):
            yield row

    async def link(
        self,
        module: str,
        record_id: str,
        related_list: str,
        related_id: str,
        values: Mapping[str, Any] | None = None,
    ) -> RecordResult:
        """Relate ``related_id`` to the record (Update Related Records), with the relation's
        own ``values`` if it has any; the result says whether Zoho took it."""
        answer = await self._call(
            "PUT",
            f"{module}/{record_id}/{related_list}/{related_id}",
            json={"data": [dict(values or {})]},
            record_results=True,
        )
        return first_result(answer.body)

    async def unlink(
        self, module: str, record_id: str, related_list: str, related_id: str
    ) -> RecordResult:
        """Remove ``related_id`` from the record's related list (Delink Related Records)."""
        answer = await self._call(
            "DELETE", f"{module}/{record_id}/{related_list}/{related_id}", record_results=True
        )
        return first_result(answer.body)
