"""Zoho CRM v8 for many tenants: :class:`ZohoCRMService` and its helpers.

::

    from zohokit.crm import ZohoCRMService, where

    crm = ZohoCRMService.for_client(row, client_id="acme")
    async for lead in crm.search_records("Leads", where("Email", "equals", "a@b.com")):
        ...

``zoho_crm_service`` is the seed's module-level instance for the ``default`` tenant, built
from the environment on first access (no I/O at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._seed import seed_hooks as _seed_hooks
from ._attachments import MAX_FILE_BYTES, Attachment, Attachments, Files, UploadedFile
from ._bulk import WRITE_CHUNK, BulkCallbacks, BulkJob, BulkPolicy
from ._bulk_csv import csv_cell, read_converters
from ._catalog import FieldCatalog
from ._composite import MAX_SUB_REQUESTS, Composite, CompositeResult, SubRequest, SubResult
from ._convert import ConvertedLead, LeadAlreadyConverted, Leads
from ._criteria import MAX_CONDITIONS, Criteria, escape, where
from ._fields import (
    FieldSpec,
    ModuleFields,
    Problem,
    closest,
    coerce_record,
    coerce_value,
    stale_metadata,
)
from ._notes import Note, Notes
from ._part import API_VERSIONS, CompositeRefused, CrmPart, FileTooLarge, TooManySubRequests
from ._related import Related
from ._service import BATCH_SIZE, DISCRETE_PAGING_LIMIT, CoqlResult, RecordResult, ZohoCRMService
from ._tags import Tag, Tags

__all__ = [
    "API_VERSIONS",
    "BATCH_SIZE",
    "DISCRETE_PAGING_LIMIT",
    "MAX_CONDITIONS",
    "MAX_FILE_BYTES",
    "MAX_SUB_REQUESTS",
    "WRITE_CHUNK",
    "Attachment",
    "Attachments",
    "BulkCallbacks",
    "BulkJob",
    "BulkPolicy",
    "Composite",
    "CompositeRefused",
    "CompositeResult",
    "ConvertedLead",
    "CoqlResult",
    "Criteria",
    "CrmPart",
    "FieldCatalog",
    "FieldSpec",
    "FileTooLarge",
    "Files",
    "LeadAlreadyConverted",
    "Leads",
    "ModuleFields",
    "Note",
    "Notes",
    "Problem",
    "RecordResult",
    "Related",
    "SubRequest",
    "SubResult",
    "Tag",
    "Tags",
    "TooManySubRequests",
    "UploadedFile",
    "ZohoCRMService",
    "closest",
    "coerce_record",
    "coerce_value",
    "csv_cell",
    "escape",
    "get_zoho_crm_service",
    "read_converters",
    "stale_metadata",
    "where",
    "zoho_crm_service",
]

__getattr__, get_zoho_crm_service = _seed_hooks(__name__, "zoho_crm_service", ZohoCRMService)

if TYPE_CHECKING:
    zoho_crm_service: ZohoCRMService
