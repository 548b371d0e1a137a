"""The CRM beyond records: notes, attachments, files, tags, related records, lead conversion
and composite requests, as one more route table of the CRM dispatcher.

:class:`BeyondStore` holds what is not a record (notes, attachments, uploaded files, the org's
tags); it hangs off the :class:`~zohokit.emulator.crm._store.CrmStore`, so a reset, a seed's
all-or-nothing copy and a composite rollback treat it with the records. A record's tags live
in its ``Tag`` value, as Zoho shows them. :class:`BeyondRoutes` resolves the paths; the
handlers live by idea in :mod:`._notes`, :mod:`._attachments`, :mod:`._tags`, :mod:`._related`
and :mod:`._composite`.

Which version serves what, and the sources, are in ``docs/emulator.md`` ("Beyond records").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .._core import iso
from .._errors import ApiError

if TYPE_CHECKING:
    from .._core import Emulator
    from ._store import CrmStore, ModuleState, Record

Handler = Callable[[Request], Awaitable[Response]]
Target = tuple[Handler, tuple[str, ...]]


@dataclass
class Note:
    """One note, attached to a record of a module."""

    id: str
    module: str
    parent_id: str
    title: str | None
    content: str
    created: int
    modified: int
    owner: dict[str, Any]


@dataclass
class Attachment:
    """A file attached to a record (its bytes are kept)."""

    id: str
    module: str
    parent_id: str
    file_name: str
    content: bytes
    created: int
    owner: dict[str, Any]


@dataclass
class StoredFile:
    """A file uploaded to ``/files``, for a file-upload field."""

    id: str
    name: str
    content: bytes
    created: int


@dataclass
class TagDef:
    """One tag of a module."""

    id: str
    name: str
    color_code: str | None
    created: int


@dataclass
class BeyondStore:
    """Everything of the CRM that is not a record."""

    notes: dict[str, Note] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    #: ``module -> lower-cased name -> tag``.
    tags: dict[str, dict[str, TagDef]] = field(default_factory=dict)


class BeyondRoutes:
    """Resolves the paths of :mod:`._beyond` (``None``: a records path, for the dispatcher)."""

    def __init__(self, emu: Emulator, endpoint: Handler) -> None:
        from ._attachments import AttachmentHandlers
        from ._composite import CompositeHandlers
        from ._notes import NoteHandlers
        from ._related import RelatedHandlers
        from ._tags import TagHandlers

        notes = NoteHandlers(emu)
        attachments = AttachmentHandlers(emu)
        tags = TagHandlers(emu)
        related = RelatedHandlers(emu)
        composite = CompositeHandlers(emu, endpoint)
        every = ("GET", "POST", "PUT", "DELETE")
        self.fixed: dict[tuple[str, ...], Target] = {
            ("Notes",): (notes.collection, every),
            ("files",): (attachments.files, ("GET", "POST")),
            ("__composite_requests",): (composite.run, ("POST",)),
            ("settings", "tags"): (tags.module_tags, ("GET",)),
        }
        self.note: Target = (notes.one, ("GET", "PUT", "DELETE"))
        self.record_notes: Target = (notes.of_record, ("GET", "POST"))
        self.attachments: Target = (attachments.collection, ("GET", "POST", "DELETE"))
        self.attachment: Target = (attachments.one, ("GET", "DELETE"))
        self.tag_many: Target = (tags.many, ("POST",))
        self.tag_one: Target = (tags.one, ("POST",))
        self.convert: Target = (related.convert, ("POST",))
        self.related: Target = (related.collection, ("GET", "PUT", "DELETE"))
        self.related_one: Target = (related.one, ("PUT", "DELETE"))

    def resolve(self, parts: list[str]) -> tuple[Target, dict[str, str]] | None:
        """The handler of ``parts`` (the path after ``/crm/{version}/``) and its parameters."""
        fixed = self.fixed.get(tuple(parts))
        if fixed is not None:
            return fixed, {}
        n = len(parts)
        if n == 2 and parts[0] == "Notes":
            return self.note, {"note_id": parts[1]}
        if n == 3 and parts[1] == "actions" and parts[2] in ("add_tags", "remove_tags"):
            return self.tag_many, {"module": parts[0], "action": parts[2]}
        if n < 3 or not parts[1].isdigit() or not parts[2][:1].isalpha():
            return None  # a related list, like every API name, starts with a letter
        record = {"module": parts[0], "record_id": parts[1]}
        if n == 3 and parts[2] == "Notes":
            return self.record_notes, record
        if parts[2] == "Attachments":
            if n == 3:
                return self.attachments, record
            if n == 4:
                return self.attachment, {**record, "attachment_id": parts[3]}
            return None
        if n == 4 and parts[2] == "actions":
            if parts[3] in ("add_tags", "remove_tags"):
                return self.tag_one, {**record, "action": parts[3]}
            if parts[3] == "convert":
                return self.convert, record
            return None
        if n == 3:
            return self.related, {**record, "related_list": parts[2]}
        if n == 4:
            return self.related_one, {**record, "related_list": parts[2], "related_id": parts[3]}
        return None


# --- what the handlers of these routes share --------------------------------------------------


def parent_of(store: CrmStore, module: str, record_id: str) -> tuple[ModuleState, Record]:
    """The module and record a path names, or Zoho's error for each."""
    from ._params import invalid_module

    mod = store.schema.find(module)
    if mod is None or mod.generated_type == "subform":
        raise invalid_module(resource_path_index=0)
    state = store.state(mod.api_name)
    rec = state.records.get(record_id)
    if rec is None:
        raise ApiError(
            "INVALID_DATA",
            "the given record id seems to be invalid",
            details={"resource_path_index": 1, "id": record_id},
        )
    return state, rec


def page_answer(request: Request, rows: list[dict[str, Any]]) -> Response:
    """One ``page`` of ``rows`` (``per_page`` at most 200) with Zoho's ``info``; 204 if empty."""
    from ._params import page_param, per_page_param, rows_page

    per_page = per_page_param(request)
    page = page_param(request)
    chunk = rows[(page - 1) * per_page : page * per_page]
    return rows_page(chunk, page, per_page, page * per_page < len(rows))


#: The bookkeeping fields every note and attachment shows.
BOOKKEEPING_FIELDS = frozenset(
    {"Parent_Id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}
)


def success(message: str, details: dict[str, Any]) -> dict[str, Any]:
    """A per-item success element of ``data[]``."""
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def failure(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """A per-item error element of ``data[]``."""
    return {"code": code, "details": details, "message": message, "status": "error"}


def stamp(store: CrmStore, created: int, modified: int, owner: dict[str, Any]) -> dict[str, Any]:
    """The bookkeeping keys a created or changed item's success element carries."""
    who = {"name": owner.get("name"), "id": owner.get("id")}
    return {
        "Modified_Time": iso(modified),
        "Modified_By": who,
        "Created_Time": iso(created),
        "Created_By": who,
    }


def wants_fields(request: Request, allowed: Set[str]) -> list[str] | None:
    """The ``fields`` of a list (required from v3 on, as for records), each one of ``allowed``."""
    from ._params import comma_list, missing_param, version_of

    raw = request.query_params.get("fields")
    if raw is None or not raw.strip():
        if version_of(request).list_needs_fields:
            raise missing_param("fields")
        return None
    names = comma_list(raw)
    for name in names:
        if name not in allowed:
            raise ApiError(
                "INVALID_DATA",
                "the field api name given seems to be invalid",
                details={"api_name": name, "param_name": "fields"},
            )
    return names


def picked(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """``row`` with only ``id`` and ``fields`` (all of it when ``fields`` is ``None``)."""
    if fields is None:
        return row
    return {"id": row["id"], **{name: row.get(name) for name in fields}}
