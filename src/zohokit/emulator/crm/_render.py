"""Metadata JSON of a CRM org, in the shape each API version answers it.

``/settings/modules`` (summaries), ``/settings/modules/{api_name}`` (one module in full),
``/settings/fields`` and ``/settings/layouts`` are rendered from the org's
:class:`~zohokit.emulator.crm._metadata.ModuleDef` objects. Every answer is a pure function of
the schema and the version, so :class:`~zohokit.emulator.crm._schema.CrmSchema` caches it.

Shapes: the v8 keys follow Zoho's OpenAPI description (``zoho/crm-oas`` v8.0
``modules``/``fields``/``layouts`` examples); the v2-era keys follow captured v2 answers
(module flags such as ``emailTemplate_support``, field keys ``section_id`` and ``subform``);
version switches are in :mod:`._versions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._metadata import ID_PREFIX, FieldDef, ModuleDef
from ._versions import ApiVersion

if TYPE_CHECKING:
    from ._schema import CrmSchema

#: ``json_type`` of each data type (Zoho's samples; formula takes its return type's).
JSON_TYPES = {
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "boolean": "boolean",
    "integer": "integer",
    "bigint": "string",
    "currency": "double",
    "double": "double",
    "multiselectpicklist": "jsonarray",
    "multiselectlookup": "jsonarray",
    "subform": "jsonarray",
    "fileupload": "jsonarray",
}

_FORMULA_JSON_TYPES = {"double": "double", "currency": "double", "boolean": "boolean"}

#: Zoho's numeric ``ui_type`` per data type (v8 field metadata; values from its samples).
_UI_TYPES = {
    "text": 1,
    "textarea": 3,
    "email": 25,
    "phone": 33,
    "website": 21,
    "picklist": 2,
    "multiselectpicklist": 100,
    "integer": 32,
    "bigint": 32,
    "double": 38,
    "currency": 36,
    "date": 24,
    "datetime": 333,
    "boolean": 301,
    "lookup": 133,
    "ownerlookup": 8,
    "userlookup": 133,
    "multiselectlookup": 51,
    "autonumber": 130,
    "formula": 118,
    "subform": 1100,
}

_PROFILES = [
    {"name": "Administrator", "id": f"{ID_PREFIX}000000026011"},
    {"name": "Standard", "id": f"{ID_PREFIX}000000026014"},
]
#: Keys of the one layout that only the v8 description shows.
_V8_LAYOUT_KEYS = {
    "api_name": "Standard__s",
    "display_label": "Standard",
    "has_more_profiles": False,
    "created_for": None,
    "source": "crm",
}
_V2_MODULE_FLAGS = (
    "email_parser_supported",
    "emailTemplate_support",
    "filter_supported",
    "inventory_template_supported",
    "scoring_supported",
    "triggers_supported",
    "webform_supported",
)


def field_id(module: ModuleDef, index: int, f: FieldDef) -> str:
    """The field's id: the one it was loaded with, or one derived from its position."""
    return f.field_id or f"{ID_PREFIX}{module.number * 1000 + index:012d}"


def layout_id(module: ModuleDef) -> str:
    """The id of the module's one layout, ``Standard``."""
    return f"{ID_PREFIX}{module.number * 1000 + 999:012d}"


def json_type(f: FieldDef) -> str:
    """The ``json_type`` Zoho reports for the field."""
    if f.given_json_type is not None:
        return f.given_json_type
    if f.data_type == "formula" and f.formula is not None:
        return _FORMULA_JSON_TYPES.get(f.formula.return_type, "string")
    return JSON_TYPES.get(f.data_type, "string")


def decimal_place(f: FieldDef) -> int | None:
    """Digits after the point: as loaded, else 2 for currency and decimal fields."""
    if f.decimal_place is not None:
        return f.decimal_place
    return 2 if f.data_type in ("currency", "double") else None


def _picklist(module: ModuleDef, index: int, f: FieldDef, v8: bool) -> list[dict[str, Any]]:
    out = []
    for seq, value in enumerate(f.picklist, start=1):
        given = f.picklist_ids[seq - 1] if seq <= len(f.picklist_ids) else None
        item: dict[str, Any] = {
            "display_value": value,
            "actual_value": value,
            "sequence_number": seq,
            "id": given or f"{ID_PREFIX}{module.number * 100000 + index * 100 + seq:012d}",
        }
        if v8:
            item |= {"reference_value": value, "type": "used", "colour_code": None}
        out.append(item)
    return out


def _module_ref(schema: CrmSchema, name: str) -> dict[str, Any]:
    target = schema.modules[name]
    return {"api_name": target.api_name, "id": target.id}


def field_json(
    schema: CrmSchema, module: ModuleDef, index: int, f: FieldDef, version: ApiVersion
) -> dict[str, Any]:
    """One element of ``/settings/fields``: every key Zoho documents for the field's type."""
    v8 = version.v8_shapes
    fid = field_id(module, index, f)
    out: dict[str, Any] = {
        "api_name": f.api_name,
        "field_label": f.label,
        "display_label": f.label,
        "data_type": f.data_type,
        "json_type": json_type(f),
        "length": f.length,
        "system_mandatory": f.system_mandatory,
        "unique": ({"case_sensitive" if v8 else "casesensitive": False} if f.unique else {}),
        "read_only": f.read_only,
        "field_read_only": f.read_only or f.data_type in ("autonumber", "formula"),
        "custom_field": f.custom,
        "visible": True,
        "webhook": True,
        "id": fid,
        "created_source": "default" if not f.custom else "crm",
        "tooltip": None,
        "crypt": None,
        "businesscard_supported": f.data_type not in ("subform", "multiselectlookup"),
        "association_details": None,
        "mass_update": not f.read_only and f.data_type not in ("autonumber", "formula"),
        "view_type": {
            "view": True,
            "edit": not f.read_only,
            "quick_create": f.required,
            "create": not f.read_only,
        },
        "decimal_place": decimal_place(f),
        "pick_list_values": _picklist(module, index, f, v8),
        "currency": (
            {"rounding_option": "normal", "precision": decimal_place(f)}
            if f.data_type == "currency"
            else {}
        ),
        "auto_number": (
            {
                "prefix": f.auto_number.prefix,
                "suffix": f.auto_number.suffix,
                "start_number": f.auto_number.start_number,
            }
            if f.auto_number is not None
            else {}
        ),
        "formula": (
            {"return_type": f.formula.return_type, "expression": f.formula.expression}
            if f.formula is not None
            else {}
        ),
        "lookup": {},
        "multiselectlookup": {},
    }
    if f.data_type == "lookup" and f.lookup_module:
        target = schema.modules[f.lookup_module]
        out["lookup"] = {
            "display_label": target.singular,
            "api_name": f.lookup_module,
            "module": {**_module_ref(schema, f.lookup_module), **({"crypt": False} if v8 else {})},
            "id": f"{ID_PREFIX}{module.number * 1000 + index + 500:012d}",
        }
    elif f.data_type == "multiselectlookup" and f.lookup_module:
        target = schema.modules[f.lookup_module]
        out["multiselectlookup"] = {
            "display_label": target.plural,
            "api_name": f.api_name,
            "connected_module": _module_ref(schema, f.lookup_module),
            "linking_module": {
                "api_name": f"{module.api_name}X{target.api_name}",
                "id": f"{ID_PREFIX}{module.number * 1000 + index + 600:012d}",
            },
            "lookup_apiname": module.singular.replace(" ", "_"),
            "connectedlookup_apiname": target.singular.replace(" ", "_"),
            "id": f"{ID_PREFIX}{module.number * 1000 + index + 700:012d}",
        }
    subform = (
        {"module": f.lookup_module, "id": schema.modules[f.lookup_module].id}
        if f.data_type == "subform" and f.lookup_module
        else None
    )
    if version.field_searchable:
        out["searchable"] = f.data_type not in ("subform", "formula")
    if version.customizable_properties:
        out["customizable_properties"] = [] if not f.custom else ["mandatory", "removal"]
    if v8:
        out |= {
            "associated_module": subform,
            "operation_type": {
                "web_update": not f.read_only,
                "api_create": not f.read_only,
                "web_create": not f.read_only,
                "api_update": not f.read_only,
            },
            "type": "used",
            "filterable": f.data_type != "subform",
            "sortable": f.data_type not in ("subform", "multiselectlookup"),
            "profiles": [{"permission_type": "read_write", **p} for p in _PROFILES],
            "separator": False,
            "history_tracking_enabled": False,
            "history_tracking": None,
            "external": None,
            "parent_field": None,
            "child_fields": None,
            "enable_colour_code": False,
            "colour_code_enabled_by_system": False,
            "pick_list_values_sorted_lexically": False,
            "global_picklist": None,
            "private": None,
            "virtual_field": False,
            "range": None,
            "display_type": -1,
            "ui_type": _UI_TYPES.get(f.data_type, 1),
            "created_time": None,
            "modified_time": None,
            "public": False,
            "email_parser": {
                "fields_update_supported": False,
                "record_operations_supported": False,
            },
            "hipaa_compliance": None,
            "hipaa_compliance_enabled": False,
            "address": None,
            "rollup_summary": {},
            "column_name": f.api_name.upper(),
            "display_field": f.api_name == module.display_field,
            "display_format": None,
            "display_format_properties": None,
            "additional_column": None,
            "multi_module_lookup": {},
            "layout_associations": [
                {"api_name": "Standard__s", "name": "Standard", "id": layout_id(module)}
            ],
        }
    else:
        out |= {"section_id": 1, "subform": subform}
    return out


def fields_json(schema: CrmSchema, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
    """The ``/settings/fields?module=`` answer."""
    return {
        "fields": [field_json(schema, module, i, f, version) for i, f in enumerate(module.fields)]
    }


def _module_summary(module: ModuleDef, seq: int, version: ApiVersion) -> dict[str, Any]:
    subform = module.generated_type == "subform"
    out: dict[str, Any] = {
        "api_name": module.api_name,
        "module_name": module.api_name,
        "singular_label": module.singular,
        "plural_label": module.plural,
        "api_supported": not subform,
        "generated_type": module.generated_type,
        "id": module.id,
        "creatable": not subform,
        "editable": not subform,
        "deletable": not subform,
        "viewable": True,
        "convertable": module.api_name == "Leads",
        "quick_create": not subform,
        "global_search_supported": not subform,
        "isBlueprintSupported": not subform,
        "visible": True,
        "visibility": 1,
        "presence_sub_menu": not subform,
        "feeds_required": False,
        "web_link": None,
        "arguments": [],
        "parent_module": {},
        "business_card_field_limit": 5,
        "sequence_number": seq,
        "modified_time": None,
        "modified_by": None,
        "profiles": list(_PROFILES),
    }
    if version.module_feature_flags:
        out |= {flag: not subform for flag in _V2_MODULE_FLAGS}
    if version.recycle_bin_on_delete:
        out["recycle_bin_on_delete"] = not subform
    if version.v8_shapes:
        out |= {
            "status": "visible",
            "access_type": "org_based",
            "has_more_profiles": False,
            "private_profile": None,
            "description": None,
            "actual_plural_label": module.plural,
            "actual_singular_label": module.singular,
            "lookupable": not subform,
            "sub_menu_available": not subform,
            "show_as_tab": not subform,
            "public_fields_configured": False,
            "profile_count": len(_PROFILES),
        }
    return out


def modules_json(schema: CrmSchema, version: ApiVersion) -> dict[str, Any]:
    """The ``/settings/modules`` answer: one summary per module."""
    return {
        "modules": [
            _module_summary(m, seq, version)
            for seq, m in enumerate(schema.modules.values(), start=1)
        ]
    }


def module_json(schema: CrmSchema, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
    """The ``/settings/modules/{api_name}`` answer: the summary plus the module's details."""
    seq = list(schema.modules).index(module.api_name) + 1
    shown = [f.api_name for f in module.fields if f.api_name not in ("id",)][:6]
    ids = {f.api_name: field_id(module, i, f) for i, f in enumerate(module.fields)}
    detail = {
        **_module_summary(module, seq, version),
        "display_field": module.display_field,
        "per_page": 200,
        "search_layout_fields": shown,
        "related_list_properties": {"sort_by": None, "fields": shown, "sort_order": None},
        "lookup_field_properties": {
            "fields": [
                {"sequence_number": n, "api_name": name, "id": ids[name]}
                for n, name in enumerate(shown, start=1)
            ]
        },
        "custom_view": {
            "display_value": f"All {module.plural}",
            "name": f"All {module.plural}",
            "system_name": "ALLVIEWS",
            "default": True,
            "system_defined": True,
            "id": f"{ID_PREFIX}{module.number * 1000 + 998:012d}",
            "fields": [{"api_name": name, "id": ids[name]} for name in shown],
        },
        "$properties": ["$approval_state", "$editable", "$layout_id"],
    }
    return {"modules": [detail]}


def layouts_json(schema: CrmSchema, module: ModuleDef, version: ApiVersion) -> dict[str, Any]:
    """The ``/settings/layouts?module=`` answer: one ``Standard`` layout, one section."""
    fields = []
    for i, f in enumerate(module.fields):
        entry = field_json(schema, module, i, f, version)
        entry["required"] = f.required
        fields.append(entry)
    layout: dict[str, Any] = {
        "id": layout_id(module),
        "name": "Standard",
        "visible": True,
        "status": "active",
        "created_time": None,
        "modified_time": None,
        "created_by": None,
        "modified_by": None,
        "profiles": [{"default": True, **p} for p in _PROFILES],
        "convert_mapping": None,
        "sections": [
            {
                "display_label": f"{module.singular} Information",
                "name": f"{module.singular} Information",
                "sequence_number": 1,
                "column_count": 2,
                "tab_traversal": "left_to_right",
                "fields": fields,
            }
        ],
    }
    if version.v8_shapes:
        layout |= _V8_LAYOUT_KEYS
    return {"layouts": [layout]}
