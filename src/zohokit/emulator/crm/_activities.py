"""The Events module (Meetings in the UI) and how Zoho links an activity to a record.

A meeting names whom it is with in two ways, as Zoho models activities:

- ``Who_Id`` is a lookup to a **contact** (``{"id": ...}``);
- ``What_Id`` is a lookup to a record of the module named by ``$se_module`` (``Leads``,
  ``Accounts``, ``Deals``, ...): a lead is linked through ``What_Id``, never ``Who_Id``;
- ``Participants`` is a list of ``{"type", "participant"}``: ``contact`` and ``lead`` name a
  record id, ``user`` a CRM user id, ``email`` an address. Zoho answers each with its
  ``name`` and ``Email`` and the invitation state (``invited``, ``status``).

The generic write path stores ``What_Id`` and ``Participants`` as sent (their fields are
unchecked); :func:`activity_values` then checks them and returns what to store instead,
``$se_module`` included, so a read shows them as Zoho does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._metadata import FieldDef, ModuleDef, system_fields

__all__ = ["ACTIVITY_MODULES", "activity_values", "events_module"]

#: Modules whose records carry ``$se_module`` / ``What_Id`` / ``Participants``.
ACTIVITY_MODULES = frozenset({"Events"})
_PARTICIPANT_TYPES = {"contact": "Contacts", "lead": "Leads"}

#: Looks up a record: (module, id) -> its data, or ``None``.
Lookup = Callable[[str, str], dict[str, Any] | None]


class ActivityError(Exception):
    """A value Zoho refuses: ``details`` names the field (the caller adds the json path)."""

    def __init__(self, key: str, **details: Any) -> None:
        super().__init__(key)
        self.key = key
        self.details = details


def events_module() -> ModuleDef:
    """The Events module of a fresh org, with the fields a booking writes."""
    fields = [
        *system_fields(lead_like=False),
        FieldDef("Event_Title", "Title", "text", 255, system_mandatory=True),
        FieldDef("Start_DateTime", "From", "datetime", 120, system_mandatory=True),
        FieldDef("End_DateTime", "To", "datetime", 120, system_mandatory=True),
        FieldDef("All_day", "All day", "boolean", 5),
        FieldDef("Venue", "Venue", "text", 255),
        FieldDef("Who_Id", "Contact Name", "lookup", 120, lookup_module="Contacts"),
        FieldDef(
            "What_Id", "Related To", "lookup", 120, checked=False, given_json_type="jsonobject"
        ),
        FieldDef(
            "Participants",
            "Participants",
            "multiselectlookup",
            120,
            checked=False,
            given_json_type="jsonarray",
        ),
        FieldDef("Description", "Description", "textarea", 32000),
    ]
    return ModuleDef("Events", "Meeting", "Meetings", 2183, tuple(fields), None, "Event_Title")


def activity_values(raw: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """The checked ``$se_module``/``What_Id`` and ``Participants`` of a written activity (only
    the keys the write sent). Raises :class:`ActivityError` for what Zoho refuses."""
    out: dict[str, Any] = {}
    if "What_Id" in raw:
        what = raw["What_Id"]
        if what is None:
            out["What_Id"], out["$se_module"] = None, None
        else:
            module = raw.get("$se_module")
            if not isinstance(module, str) or not module:
                raise ActivityError("$se_module", expected_data_type="text")
            record_id = str(what.get("id") if isinstance(what, dict) else what)
            found = lookup(module, record_id)
            if found is None:
                raise ActivityError("What_Id", expected_data_type="lookup")
            out["What_Id"] = {"name": found.get("Full_Name") or found.get("id"), "id": record_id}
            out["$se_module"] = module
    if "Participants" in raw:
        out["Participants"] = _participants(raw["Participants"], lookup)
    return out


def _participants(value: Any, lookup: Lookup) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ActivityError("Participants", expected_data_type="jsonarray")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("participant"), str):
            raise ActivityError("Participants", expected_data_type="jsonobject")
        kind, who = item.get("type"), item["participant"]
        name, email = None, None
        if kind in _PARTICIPANT_TYPES:
            found = lookup(_PARTICIPANT_TYPES[kind], who)
            if found is None:
                raise ActivityError("Participants", expected_data_type="lookup")
            name, email = found.get("Full_Name"), found.get("Email")
        elif kind == "email":
            if "@" not in who:
                raise ActivityError("Participants", expected_data_type="email")
            email = who
        elif kind != "user":
            raise ActivityError(
                "Participants", supported_values=["contact", "lead", "user", "email"]
            )
        out.append(
            {
                "type": kind,
                "participant": who,
                "name": name,
                "Email": email,
                "invited": False,
                "status": "not_known",
            }
        )
    return out
