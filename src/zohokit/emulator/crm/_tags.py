"""Tags: the module's tags (``/settings/tags?module=``) and adding or removing tags on one
record (``/{module}/{id}/actions/add_tags``) or many (``/{module}/actions/add_tags``).

v2 and v2.1 name the tags in the query (``tag_names=a,b``, ``ids=1,2``); from v3 on the body
carries ``{"tags": [{"name"}], "ids": [...]}`` (both are read in every version). A tag unknown
to the module is created with it. A record holds at most 10 tags; one call names at most 500
records, and costs one credit per 50 of them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._core import iso, zoho_json
from .._credits import TAG_RECORDS_PER_CREDIT, charge
from .._errors import ApiError
from ._beyond import TagDef, failure, parent_of, success
from ._params import (
    Handlers,
    comma_list,
    invalid_module,
    json_body,
    missing_param,
    module_param,
    too_many,
    write_answer,
)
from ._store import ModuleState

#: Zoho: at most 10 tags on one record (https://www.zoho.com/crm/developer/docs/api/v2/add-tags.html).
MAX_TAGS_PER_RECORD = 10
#: Zoho: at most 500 records per call (https://www.zoho.com/crm/developer/docs/api/v8/add-tags.html).
MAX_RECORDS = 500
#: Zoho's limit on a tag name (UNVERIFIED).
MAX_NAME = 25


class TagHandlers(Handlers):
    """The tag routes."""

    async def module_tags(self, request: Request) -> Response:
        """``/settings/tags?module=``: the module's tags, by name."""
        mod = module_param(self.store, request)
        user = self.store.api_user()
        who = {"name": user["name"], "id": user["id"]}
        tags = sorted(self.store.beyond.tags.get(mod.api_name, {}).values(), key=lambda t: t.name)
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "color_code": t.color_code,
                "created_time": iso(t.created),
                "modified_time": iso(t.created),
                "created_by": who,
                "modified_by": who,
            }
            for t in tags
        ]
        return zoho_json({"tags": rows, "info": {"count": len(rows), "allowed_count": 1000}})

    async def one(self, request: Request) -> Response:
        """Tags on one record: ``/{module}/{id}/actions/add_tags`` or ``remove_tags``."""
        params = request.path_params
        state, rec = parent_of(self.store, params["module"], params["record_id"])
        names, _, overwrite = await _read(request)
        result = self._apply(state, rec.id, names, params["action"], overwrite)
        return write_answer([result], 200)

    async def many(self, request: Request) -> Response:
        """Tags on many records: ``/{module}/actions/add_tags?ids=`` (or ``ids`` in the body)."""
        mod = self.store.schema.find(request.path_params["module"])
        if mod is None or mod.generated_type == "subform":
            raise invalid_module(resource_path_index=0)
        state = self.store.state(mod.api_name)
        names, ids, overwrite = await _read(request)
        if not ids:
            raise missing_param("ids")
        if len(ids) > MAX_RECORDS:
            raise too_many(MAX_RECORDS, api_name="ids")
        # One credit was charged for the call; Zoho charges one per 50 records.
        charge(self.emu, -(-len(ids) // TAG_RECORDS_PER_CREDIT) - 1, "tags")
        action = request.path_params["action"]
        return write_answer([self._apply(state, i, names, action, overwrite) for i in ids], 200)

    def _apply(
        self, state: ModuleState, record_id: str, names: list[str], action: str, overwrite: bool
    ) -> dict[str, Any]:
        store = self.store
        rec = state.records.get(record_id)
        if rec is None:
            return failure("INVALID_DATA", "the given id seems to be invalid", {"id": record_id})
        module = state.definition.api_name
        current = [dict(t) for t in rec.data.get("Tag") or []]
        have = {t["name"].lower() for t in current}
        if action == "add_tags":
            if overwrite:
                current, have = [], set()
            added = [n for n in dict.fromkeys(names) if n.lower() not in have]
            if len(current) + len(added) > MAX_TAGS_PER_RECORD:
                return failure(
                    "LIMIT_EXCEEDED",
                    "tags limit exceeded for the record",
                    {"id": record_id, "limit": MAX_TAGS_PER_RECORD},
                )
            known = store.beyond.tags.setdefault(module, {})
            for name in added:
                tag = known.get(name.lower())
                if tag is None:
                    tag = known[name.lower()] = TagDef(
                        store._new_id(), name, None, int(store.emu.clock.now())
                    )
                    store.emu.journal.changed("tag", f"{module}/{tag.id}", (module, tag))
                current.append({"name": tag.name, "id": tag.id, "color_code": tag.color_code})
            message = "tags updated successfully"
        else:
            gone = {n.lower() for n in names}
            current = [t for t in current if t["name"].lower() not in gone]
            message = "tags removed successfully"
        rec.data["Tag"] = current
        store._touch(state, rec, store.api_user())
        return success(message, {"id": rec.id, "tags": [t["name"] for t in current]})


async def _read(request: Request) -> tuple[list[str], list[str], bool]:
    """The tag names, record ids and ``over_write`` flag of a tag call, from the query (v2's
    form) or the JSON body (v3's)."""
    q = request.query_params
    names, ids = comma_list(q.get("tag_names")), comma_list(q.get("ids"))
    overwrite = (q.get("over_write") or "").lower() == "true"
    raw = await request.body()
    if raw.strip():
        body = await json_body(request)
        for i, tag in enumerate(body.get("tags") or []):
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise ApiError(
                    "INVALID_DATA",
                    "invalid data",
                    details={"api_name": "name", "json_path": f"$.tags[{i}].name"},
                )
            names.append(name.strip())
        ids += [str(i) for i in body.get("ids") or []]
        overwrite = overwrite or body.get("over_write") is True
    if not names:
        raise missing_param("tags" if raw.strip() else "tag_names")
    for name in names:
        if len(name) > MAX_NAME:
            raise ApiError(
                "INVALID_DATA",
                "tag name is too long",
                details={"api_name": "name", "maximum_length": MAX_NAME},
            )
    return names, ids, overwrite
