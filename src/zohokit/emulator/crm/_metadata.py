"""Module and field definitions of the emulated CRM org, and their metadata JSON.

The definitions mirror a fresh Zoho CRM org (standard modules with their usual fields) plus one
user-defined unique field, ``External_Id``, on Leads and Contacts so that upserts can key on an
identifier owned by the integrating system. The metadata JSON served by ``/settings/modules``
and ``/settings/fields`` is built once per process: it never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: All ids of this org share this prefix, as Zoho's ids share the org's prefix.
ID_PREFIX = 5725767

#: The API user (the owner of the OAuth grant) and a salesperson who edits data in the UI.
USER_ID = "5725767000000411001"
USER_ZUID = "60012345678"
SALES_USER_ID = "5725767000000411002"
SALES_USER_ZUID = "60012345679"
SALES_USER_NAME = "Sam Seller"
SALES_USER_EMAIL = "sam.seller@example.com"
ORG_ID = "5725767000000000001"
ORG_ZGID = "700012345"

DATA_TYPES = frozenset(
    {
        "text",
        "email",
        "phone",
        "picklist",
        "lookup",
        "ownerlookup",
        "datetime",
        "date",
        "boolean",
        "integer",
        "bigint",
        "currency",
        "double",
        "website",
        "textarea",
    }
)

#: Field names every module has, maintained by the CRM itself.
SYSTEM_FIELDS = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")


@dataclass(frozen=True)
class FieldDef:
    """One field of a module, as ``/settings/fields`` describes it."""

    api_name: str
    label: str
    data_type: str
    length: int = 255
    system_mandatory: bool = False
    unique: bool = False
    read_only: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None
    custom: bool = False


@dataclass(frozen=True)
class ModuleDef:
    """One CRM module: names, fields, and the field Zoho checks for duplicates by default."""

    api_name: str
    singular: str
    plural: str
    number: int
    fields: tuple[FieldDef, ...]
    dedupe_field: str | None
    display_field: str
    field_map: dict[str, FieldDef] = field(init=False, repr=False, compare=False)
    #: What a new record holds before its values are applied: every field unset (booleans
    #: read false, as in Zoho). Built once: inserts copy it instead of walking the fields.
    blank: dict[str, Any] = field(init=False, repr=False, compare=False)
    unique_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    mandatory_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once: the write path reads these for every record.
        object.__setattr__(self, "field_map", {f.api_name: f for f in self.fields})
        object.__setattr__(
            self,
            "blank",
            {
                f.api_name: False if f.data_type == "boolean" else None
                for f in self.fields
                if f.api_name != "id"
            },
        )
        # User-defined unique fields, enforced on every write (DUPLICATE_DATA).
        object.__setattr__(
            self, "unique_fields", tuple(f.api_name for f in self.fields if f.unique)
        )
        # Fields an insert must carry (MANDATORY_NOT_FOUND otherwise).
        object.__setattr__(
            self,
            "mandatory_fields",
            tuple(f.api_name for f in self.fields if f.system_mandatory),
        )

    @property
    def id(self) -> str:
        """The module's id, a 19-digit string like every Zoho id."""
        return f"{ID_PREFIX}{self.number:012d}"

    @property
    def duplicate_check_fields(self) -> tuple[str, ...]:
        """Default upsert keys: the system dedupe field first, then the unique fields."""
        first = (self.dedupe_field,) if self.dedupe_field else ()
        return first + tuple(f for f in self.unique_fields if f != self.dedupe_field)


def _system(lead_like: bool) -> list[FieldDef]:
    fields = [
        FieldDef("id", "Record Id", "bigint", 19, read_only=True),
        FieldDef("Owner", "Owner", "ownerlookup", 120, lookup_module="users"),
        FieldDef("Created_Time", "Created Time", "datetime", 120, read_only=True),
        FieldDef("Modified_Time", "Modified Time", "datetime", 120, read_only=True),
        FieldDef("Created_By", "Created By", "ownerlookup", 120, read_only=True),
        FieldDef("Modified_By", "Modified By", "ownerlookup", 120, read_only=True),
    ]
    if lead_like:
        fields.append(FieldDef("Full_Name", "Full Name", "text", 120, read_only=True))
    return fields


_LEAD_SOURCES = (
    "-None-",
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
_LEAD_STATUSES = (
    "-None-",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
_INDUSTRIES = (
    "-None-",
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
)
_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)


def _person_name() -> list[FieldDef]:
    """Salutation, first and last name, as Leads and Contacts hold them."""
    return [
        FieldDef(
            "Salutation",
            "Salutation",
            "picklist",
            120,
            picklist=("-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."),
        ),
        FieldDef("First_Name", "First Name", "text", 40),
        FieldDef("Last_Name", "Last Name", "text", 80, system_mandatory=True),
    ]


def _reach() -> list[FieldDef]:
    """The emails and phones a person has in Leads and Contacts."""
    return [
        FieldDef("Email", "Email", "email", 100),
        FieldDef("Secondary_Email", "Secondary Email", "email", 100),
        FieldDef("Phone", "Phone", "phone", 30),
        FieldDef("Mobile", "Mobile", "phone", 30),
    ]


def _address(prefix: str, zip_name: str) -> list[FieldDef]:
    label = prefix.replace("_", " ").strip()
    return [
        FieldDef(f"{prefix}Street", f"{label} Street".strip(), "text", 250),
        FieldDef(f"{prefix}City", f"{label} City".strip(), "text", 100),
        FieldDef(f"{prefix}State", f"{label} State".strip(), "text", 100),
        FieldDef(f"{prefix}{zip_name}", f"{label} Zip".strip(), "text", 30),
        FieldDef(f"{prefix}Country", f"{label} Country".strip(), "text", 100),
    ]


def _leads() -> ModuleDef:
    fields = [
        *_system(lead_like=True),
        *_person_name(),
        FieldDef("Company", "Company", "text", 200),
        FieldDef("Designation", "Title", "text", 100),
        *_reach(),
        FieldDef("Fax", "Fax", "text", 30),
        FieldDef("Website", "Website", "website", 255),
        FieldDef("Lead_Source", "Lead Source", "picklist", 120, picklist=_LEAD_SOURCES),
        FieldDef("Lead_Status", "Lead Status", "picklist", 120, picklist=_LEAD_STATUSES),
        FieldDef("Industry", "Industry", "picklist", 120, picklist=_INDUSTRIES),
        FieldDef("No_of_Employees", "No. of Employees", "integer", 9),
        FieldDef("Annual_Revenue", "Annual Revenue", "currency", 16),
        FieldDef(
            "Rating",
            "Rating",
            "picklist",
            120,
            picklist=(
                "-None-",
                "Acquired",
                "Active",
                "Market Failed",
                "Project Cancelled",
                "Shutdown",
            ),
        ),
        FieldDef("Email_Opt_Out", "Email Opt Out", "boolean", 5),
        *_address("", "Zip_Code"),
        FieldDef("Description", "Description", "textarea", 32000),
        FieldDef("External_Id", "External Id", "text", 255, unique=True, custom=True),
        FieldDef("Lead_Score", "Lead Score", "double", 16, custom=True),
    ]
    return ModuleDef("Leads", "Lead", "Leads", 2175, tuple(fields), "Email", "Full_Name")


def _contacts() -> ModuleDef:
    fields = [
        *_system(lead_like=True),
        *_person_name(),
        FieldDef("Account_Name", "Account Name", "lookup", 120, lookup_module="Accounts"),
        *_reach(),
        FieldDef("Home_Phone", "Home Phone", "phone", 30),
        FieldDef("Title", "Title", "text", 100),
        FieldDef("Department", "Department", "text", 100),
        FieldDef("Lead_Source", "Lead Source", "picklist", 120, picklist=_LEAD_SOURCES),
        FieldDef("Date_of_Birth", "Date of Birth", "date", 20),
        FieldDef("Email_Opt_Out", "Email Opt Out", "boolean", 5),
        *_address("Mailing_", "Zip"),
        FieldDef("Description", "Description", "textarea", 32000),
        FieldDef("External_Id", "External Id", "text", 255, unique=True, custom=True),
    ]
    return ModuleDef("Contacts", "Contact", "Contacts", 2177, tuple(fields), "Email", "Full_Name")


def _accounts() -> ModuleDef:
    fields = [
        *_system(lead_like=False),
        FieldDef("Account_Name", "Account Name", "text", 200, system_mandatory=True),
        FieldDef("Website", "Website", "website", 255),
        FieldDef("Phone", "Phone", "phone", 30),
        FieldDef("Fax", "Fax", "text", 30),
        FieldDef("Account_Number", "Account Number", "bigint", 40),
        FieldDef(
            "Account_Type",
            "Account Type",
            "picklist",
            120,
            picklist=(
                "-None-",
                "Analyst",
                "Competitor",
                "Customer",
                "Distributor",
                "Integrator",
                "Investor",
                "Other",
                "Partner",
                "Press",
                "Prospect",
                "Reseller",
                "Supplier",
                "Vendor",
            ),
        ),
        FieldDef("Industry", "Industry", "picklist", 120, picklist=_INDUSTRIES),
        FieldDef("Employees", "Employees", "integer", 9),
        FieldDef("Annual_Revenue", "Annual Revenue", "currency", 16),
        *_address("Billing_", "Code"),
        FieldDef("Description", "Description", "textarea", 32000),
    ]
    return ModuleDef(
        "Accounts", "Account", "Accounts", 2179, tuple(fields), "Account_Name", "Account_Name"
    )


def _deals() -> ModuleDef:
    fields = [
        *_system(lead_like=False),
        FieldDef("Deal_Name", "Deal Name", "text", 120, system_mandatory=True),
        FieldDef("Stage", "Stage", "picklist", 120, system_mandatory=True, picklist=_STAGES),
        FieldDef("Closing_Date", "Closing Date", "date", 20),
        FieldDef("Amount", "Amount", "currency", 16),
        FieldDef("Probability", "Probability (%)", "integer", 3),
        FieldDef("Expected_Revenue", "Expected Revenue", "currency", 16),
        FieldDef("Account_Name", "Account Name", "lookup", 120, lookup_module="Accounts"),
        FieldDef("Contact_Name", "Contact Name", "lookup", 120, lookup_module="Contacts"),
        FieldDef("Lead_Source", "Lead Source", "picklist", 120, picklist=_LEAD_SOURCES),
        FieldDef(
            "Type",
            "Type",
            "picklist",
            120,
            picklist=("-None-", "Existing Business", "New Business"),
        ),
        FieldDef("Description", "Description", "textarea", 32000),
    ]
    return ModuleDef("Deals", "Deal", "Deals", 2181, tuple(fields), "Deal_Name", "Deal_Name")


#: Every module of the emulated org, by API name, in the order ``/settings/modules`` lists them.
MODULES: dict[str, ModuleDef] = {
    m.api_name: m for m in (_leads(), _contacts(), _accounts(), _deals())
}

_BY_LOWER = {name.lower(): m for name, m in MODULES.items()}


def find_module(name: str) -> ModuleDef | None:
    """The module called ``name`` (Zoho matches module names in URLs case-insensitively)."""
    return _BY_LOWER.get(name.lower())


def _field_json(module: ModuleDef, index: int, f: FieldDef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "api_name": f.api_name,
        "field_label": f.label,
        "display_label": f.label,
        "data_type": f.data_type,
        "json_type": _JSON_TYPES.get(f.data_type, "string"),
        "length": f.length,
        "system_mandatory": f.system_mandatory,
        "unique": {"casesensitive": False} if f.unique else {},
        "read_only": f.read_only,
        "field_read_only": f.read_only,
        "custom_field": f.custom,
        "visible": True,
        "id": f"{ID_PREFIX}{module.number * 1000 + index:012d}",
        "pick_list_values": [
            {
                "display_value": value,
                "actual_value": value,
                "sequence_number": seq,
                "id": f"{ID_PREFIX}{module.number * 100000 + index * 100 + seq:012d}",
            }
            for seq, value in enumerate(f.picklist, start=1)
        ],
    }
    if f.data_type == "lookup" and f.lookup_module:
        target = MODULES[f.lookup_module]
        out["lookup"] = {
            "display_label": target.singular,
            "api_name": f.lookup_module,
            "module": {"api_name": target.api_name, "id": target.id},
            "id": f"{ID_PREFIX}{module.number * 1000 + index + 500:012d}",
        }
    else:
        out["lookup"] = {}
    return out


_JSON_TYPES = {
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "boolean": "boolean",
    "integer": "integer",
    "bigint": "string",
    "currency": "double",
    "double": "double",
}


@cache
def fields_json(module_name: str) -> dict[str, Any]:
    """The ``/settings/fields?module=`` answer for a module (built once)."""
    module = MODULES[module_name]
    return {"fields": [_field_json(module, i, f) for i, f in enumerate(module.fields)]}


@cache
def modules_json() -> dict[str, Any]:
    """The ``/settings/modules`` answer (built once)."""
    return {
        "modules": [
            {
                "api_name": m.api_name,
                "module_name": m.api_name,
                "singular_label": m.singular,
                "plural_label": m.plural,
                "api_supported": True,
                "generated_type": "default",
                "id": m.id,
                "creatable": True,
                "editable": True,
                "deletable": True,
                "viewable": True,
                "global_search_supported": True,
                "visible": True,
                "sequence_number": seq,
                "modified_time": None,
                "profiles": [],
            }
            for seq, m in enumerate(MODULES.values(), start=1)
        ]
    }
