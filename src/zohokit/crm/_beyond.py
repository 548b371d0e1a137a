"""The accessors that hang the calls beyond records off :class:`~zohokit.crm.ZohoCRMService`.

:class:`BeyondRecords` is a mixin of the service: ``crm.notes``, ``crm.attachments``,
``crm.files``, ``crm.related``, ``crm.tags``, ``crm.leads`` and ``crm.composite`` each build a
small part (:mod:`._part`) on the same service, in API v8 (``.at("v3")`` for another). The
parts are built on access (they hold nothing but the service), and imported then, as they
import the service's own types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._attachments import Attachments, Files
    from ._composite import Composite
    from ._convert import Leads
    from ._notes import Notes
    from ._related import Related
    from ._tags import Tags

__all__ = ["BeyondRecords"]


class BeyondRecords:
    """Notes, attachments, files, related records, tags, lead conversion and composite
    requests of one tenant's CRM (a mixin of :class:`~zohokit.crm.ZohoCRMService`)."""

    @property
    def notes(self) -> Notes:
        """Notes: list (a record's or the org's), add, update, delete."""
        from ._notes import Notes

        return Notes(self._crm())

    @property
    def attachments(self) -> Attachments:
        """A record's attachments: upload, list, download (streamed), delete."""
        from ._attachments import Attachments

        return Attachments(self._crm())

    @property
    def files(self) -> Files:
        """Zoho's file store for file-upload fields: upload, download, set on a field."""
        from ._attachments import Files

        return Files(self._crm())

    @property
    def related(self) -> Related:
        """Related lists: list, link, unlink."""
        from ._related import Related

        return Related(self._crm())

    @property
    def tags(self) -> Tags:
        """Tags: a module's, a record's, add, remove."""
        from ._tags import Tags

        return Tags(self._crm())

    @property
    def leads(self) -> Leads:
        """Lead conversion."""
        from ._convert import Leads

        return Leads(self._crm())

    @property
    def composite(self) -> Composite:
        """Composite requests: up to five calls for one credit, with rollback."""
        from ._composite import Composite

        return Composite(self._crm())

    def _crm(self) -> Any:
        return self
