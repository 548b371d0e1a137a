"""The emulated Zoho CRM v8: records, search, COQL, deleted records and metadata.

:class:`CrmStore` holds the state of one emulator; :func:`crm_routes` serves it over HTTP.
"""

from ._metadata import MODULES, FieldDef, ModuleDef
from ._routes import crm_routes
from ._store import CrmStore

__all__ = ["MODULES", "CrmStore", "FieldDef", "ModuleDef", "crm_routes"]
