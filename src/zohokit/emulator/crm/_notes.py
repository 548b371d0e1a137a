"""Notes: ``/Notes`` (every note, create, update or delete many), ``/Notes/{id}`` and a
record's ``/{module}/{id}/Notes``.

A note names its parent as ``Parent_Id`` (the record's id) plus ``se_module`` (its module)
before v6, and as ``Parent_Id: {"module": {"api_name"}, "id"}`` from v6 on; both forms are
taken in every version and answers use the version's own. At most 100 notes per call.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._core import iso
from ._beyond import (
    BOOKKEEPING_FIELDS,
    Note,
    failure,
    page_answer,
    parent_of,
    picked,
    stamp,
    success,
    wants_fields,
)
from ._params import Handlers, json_body, records_of, required_list, version_of, write_answer
from ._store import CrmStore, RecordError

#: The fields a note shows (what ``fields`` may name).
NOTE_FIELDS = BOOKKEEPING_FIELDS | {"Note_Title", "Note_Content", "$se_module"}
#: Zoho's limit on a note's title (UNVERIFIED: its docs give none; Zoho's UI stops at 120).
MAX_TITLE = 120


class NoteHandlers(Handlers):
    """The notes routes."""

    def _row(self, request: Request, note: Note) -> dict[str, Any]:
        who = {"name": note.owner.get("name"), "id": note.owner.get("id")}
        state = self.store.state(note.module)
        parent = state.records.get(note.parent_id)
        name = parent.data.get(state.definition.display_field) if parent else None
        row: dict[str, Any] = {
            "id": note.id,
            "Note_Title": note.title,
            "Note_Content": note.content,
            "Owner": dict(note.owner),
            "Created_Time": iso(note.created),
            "Modified_Time": iso(note.modified),
            "Created_By": who,
            "Modified_By": who,
        }
        if version_of(request).since(6):
            module = {"api_name": note.module, "id": state.definition.id}
            row["Parent_Id"] = {"module": module, "name": name, "id": note.parent_id}
        else:
            row["Parent_Id"] = {"name": name, "id": note.parent_id}
            row["$se_module"] = note.module
        return row

    def _list(self, request: Request, notes: list[Note]) -> Response:
        fields = wants_fields(request, NOTE_FIELDS)
        rows = [picked(self._row(request, n), fields) for n in notes]
        return page_answer(request, rows)

    async def collection(self, request: Request) -> Response:
        """``/Notes``: every note (newest first), create, update many, delete many."""
        beyond = self.store.beyond
        if request.method == "GET":
            notes = sorted(beyond.notes.values(), key=lambda n: int(n.id), reverse=True)
            return self._list(request, notes)
        if request.method == "DELETE":
            ids = required_list(request, "ids", most=100)
            return write_answer([self._delete(i) for i in ids], 200)
        rows = records_of(await json_body(request))
        if request.method == "POST":
            results = [self._create(row, i, None, None) for i, row in enumerate(rows)]
            return write_answer(results, 201)
        results = []
        for i, row in enumerate(rows):
            note_id = str(row.get("id") or "") if isinstance(row, dict) else ""
            results.append(self._update(note_id, row, i))
        return write_answer(results, 200)

    async def one(self, request: Request) -> Response:
        """``/Notes/{id}``: read, update or delete one note."""
        note_id = request.path_params["note_id"]
        if request.method == "GET":
            note = self.store.beyond.notes.get(note_id)
            if note is None:
                return Response(status_code=204)
            return self._list(request, [note])
        if request.method == "DELETE":
            return write_answer([self._delete(note_id)], 200)
        rows = records_of(await json_body(request))
        return write_answer([self._update(note_id, rows[0], 0)], 200)

    async def of_record(self, request: Request) -> Response:
        """``/{module}/{id}/Notes``: a record's notes (newest first), or add some to it."""
        params = request.path_params
        state, rec = parent_of(self.store, params["module"], params["record_id"])
        module = state.definition.api_name
        if request.method == "GET":
            notes = [
                n
                for n in self.store.beyond.notes.values()
                if n.module == module and n.parent_id == rec.id
            ]
            notes.sort(key=lambda n: int(n.id), reverse=True)
            return self._list(request, notes)
        rows = records_of(await json_body(request))
        results = [self._create(row, i, module, rec.id) for i, row in enumerate(rows)]
        return write_answer(results, 201)

    # ------------------------------------------------------------------ writes

    def _create(self, row: Any, index: int, module: str | None, parent: str | None) -> Any:
        store = self.store
        path = f"$.data[{index}]"
        try:
            if not isinstance(row, dict):
                raise RecordError("INVALID_DATA", "invalid data", {"json_path": path})
            title, content = _texts(row, path, creating=True)
            if module is None or parent is None:
                module, parent = _parent(store, row, path)
        except RecordError as exc:
            return exc.element()
        now = int(store.emu.clock.now())
        owner = store.api_user()
        note = Note(store._new_id(), module, parent, title, content, now, now, owner)
        store.beyond.notes[note.id] = note
        store.emu.journal.changed("note", note.id, note)
        return success("record added", {**stamp(store, now, now, owner), "id": note.id})

    def _update(self, note_id: str, row: Any, index: int) -> Any:
        store = self.store
        note = store.beyond.notes.get(note_id)
        if note is None:
            return failure(
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"api_name": "id", "json_path": f"$.data[{index}].id", "id": note_id},
            )
        try:
            if not isinstance(row, dict):
                raise RecordError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]"})
            title, content = _texts(row, f"$.data[{index}]", creating=False)
        except RecordError as exc:
            return exc.element()
        if "Note_Title" in row:
            note.title = title
        if "Note_Content" in row:
            note.content = content
        note.modified = int(store.emu.clock.now())
        store.emu.journal.changed("note", note.id, note)
        details = {**stamp(store, note.created, note.modified, note.owner), "id": note.id}
        return success("record updated", details)

    def _delete(self, note_id: str) -> dict[str, Any]:
        if self.store.beyond.notes.pop(note_id, None) is None:
            return failure("INVALID_DATA", "record not deleted", {"id": note_id})
        self.emu.journal.removed("note", note_id)
        return success("record deleted", {"id": note_id})


def _texts(row: dict[str, Any], path: str, *, creating: bool) -> tuple[str | None, str]:
    """``Note_Title`` and ``Note_Content`` of a note body (the content is mandatory)."""
    content = row.get("Note_Content")
    if (creating or "Note_Content" in row) and (not isinstance(content, str) or not content):
        if content in (None, ""):
            raise RecordError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "Note_Content", "json_path": f"{path}.Note_Content"},
            )
        raise RecordError(
            "INVALID_DATA",
            "invalid data",
            {
                "api_name": "Note_Content",
                "json_path": f"{path}.Note_Content",
                "expected_data_type": "textarea",
            },
        )
    title = row.get("Note_Title")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        raise RecordError(
            "INVALID_DATA",
            "invalid data",
            {"api_name": "Note_Title", "json_path": f"{path}.Note_Title", "maximum_length": 120},
        )
    return title, content or ""


def _parent(store: CrmStore, row: dict[str, Any], path: str) -> tuple[str, str]:
    """The parent module and record a ``/Notes`` body names, in either version's form."""
    raw = row.get("Parent_Id")
    module: Any = row.get("se_module") or row.get("$se_module")
    record_id: Any = raw
    if isinstance(raw, dict):
        record_id = raw.get("id")
        named = raw.get("module")
        if isinstance(named, dict):
            module = named.get("api_name") or module
        elif isinstance(named, str):
            module = named
    where = {"api_name": "Parent_Id", "json_path": f"{path}.Parent_Id"}
    if record_id in (None, "") or module in (None, ""):
        missing = "Parent_Id" if record_id in (None, "") else "se_module"
        raise RecordError(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": missing, "json_path": f"{path}.{missing}"},
        )
    mod = store.schema.find(str(module))
    if mod is None or mod.generated_type == "subform":
        raise RecordError("INVALID_MODULE", "the module name given seems to be invalid", where)
    if str(record_id) not in store.state(mod.api_name).records:
        raise RecordError("INVALID_DATA", "the related id given seems to be invalid", where)
    return mod.api_name, str(record_id)
