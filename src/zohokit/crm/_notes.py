"""Notes: a record's notes or every note of the org, add, update, delete (``crm.notes``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._part import PER_PAGE, CrmPart, first_result
from ._service import RecordResult

__all__ = ["NOTE_FIELDS", "Note", "Notes"]

#: The fields a note listing asks for (Zoho requires ``fields`` from v3 on).
NOTE_FIELDS = ("Note_Title", "Note_Content", "Parent_Id", "Owner", "Created_Time", "Modified_Time")


@dataclass(frozen=True)
class Note:
    """One note as Zoho shows it: its parent record (``module``, ``parent_id``), title and
    content; ``raw`` is Zoho's whole answer for it."""

    id: str
    content: str
    title: str | None = None
    module: str | None = None
    parent_id: str | None = None
    created_time: str | None = None
    modified_time: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_zoho(cls, row: Mapping[str, Any]) -> Note:
        """Read a note in any version's form (``Parent_Id`` with ``$se_module`` before v6,
        ``Parent_Id.module`` from v6 on)."""
        parent = row.get("Parent_Id")
        module = row.get("$se_module")
        parent_id = parent
        if isinstance(parent, Mapping):
            parent_id = parent.get("id")
            named = parent.get("module")
            if isinstance(named, Mapping):
                module = named.get("api_name") or module
        return cls(
            id=str(row["id"]),
            content=str(row.get("Note_Content") or ""),
            title=row.get("Note_Title"),
            module=module,
            parent_id=None if parent_id is None else str(parent_id),
            created_time=row.get("Created_Time"),
            modified_time=row.get("Modified_Time"),
            raw=dict(row),
        )


class Notes(CrmPart):
    """Notes of one tenant's CRM (``crm.notes``)."""

    async def list(
        self,
        module: str | None = None,
        record_id: str | None = None,
        *,
        fields: Sequence[str] = NOTE_FIELDS,
        per_page: int = PER_PAGE,
    ) -> AsyncIterator[Note]:
        """The notes of one record (``module`` and ``record_id``), or of the whole org (neither),
        newest first, page after page."""
        if (module is None) != (record_id is None):
            raise ValueError("give both module and record_id (one record's notes) or neither")
        rest = "Notes" if module is None else f"{module}/{record_id}/Notes"
        names = list(fields)
        if not self.since(6) and "$se_module" not in names:
            names.append("$se_module")  # before v6 the parent's module is a field of its own
        async for row in self._pages(rest, {"fields": ",".join(names), "per_page": per_page}):
            yield Note.from_zoho(row)

    async def add(
        self, module: str, record_id: str, content: str, *, title: str | None = None
    ) -> Note:
        """Add a note to a record; :class:`~zohokit.errors.RecordError` if Zoho refuses it
        (an unknown record, an empty content)."""
        if not content:
            raise ValueError("a note needs content (Zoho's Note_Content is mandatory)")
        note: dict[str, Any] = {"Note_Content": content}
        if title is not None:
            note["Note_Title"] = title
        answer = await self._call(
            "POST", f"{module}/{record_id}/Notes", json={"data": [note]}, record_results=True
        )
        result = first_result(answer.body)
        result.raise_for_error()
        assert result.id is not None
        return Note(
            id=result.id,
            content=content,
            title=title,
            module=module,
            parent_id=record_id,
            created_time=result.details.get("Created_Time"),
            modified_time=result.details.get("Modified_Time"),
        )

    async def update(
        self, note_id: str, *, content: str | None = None, title: str | None = None
    ) -> RecordResult:
        """Change a note's content and/or title; the result says whether Zoho took it."""
        changes = {
            k: v for k, v in (("Note_Content", content), ("Note_Title", title)) if v is not None
        }
        if not changes:
            raise ValueError("update a note with content= or title=")
        answer = await self._call(
            "PUT", f"Notes/{note_id}", json={"data": [changes]}, record_results=True
        )
        return first_result(answer.body)

    async def delete(self, note_id: str) -> RecordResult:
        """Delete a note; the result says whether Zoho did."""
        answer = await self._call("DELETE", f"Notes/{note_id}", record_results=True)
        return first_result(answer.body)
