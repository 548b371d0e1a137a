"""Module and field definitions of a CRM org: the standard modules and their fields.

The standard definitions mirror a fresh Zoho CRM org (Leads, Contacts, Accounts, Deals with
their usual fields) plus one user-defined unique field, ``External_Id``, on Leads and Contacts
so that upserts can key on an identifier owned by the integrating system. A user's own modules
and fields come from a schema file (:mod:`._schema`); the metadata JSON is rendered per API
version by :mod:`._render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

#: The data types of the standard modules.
STANDARD_DATA_TYPES = frozenset(
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

#: Every data type a schema may use: the standard ones and those of custom fields.
DATA_TYPES = STANDARD_DATA_TYPES | {
    "multiselectpicklist",
    "userlookup",
    "multiselectlookup",
    "autonumber",
    "formula",
    "subform",
    "fileupload",
}

#: Data types whose values the CRM computes; a value written to them is ignored.
COMPUTED_TYPES = frozenset({"autonumber", "formula"})

#: Field names every module has, maintained by the CRM itself.
SYSTEM_FIELDS = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")


@dataclass(frozen=True)
class AutoNumber:
    """How an ``autonumber`` field numbers new records: prefix, counter, suffix."""

    prefix: str = ""
    suffix: str = ""
    start_number: int = 1


@dataclass(frozen=True)
class Formula:
    """A ``formula`` field: its return type and expression (the emulator does not evaluate it)."""

    return_type: str = "text"
    expression: str = ""


@dataclass(frozen=True)
class FieldDef:
    """One field of a module, as ``/settings/fields`` describes it.

    ``lookup_module`` is the target of a ``lookup`` or ``multiselectlookup`` field and the
    row module of a ``subform``; ``mandatory`` is a layout-level requirement (Zoho refuses a
    record without it as it does a ``system_mandatory`` one); ``field_id`` and
    ``picklist_ids`` keep the ids of a field loaded from a snapshot, so a second emulator
    serves the same metadata.
    """

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
    mandatory: bool = False
    decimal_place: int | None = None
    auto_number: AutoNumber | None = None
    formula: Formula | None = None
    field_id: str | None = None
    picklist_ids: tuple[str, ...] = ()
    #: False for a field of a type the emulator does not model (kept from a snapshot of a
    #: real org): any JSON value is stored as sent, and ``json_type`` is Zoho's.
    checked: bool = True
    given_json_type: str | None = None

    @property
    def required(self) -> bool:
        """Whether an insert must carry a value (system or layout mandatory)."""
        return self.system_mandatory or self.mandatory

    @property
    def computed(self) -> bool:
        """Whether the CRM computes the value (auto-number, formula): writes ignore it."""
        return self.read_only or self.data_type in COMPUTED_TYPES


@dataclass(frozen=True)
class ModuleDef:
    """One CRM module: names, fields, and the field Zoho checks for duplicates by default.

    ``generated_type`` is Zoho's: ``default`` for standard modules, ``custom`` for the user's,
    ``subform`` for the rows of a subform field. ``module_id`` keeps the id of a module loaded
    from a snapshot; otherwise the id derives from ``number``.
    """

    api_name: str
    singular: str
    plural: str
    number: int
    fields: tuple[FieldDef, ...]
    dedupe_field: str | None
    display_field: str
    generated_type: str = "default"
    module_id: str | None = None
    field_map: dict[str, FieldDef] = field(init=False, repr=False, compare=False)
    #: What a new record holds before its values are applied: every field unset (booleans
    #: read false, multi-select picklists an empty list, as in Zoho). Built once: inserts
    #: copy it instead of walking the fields.
    blank: dict[str, Any] = field(init=False, repr=False, compare=False)
    unique_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    mandatory_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    auto_numbered: tuple[FieldDef, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once: the write path reads these for every record.
        object.__setattr__(self, "field_map", {f.api_name: f for f in self.fields})
        object.__setattr__(
            self,
            "blank",
            {f.api_name: _unset(f) for f in self.fields if f.api_name != "id"},
        )
        # User-defined unique fields, enforced on every write (DUPLICATE_DATA).
        object.__setattr__(
            self, "unique_fields", tuple(f.api_name for f in self.fields if f.unique)
        )
        # Fields an insert must carry (MANDATORY_NOT_FOUND otherwise).
        object.__setattr__(
            self,
            "mandatory_fields",
            tuple(f.api_name for f in self.fields if f.required),
        )
        object.__setattr__(
            self, "auto_numbered", tuple(f for f in self.fields if f.auto_number is not None)
        )

    @property
    def id(self) -> str:
        """The module's id, a 19-digit string like every Zoho id."""
        return self.module_id or f"{ID_PREFIX}{self.number:012d}"

    @property
    def duplicate_check_fields(self) -> tuple[str, ...]:
        """Default upsert keys: the system dedupe field first, then the unique fields."""
        first = (self.dedupe_field,) if self.dedupe_field else ()
        return first + tuple(f for f in self.unique_fields if f != self.dedupe_field)


def _unset(f: FieldDef) -> Any:
    """What an unset field reads as (UNVERIFIED for the list types: Zoho's samples show [])."""
    if f.data_type == "boolean":
        return False
    if f.data_type in ("multiselectpicklist", "multiselectlookup", "subform", "fileupload"):
        return []
    return None


def system_fields(lead_like: bool = False) -> list[FieldDef]:
    """The fields the CRM keeps on every record (``Full_Name`` too on person modules)."""
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
_RATINGS = (
    "-None-",
    "Acquired",
    "Active",
    "Market Failed",
    "Project Cancelled",
    "Shutdown",
)
_ACCOUNT_TYPES = (
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
        *system_fields(lead_like=True),
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
        FieldDef("Rating", "Rating", "picklist", 120, picklist=_RATINGS),
        FieldDef("Email_Opt_Out", "Email Opt Out", "boolean", 5),
        *_address("", "Zip_Code"),
        FieldDef("Description", "Description", "textarea", 32000),
        FieldDef("External_Id", "External Id", "text", 255, unique=True, custom=True),
        FieldDef("Lead_Score", "Lead Score", "double", 16, custom=True),
    ]
    return ModuleDef("Leads", "Lead", "Leads", 2175, tuple(fields), "Email", "Full_Name")


def _contacts() -> ModuleDef:
    fields = [
        *system_fields(lead_like=True),
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
        *system_fields(lead_like=False),
        FieldDef("Account_Name", "Account Name", "text", 200, system_mandatory=True),
        FieldDef("Website", "Website", "website", 255),
        FieldDef("Phone", "Phone", "phone", 30),
        FieldDef("Fax", "Fax", "text", 30),
        FieldDef("Account_Number", "Account Number", "bigint", 40),
        FieldDef("Account_Type", "Account Type", "picklist", 120, picklist=_ACCOUNT_TYPES),
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
        *system_fields(lead_like=False),
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


#: The standard modules of a fresh org, by API name, in the order ``/settings/modules`` lists them.
def _standard() -> tuple[ModuleDef, ...]:
    from ._activities import events_module  # it builds on the helpers above

    return (_leads(), _contacts(), _accounts(), _deals(), events_module())


MODULES: dict[str, ModuleDef] = {m.api_name: m for m in _standard()}
