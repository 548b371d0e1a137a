"""Related records (``/{module}/{id}/{related_list}``) and lead conversion
(``/Leads/{id}/actions/convert``).

The emulator's related lists are the lookups that point at a record: an account's
``Contacts`` are the contacts whose ``Account_Name`` names it (a custom module's lookup gives
its parent a list named after the custom module). Linking (``PUT``) sets that lookup, unlinking
(``DELETE``, Zoho's "delink") clears it. Zoho documents link and delink for its many-to-many
lists (Campaigns, Products), which the emulator does not have: here they act on lookups.

Converting a lead creates a contact, an account (from ``Company``, unless the lead has none or
an account is given) and, when the body has ``Deals``, a deal; the lead is then marked
converted (it leaves default listings) and its notes move to the contact. Everything is
checked before anything is written, so a refused conversion changes nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._core import zoho_json
from .._errors import ApiError, invalid_url
from ._beyond import failure, page_answer, parent_of, success, wants_fields
from ._metadata import FieldDef
from ._params import Handlers, json_body, records_of, required_list, version_of, write_answer
from ._store import ModuleState, Record, RecordError, lookup_id_or_none

#: Zoho: at most 100 related records per delink call (https://zoho.com/crm/developer/docs/api/v2/delink.html).
MAX_DELINK = 100


class RelatedHandlers(Handlers):
    """The related-records routes and Convert Lead."""

    def _relation(self, parent: ModuleState, name: str) -> tuple[ModuleState, FieldDef]:
        """The module of the related list ``name`` and its lookup to ``parent``."""
        mod = self.store.schema.find(name)
        if mod is not None and mod.generated_type != "subform":
            for f in mod.fields:
                if f.data_type == "lookup" and f.lookup_module == parent.definition.api_name:
                    return self.store.state(mod.api_name), f
        raise ApiError(
            "INVALID_DATA",
            "the related list name given seems to be invalid",
            details={"resource_path_index": 2, "api_name": name},
        )

    async def collection(self, request: Request) -> Response:
        """List a record's related records, link many (``PUT``) or unlink many (``ids``)."""
        params = request.path_params
        parent, rec = parent_of(self.store, params["module"], params["record_id"])
        related, lookup = self._relation(parent, params["related_list"])
        if request.method == "GET":
            allowed = set(related.definition.field_map) | {"Tag"}
            fields = wants_fields(request, allowed)
            linked = [r for r in related.records.values() if _points_at(r, lookup.api_name, rec.id)]
            rows = [_pick(r, fields) for r in reversed(linked)]
            return page_answer(request, rows)
        if request.method == "PUT":
            rows = records_of(await json_body(request))
            results = []
            for i, row in enumerate(rows):
                raw = row.get("id") if isinstance(row, dict) else None
                target = lookup_id_or_none(raw) if raw is not None else None
                extra = {k: v for k, v in row.items() if k != "id"} if isinstance(row, dict) else {}
                results.append(self._link(related, lookup, rec, target, i, extra))
            return write_answer(results, 200)
        ids = required_list(request, "ids", most=MAX_DELINK)
        return write_answer([self._unlink(related, lookup, rec, i) for i in ids], 200)

    async def one(self, request: Request) -> Response:
        """Link (``PUT``) or unlink (``DELETE``) one related record."""
        params = request.path_params
        parent, rec = parent_of(self.store, params["module"], params["record_id"])
        related, lookup = self._relation(parent, params["related_list"])
        target = params["related_id"]
        if request.method == "DELETE":
            return write_answer([self._unlink(related, lookup, rec, target)], 200)
        raw = await request.body()
        extra: dict[str, Any] = {}
        if raw.strip():
            rows = records_of(await json_body(request))
            extra = rows[0] if isinstance(rows[0], dict) else {}
            extra = {k: v for k, v in extra.items() if k != "id"}
        return write_answer([self._link(related, lookup, rec, target, 0, extra)], 200)

    def _link(
        self,
        related: ModuleState,
        lookup: FieldDef,
        parent: Record,
        target: str | None,
        index: int,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        if target is None or target not in related.records:
            return failure(
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"api_name": "id", "json_path": f"$.data[{index}].id", "id": target},
            )
        values = {**extra, lookup.api_name: {"id": parent.id}}
        result = self.store.update(related, target, values, index, self.store.api_user())
        if result["status"] != "success":
            return result
        return success("relation updated successfully", {"id": target})

    def _unlink(
        self, related: ModuleState, lookup: FieldDef, parent: Record, target: str
    ) -> dict[str, Any]:
        rec = related.records.get(target)
        if rec is None or not _points_at(rec, lookup.api_name, parent.id):
            return failure(
                "INVALID_DATA", "the related id given seems to be invalid", {"id": target}
            )
        self.store.update(related, target, {lookup.api_name: None}, 0, self.store.api_user())
        return success("relation removed", {"id": target})

    # ------------------------------------------------------------------ convert lead

    async def convert(self, request: Request) -> Response:
        """Convert Lead: a contact, an account and optionally a deal, from one lead."""
        store = self.store
        params = request.path_params
        if (store.schema.find(params["module"]) or _NO_MODULE).api_name != "Leads":
            raise invalid_url()
        leads, lead = parent_of(store, "Leads", params["record_id"])
        if lead.converted:
            raise ApiError(
                "ID_ALREADY_CONVERTED",
                "the lead has been converted already",
                details={"id": lead.id},
            )
        raw = await request.body()
        options: dict[str, Any] = {}
        if raw.strip():
            rows = records_of(await json_body(request))
            if not isinstance(rows[0], dict):
                raise ApiError("INVALID_DATA", "invalid data", details={"json_path": "$.data[0]"})
            options = rows[0]
        contacts, accounts, deals = (store.state(m) for m in ("Contacts", "Accounts", "Deals"))
        try:
            account_id = _existing(accounts, options.get("Accounts"), "Accounts")
            contact_id = _existing(contacts, options.get("Contacts"), "Contacts")
            contact_values = _carried(lead, contacts, skip={"Account_Name"})
            company = lead.data.get("Company")
            account_values = None
            if account_id is None and company:
                account_values = {**_carried(lead, accounts), "Account_Name": company}
                store._prepare(accounts, account_values, 0, creating=True, self_id=None)
            if contact_id is None:
                store._prepare(contacts, contact_values, 0, creating=True, self_id=None)
            deal_values = options.get("Deals")
            if deal_values is not None:
                if not isinstance(deal_values, dict):
                    raise RecordError(
                        "INVALID_DATA", "invalid data", {"json_path": "$.data[0].Deals"}
                    )
                store._values_of(deals.definition, deal_values, "$.data[0].Deals", creating=True)
        except RecordError as exc:
            return zoho_json({"data": [exc.element()]}, 400)
        actor = store.api_user()
        if account_values is not None:
            account_id = store.insert(accounts, account_values, 0, actor)["details"]["id"]
        if contact_id is None:
            if account_id is not None:
                contact_values["Account_Name"] = {"id": account_id}
            contact_id = store.insert(contacts, contact_values, 0, actor)["details"]["id"]
        deal_id = None
        if isinstance(deal_values, dict):
            links: dict[str, Any] = {"Contact_Name": {"id": contact_id}}
            if account_id is not None:
                links["Account_Name"] = {"id": account_id}
            deal_id = store.insert(deals, {**deal_values, **links}, 0, actor)["details"]["id"]
        lead.converted = True
        leads.converted_count += 1
        store._touch(leads, lead, actor)
        for note in store.beyond.notes.values():
            if note.module == "Leads" and note.parent_id == lead.id:
                note.module, note.parent_id = "Contacts", contact_id
                store.emu.journal.changed("note", note.id, note)
        made = {"Contacts": contact_id, "Accounts": account_id, "Deals": deal_id}
        if not version_of(request).since(3):
            return zoho_json({"data": [made]})
        details = {
            module: None if rec_id is None else _named(store.state(module), rec_id)
            for module, rec_id in made.items()
        }
        return zoho_json({"data": [success("lead converted successfully", details)]})


class _NoModule:
    api_name = ""


_NO_MODULE = _NoModule()


def _points_at(rec: Record, field: str, parent_id: str) -> bool:
    value = rec.data.get(field)
    return isinstance(value, dict) and value.get("id") == parent_id


def _pick(rec: Record, fields: list[str] | None) -> dict[str, Any]:
    if fields is None:
        return dict(rec.data)
    return {"id": rec.id, **{n: rec.data.get(n, [] if n == "Tag" else None) for n in fields}}


def _existing(state: ModuleState, given: Any, key: str) -> str | None:
    """The id of an existing record a conversion names (``"id"`` or ``{"id"}``), if any."""
    if given is None:
        return None
    raw = given.get("id") if isinstance(given, dict) else given
    record_id = lookup_id_or_none(raw)
    if record_id is None or record_id not in state.records:
        raise RecordError(
            "INVALID_DATA",
            "the related id given seems to be invalid",
            {"api_name": key, "json_path": f"$.data[0].{key}"},
        )
    return record_id


def _carried(
    lead: Record, target: ModuleState, skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    """The lead's values that ``target`` has a field for (Zoho's default conversion mapping:
    the same API names), leaving out system, computed, unique and lookup fields."""
    out: dict[str, Any] = {}
    for name, f in target.definition.field_map.items():
        if name in skip or f.computed or f.unique or name in _SYSTEM:
            continue
        if f.data_type in ("lookup", "ownerlookup", "multiselectlookup", "subform"):
            continue
        value = lead.data.get(name)
        if value not in (None, "", []):
            out[name] = value
    return out


_SYSTEM = {"id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Full_Name"}


def _named(state: ModuleState, record_id: str) -> dict[str, Any]:
    rec = state.records[record_id]
    return {"name": rec.data.get(state.definition.display_field), "id": rec.id}
