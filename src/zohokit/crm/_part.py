"""What the CRM calls beyond records share: :class:`CrmPart`, and the errors they raise
before sending anything.

Each part (notes, attachments, files, related records, tags, lead conversion, composite
requests) hangs off :class:`~zohokit.crm.ZohoCRMService` as a small object, as stripe's
services hang off its client (``crm.notes.add(...)``). A part speaks API v8 unless asked for
another version with :meth:`CrmPart.at` (``crm.notes.at("v2")``), and then writes each call
in that version's form (v2 tags in the query, v3 tags in the body, ...). Every call goes
through the service's one request path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Self, Unpack

from ..errors import WriteRefused
from ..http import ZohoResponse
from ..http._client import RequestOptions

if TYPE_CHECKING:
    from ._service import RecordResult, ZohoCRMService

__all__ = [
    "API_VERSIONS",
    "CompositeRefused",
    "CrmPart",
    "FileTooLarge",
    "TooManySubRequests",
    "first_result",
]

#: The CRM API versions a part can speak, oldest first.
API_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
#: Get a related list, notes or attachments 200 at a time (Zoho's most).
PER_PAGE = 200


class FileTooLarge(WriteRefused, ValueError):
    """A file is larger than Zoho takes (20 MB for an attachment or a file-upload field):
    refused before it is sent. ``size`` and ``limit`` are in bytes."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class CompositeRefused(WriteRefused, ValueError):
    """A composite request Zoho would refuse, refused before it is sent (for example
    ``rollback_on_fail`` with ``parallel_execution``, or a version before v3)."""


class TooManySubRequests(CompositeRefused):
    """A composite request carries more than Zoho's five sub-requests; ``count`` says how many."""

    def __init__(self, message: str, *, count: int) -> None:
        super().__init__(message)
        self.count = count


class CrmPart:
    """One group of CRM calls for one tenant, in one API version (v8 unless :meth:`at`)."""

    def __init__(self, crm: ZohoCRMService, version: str = "v8") -> None:
        if version not in API_VERSIONS:
            raise ValueError(f"unknown Zoho CRM API version {version!r}: use one of {API_VERSIONS}")
        self.crm = crm
        self.version = version

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self.crm.tenant!r}, version={self.version!r})"

    def at(self, version: str) -> Self:
        """The same calls in API ``version`` (``v2`` .. ``v8``)."""
        return type(self)(self.crm, version)

    def since(self, major: int) -> bool:
        """Whether this part speaks version ``major`` or later."""
        number = self.version[1:].split(".")
        return int(number[0]) >= major

    def path(self, rest: str) -> str:
        """The URL path of ``rest`` (``Leads/1/Notes``) in this part's version."""
        return f"/crm/{self.version}/{rest.lstrip('/')}"

    async def _call(
        self, method: str, rest: str, **options: Unpack[RequestOptions]
    ) -> ZohoResponse:
        """One call through the service's request path."""
        return await self.crm._call(method, self.path(rest), **options)

    def _pages(
        self, rest: str, params: Mapping[str, Any], *, key: str = "data"
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (``page`` 1, 2, ... while Zoho says ``more_records``)."""
        return self.crm._pages(self.path(rest), params, key=key)


def first_result(body: Any) -> RecordResult:
    """The one per-item result of an answer's ``data`` (a note, a relation, an attachment)."""
    from ._service import RecordResult

    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not data:
        return RecordResult(0, False, "NO_ANSWER", "Zoho answered no result")
    return RecordResult.from_zoho(0, data[0])
