"""The emulated Zoho CRM, API v2 to v8: records, search, COQL, deleted records and metadata.

:class:`CrmStore` holds the records of one emulator, :class:`CrmSchema` its modules and fields
(the standard ones or a user's schema file); :func:`crm_routes` serves both over HTTP.
"""

from ._metadata import MODULES, FieldDef, ModuleDef
from ._routes import crm_routes
from ._schema import CrmSchema, SchemaError, load_schema, schema_from_json, snapshot_document
from ._store import CrmStore
from ._versions import VERSIONS, ApiVersion

__all__ = [
    "MODULES",
    "VERSIONS",
    "ApiVersion",
    "CrmSchema",
    "CrmStore",
    "FieldDef",
    "ModuleDef",
    "SchemaError",
    "crm_routes",
    "load_schema",
    "schema_from_json",
    "snapshot_document",
]
