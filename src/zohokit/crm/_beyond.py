"""The accessors that hang the calls beyond records off :class:`~zohokit.crm.ZohoCRMService`.

:class:`BeyondRecords` is a mixin of the service: ``crm.notes``, ``crm.attachments``,
``crm.files``, ``crm.related``, ``crm.tags``, ``crm.leads`` and ``crm.composite`` each build a
small part (:mod:`._part`) on the same service, in API v8 (``.at("v3")`` for another). A part
holds nothing but the service, so it is built on each access; its module is imported then, as
it imports the service's own types.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

if TYPE_CHECKING:  # the part classes, named as strings below (ruff cannot see that use)
    from ._attachments import Attachments, Files  # noqa: F401
    from ._composite import Composite  # noqa: F401
    from ._convert import Leads  # noqa: F401
    from ._notes import Notes  # noqa: F401
    from ._related import Related  # noqa: F401
    from ._tags import Tags  # noqa: F401

__all__ = ["BeyondRecords"]

P = TypeVar("P")


class _Part(Generic[P]):
    """A part of the CRM: the class ``name`` of the module ``module``, built on the service."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    @overload
    def __get__(self, crm: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, crm: object, owner: type[Any]) -> P: ...
    def __get__(self, crm: object | None, owner: type[Any]) -> Any:
        # A string type argument (``_Part["Notes"]``) keeps the part modules out of the
        # import of the service, and out of what typing.get_type_hints must resolve.
        if crm is None:
            return self
        part = getattr(importlib.import_module(self.module, __package__), self.name)
        return part(crm)


class BeyondRecords:
    """Notes, attachments, files, related records, tags, lead conversion and composite
    requests of one tenant's CRM (a mixin of :class:`~zohokit.crm.ZohoCRMService`)."""

    #: Notes: list (a record's or the org's), add, update, delete.
    notes = _Part["Notes"]("._notes", "Notes")
    #: A record's attachments: upload, list, download (streamed), delete.
    attachments = _Part["Attachments"]("._attachments", "Attachments")
    #: Zoho's file store for file-upload fields: upload, download, set on a field.
    files = _Part["Files"]("._attachments", "Files")
    #: Related lists: list, link, unlink.
    related = _Part["Related"]("._related", "Related")
    #: Tags: a module's, a record's, add, remove.
    tags = _Part["Tags"]("._tags", "Tags")
    #: Lead conversion.
    leads = _Part["Leads"]("._convert", "Leads")
    #: Composite requests: up to five calls for one credit, with rollback.
    composite = _Part["Composite"]("._composite", "Composite")
