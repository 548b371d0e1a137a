"""The modules of one emulated org, and reading a user's own schema from a file.

An org starts from the standard modules (:data:`~._metadata.MODULES`). A schema file adds the
user's custom modules and replaces a standard module it names (to give it custom fields). The
file is Zoho's own metadata JSON, as ``zohokit emulator snapshot`` writes it::

    {"modules": [
        {"api_name": "Projects", "singular_label": "Project", "plural_label": "Projects",
         "fields": [
            {"api_name": "Name", "data_type": "text", "length": 120, "system_mandatory": true},
            {"api_name": "Account", "data_type": "lookup",
             "lookup": {"module": {"api_name": "Accounts"}}},
            {"api_name": "Tags", "data_type": "multiselectpicklist",
             "pick_list_values": [{"actual_value": "A"}, {"actual_value": "B"}]}]}]}

Every key but ``api_name`` and ``data_type`` may be left out; a module's ``fields`` are those
of ``/settings/fields?module=``, the module's other keys those of
``/settings/modules/{api_name}``, plus ``mandatory`` on a field that a layout requires. Errors
name the module and field to fix (:class:`SchemaError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ._metadata import (
    DATA_TYPES,
    MODULES,
    SYSTEM_FIELDS,
    AutoNumber,
    FieldDef,
    Formula,
    ModuleDef,
    system_fields,
)
from ._render import fields_json, layouts_json, module_json, modules_json
from ._versions import ApiVersion

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")

#: Default ``length`` per data type when a schema leaves it out (Zoho's defaults).
_DEFAULT_LENGTHS = {
    "textarea": 32000,
    "email": 100,
    "phone": 30,
    "integer": 9,
    "bigint": 18,
    "double": 16,
    "currency": 16,
    "date": 20,
    "datetime": 120,
    "boolean": 5,
    "picklist": 120,
    "multiselectpicklist": 2000,
    "lookup": 120,
    "ownerlookup": 120,
    "userlookup": 120,
}
#: First module number of custom modules (standard ones use 2175..2183).
_CUSTOM_NUMBER = 3001


class SchemaError(ValueError):
    """A schema file Zoho could not hold; the message names the module and field to fix."""


class CrmSchema:
    """The modules of one org, looked up case-insensitively, with their metadata answers cached.

    The schema never changes once built, so each metadata answer is rendered once per
    module and version.
    """

    def __init__(self, modules: Iterable[ModuleDef]) -> None:
        self.modules: dict[str, ModuleDef] = {m.api_name: m for m in modules}
        self._by_lower = {name.lower(): m for name, m in self.modules.items()}
        self._answers: dict[tuple[str, str, str], dict[str, Any]] = {}

    @classmethod
    def standard(cls) -> CrmSchema:
        """The standard modules of a fresh org (one shared instance: it never changes)."""
        return _standard()

    def find(self, name: str) -> ModuleDef | None:
        """The module called ``name`` (Zoho matches module names in URLs case-insensitively)."""
        return self._by_lower.get(name.lower())

    def _cached(
        self, kind: str, key: str, version: ApiVersion, build: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        slot = (kind, key, version.name)
        answer = self._answers.get(slot)
        if answer is None:
            answer = self._answers[slot] = build()
        return answer

    def modules_answer(self, version: ApiVersion) -> dict[str, Any]:
        """``/settings/modules``."""
        return self._cached("modules", "", version, lambda: modules_json(self, version))

    def module_answer(self, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
        """``/settings/modules/{api_name}``."""
        return self._cached(
            "module", module.api_name, version, lambda: module_json(self, module, version)
        )

    def fields_answer(self, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
        """``/settings/fields?module=``."""
        return self._cached(
            "fields", module.api_name, version, lambda: fields_json(self, module, version)
        )

    def layouts_answer(self, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
        """``/settings/layouts?module=``."""
        return self._cached(
            "layouts", module.api_name, version, lambda: layouts_json(self, module, version)
        )


@cache
def _standard() -> CrmSchema:
    return CrmSchema(MODULES.values())


def load_schema(path: str | Path) -> CrmSchema:
    """The standard modules plus those of the schema file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc.strerror or exc}") from exc
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"schema file {path} is not valid JSON: {exc}") from exc
    return schema_from_json(payload)


def schema_from_json(payload: Any) -> CrmSchema:
    """The standard modules plus those of a parsed schema document (see the module doc).

    A document ``snapshot`` wrote (``"source": "snapshot"``) may hold fields of types the
    emulator does not model, or lookups to modules it left out: those fields keep their
    metadata and store any value unchecked. A hand-written document is checked strictly.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("modules"), list):
        raise SchemaError('a schema is a JSON object with a "modules" list')
    raw_modules: list[Any] = payload["modules"]
    names: list[str] = []
    for i, raw in enumerate(raw_modules):
        if not isinstance(raw, dict):
            raise SchemaError(f"modules[{i}] must be an object")
        name = raw.get("api_name")
        if not isinstance(name, str) or not _API_NAME.match(name):
            raise SchemaError(
                f"modules[{i}].api_name must start with a letter and hold only letters, "
                f"digits and _ (got {name!r})"
            )
        if name.lower() in (n.lower() for n in names):
            raise SchemaError(f"modules[{i}]: module {name!r} is listed twice")
        names.append(name)
    reader = _Reader(
        known={n.lower(): n for n in MODULES} | {n.lower(): n for n in names},
        snapshot=payload.get("source") == "snapshot",
    )
    modules = dict(MODULES)
    for i, raw in enumerate(raw_modules):
        mod = reader.module(i, raw)
        old = next((n for n in modules if n.lower() == mod.api_name.lower()), None)
        if old is not None and old != mod.api_name:
            del modules[old]
        modules[mod.api_name] = mod  # a standard module keeps its place in the listing
    return CrmSchema(modules.values())


def snapshot_document(
    modules: list[dict[str, Any]],
    fields: dict[str, list[dict[str, Any]]],
    layouts: dict[str, list[dict[str, Any]]],
    *,
    taken_from: str,
    taken_at: str,
) -> dict[str, Any]:
    """A schema document of an org's metadata, as ``zohokit emulator snapshot`` writes it.

    ``modules`` are the ``/settings/modules/{api_name}`` answers of the modules to keep;
    ``fields`` and ``layouts`` their ``/settings/fields`` and ``/settings/layouts`` lists.
    Zoho's field metadata leaves layout requirements out, so a field any layout marks
    ``required`` gets ``"mandatory": true``.
    """
    out = []
    for module in modules:
        name = module["api_name"]
        required = {
            f.get("api_name")
            for layout in layouts.get(name, [])
            for section in layout.get("sections") or []
            for f in section.get("fields") or []
            if f.get("required")
        }
        entry = dict(module)
        entry["fields"] = [
            {**f, "mandatory": True} if f.get("api_name") in required else dict(f)
            for f in fields.get(name, [])
        ]
        out.append(entry)
    return {
        "source": "snapshot",
        "taken_from": taken_from,
        "taken_at": taken_at,
        "modules": out,
    }


def _text(raw: dict[str, Any], key: str, default: str, where: str) -> str:
    value = raw.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not value.strip():
        raise SchemaError(f"{where}.{key} must be a non-empty string")
    return value


def _flag(raw: dict[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SchemaError(f"{where}.{key} must be true or false")
    return value


def _id(raw: dict[str, Any], where: str) -> str | None:
    value = raw.get("id")
    if value is None:
        return None
    value = str(value)
    if not _DIGITS.match(value):
        raise SchemaError(f"{where}.id must be a string of up to 19 digits (got {value!r})")
    return value


def _target(raw: Any, keys: tuple[str, ...]) -> Any:
    """``raw[keys[0]][keys[1]]...``, or ``raw`` itself when it is the bare name."""
    if isinstance(raw, str):
        return raw
    for key in keys:
        if not isinstance(raw, dict):
            return None
        raw = raw.get(key)
    return raw


def _first_text(fields: list[FieldDef]) -> str:
    for f in fields:
        if f.data_type == "text" and f.api_name not in SYSTEM_FIELDS:
            return f.api_name
    return "id"


class _Reader:
    """Parses the modules of one document; ``known`` maps lower-cased names to modules."""

    def __init__(self, known: dict[str, str], snapshot: bool) -> None:
        self.known = known
        self.snapshot = snapshot

    def module(self, index: int, raw: dict[str, Any]) -> ModuleDef:
        name: str = raw["api_name"]
        where = f"modules[{index}] ({name})"
        base = next((m for n, m in MODULES.items() if n.lower() == name.lower()), None)
        raw_fields = raw.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise SchemaError(f"{where}.fields must be a non-empty list of fields")
        fields = [
            self.field(f"{where}.fields[{j}]", raw_f, base) for j, raw_f in enumerate(raw_fields)
        ]
        seen: set[str] = set()
        for f in fields:
            if f.api_name in seen:
                raise SchemaError(f"{where}: field {f.api_name!r} is listed twice")
            seen.add(f.api_name)
        # Every record has the system fields, and a standard module keeps its own fields: a
        # hand-written schema lists only what it adds or changes; those not listed go first.
        inherited = base.fields if base else tuple(system_fields())
        fields = [f for f in inherited if f.api_name not in seen] + fields
        by_name = {f.api_name: f for f in fields}
        generated = _text(raw, "generated_type", "default" if base else "custom", where)
        if generated not in ("default", "custom", "subform"):
            if not self.snapshot:
                raise SchemaError(f"{where}.generated_type must be default, custom or subform")
            generated = "custom"
        display = raw.get("display_field")
        if display is None or (self.snapshot and display not in by_name):
            display = base.display_field if base else _first_text(fields)
        if not isinstance(display, str) or display not in by_name:
            raise SchemaError(
                f"{where}.display_field {display!r} is not one of the module's fields"
            )
        module_id = _id(raw, where)
        if module_id is not None:
            number = int(module_id[-9:])  # the ids of its fields and layout derive from it
        else:
            number = base.number if base else _CUSTOM_NUMBER + index
        return ModuleDef(
            api_name=name,
            singular=_text(raw, "singular_label", base.singular if base else name, where),
            plural=_text(raw, "plural_label", base.plural if base else name, where),
            number=number,
            fields=tuple(fields),
            dedupe_field=base.dedupe_field if base and base.dedupe_field in by_name else None,
            display_field=display,
            generated_type=generated,
            module_id=module_id,
        )

    def field(self, where: str, raw: Any, base: ModuleDef | None) -> FieldDef:
        if not isinstance(raw, dict):
            raise SchemaError(f"{where} must be an object")
        name = raw.get("api_name")
        if not isinstance(name, str) or not _API_NAME.match(name):
            raise SchemaError(f"{where}.api_name must be a valid API name (got {name!r})")
        where = f"{where} ({name})"
        kind = raw.get("data_type")
        checked = kind in DATA_TYPES
        if not checked and not (self.snapshot and isinstance(kind, str) and kind):
            raise SchemaError(
                f"{where}.data_type must be one of {', '.join(sorted(DATA_TYPES))} (got {kind!r})"
            )
        assert isinstance(kind, str)
        length = raw.get("length")
        if length is None:
            length = _DEFAULT_LENGTHS.get(kind, 255)
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise SchemaError(f"{where}.length must be a positive integer")
        picklist, picklist_ids = (
            _picklist(where, raw, kind) if kind in _PICKLIST_TYPES else ((), ())
        )
        lookup = self.lookup_target(where, raw, kind)
        if lookup is None and kind in _LOOKUP_TYPES:
            checked = False  # a snapshot's lookup to a module it left out
        decimals = raw.get("decimal_place")
        if decimals is not None and (not isinstance(decimals, int) or not 0 <= decimals <= 9):
            raise SchemaError(f"{where}.decimal_place must be an integer from 0 to 9 or null")
        unique = raw.get("unique") or False
        if not isinstance(unique, dict | bool):
            raise SchemaError(f"{where}.unique must be true, false or Zoho's unique object")
        label = _text(
            raw, "field_label", _text(raw, "display_label", name.replace("_", " "), where), where
        )
        given_json = raw.get("json_type")
        return FieldDef(
            api_name=name,
            label=label,
            data_type=kind,
            length=length,
            system_mandatory=_flag(raw, "system_mandatory", where),
            unique=bool(unique),
            read_only=_flag(raw, "read_only", where),
            picklist=picklist,
            lookup_module=lookup,
            custom=_flag(
                raw, "custom_field", where, default=base is None or name not in base.field_map
            ),
            mandatory=_flag(raw, "mandatory", where),
            decimal_place=decimals,
            auto_number=_auto_number(where, raw) if kind == "autonumber" else None,
            formula=_formula(where, raw) if kind == "formula" else None,
            field_id=_id(raw, where),
            picklist_ids=picklist_ids,
            checked=checked,
            given_json_type=given_json if not checked and isinstance(given_json, str) else None,
        )

    def lookup_target(self, where: str, raw: dict[str, Any], kind: str) -> str | None:
        if kind == "lookup":
            target = _target(raw.get("lookup"), ("module", "api_name"))
        elif kind == "multiselectlookup":
            target = _target(raw.get("multiselectlookup"), ("connected_module", "api_name"))
        elif kind == "subform":
            target = _target(raw.get("associated_module") or raw.get("subform"), ("module",))
            if isinstance(target, dict):
                target = target.get("api_name")
        elif kind in ("ownerlookup", "userlookup"):
            return "users"
        else:
            return None
        if isinstance(target, str) and target.lower() in self.known:
            return self.known[target.lower()]
        if self.snapshot:
            return None
        raise SchemaError(
            f"{where}: a {kind} must name a module of the schema (got {target!r}; "
            f"known: {', '.join(sorted(self.known.values()))})"
        )


_PICKLIST_TYPES = ("picklist", "multiselectpicklist")
_LOOKUP_TYPES = ("lookup", "multiselectlookup", "subform")


def _picklist(
    where: str, raw: dict[str, Any], kind: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    items = raw.get("pick_list_values") or []
    if not isinstance(items, list):
        raise SchemaError(f"{where}.pick_list_values must be a list")
    if not items:
        raise SchemaError(f"{where}: a {kind} needs pick_list_values")
    values: list[str] = []
    ids: list[str] = []
    for k, item in enumerate(items):
        value = item.get("actual_value") if isinstance(item, dict) else item
        if not isinstance(value, str) or not value:
            raise SchemaError(f"{where}.pick_list_values[{k}] needs a non-empty actual_value")
        if value in values:
            raise SchemaError(f"{where}.pick_list_values: {value!r} is listed twice")
        values.append(value)
        given = _id(item, f"{where}.pick_list_values[{k}]") if isinstance(item, dict) else None
        ids.append(given or "")
    return tuple(values), (tuple(ids) if all(ids) else ())


def _auto_number(where: str, raw: dict[str, Any]) -> AutoNumber:
    spec = raw.get("auto_number") or {}
    if not isinstance(spec, dict):
        raise SchemaError(f"{where}.auto_number must be an object")
    start = spec.get("start_number", 1)
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise SchemaError(f"{where}.auto_number.start_number must be a non-negative integer")
    return AutoNumber(str(spec.get("prefix") or ""), str(spec.get("suffix") or ""), start)


def _formula(where: str, raw: dict[str, Any]) -> Formula:
    spec = raw.get("formula") or {}
    if not isinstance(spec, dict):
        raise SchemaError(f"{where}.formula must be an object")
    return Formula(str(spec.get("return_type") or "text"), str(spec.get("expression") or ""))
