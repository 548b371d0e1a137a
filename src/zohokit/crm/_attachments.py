"""Attachments of a record and files for file-upload fields (``crm.attachments``,
``crm.files``).

Uploads are ``multipart/form-data`` (the ``file`` part) through the one request path; a file
larger than Zoho's 20 MB is refused with :class:`~zohokit.crm.FileTooLarge` before a byte is
sent. Downloads are streamed: an async iterator of chunks, so a large file never sits in
memory whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..errors import ZohoAPIError
from ._part import PER_PAGE, CrmPart, FileTooLarge, first_result
from ._service import RecordResult

__all__ = [
    "ATTACHMENT_FIELDS",
    "MAX_FILE_BYTES",
    "Attachment",
    "Attachments",
    "Files",
    "UploadedFile",
]

#: Zoho's limit for one attachment or one file of a file-upload field.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: The fields an attachment listing asks for.
ATTACHMENT_FIELDS = ("File_Name", "Size", "Created_Time", "Modified_Time", "Owner")

Content = bytes | Path


@dataclass(frozen=True)
class Attachment:
    """One attachment of a record: its id, file name and size in bytes."""

    id: str
    file_name: str
    size: int | None = None
    created_time: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_zoho(cls, row: Mapping[str, Any]) -> Attachment:
        """Read one element of an attachments listing."""
        size = row.get("Size")
        return cls(
            id=str(row["id"]),
            file_name=str(row.get("File_Name") or ""),
            size=int(size) if size not in (None, "") else None,
            created_time=row.get("Created_Time"),
            raw=dict(row),
        )


@dataclass(frozen=True)
class UploadedFile:
    """A file uploaded to Zoho's file store, to set on a file-upload field by its ``id``."""

    id: str
    name: str


def _read(content: Content, file_name: str | None) -> tuple[str, bytes]:
    """The name and bytes of an upload, refused if Zoho would refuse its size."""
    if isinstance(content, Path):
        size = content.stat().st_size
        name = file_name or content.name
    else:
        size = len(content)
        name = file_name or ""
    if not name:
        raise ValueError("give file_name= for an upload of bytes")
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"{name} is {size} bytes; Zoho takes at most {MAX_FILE_BYTES} (20 MB)",
            size=size,
            limit=MAX_FILE_BYTES,
        )
    return name, content.read_bytes() if isinstance(content, Path) else content


async def _stream(answer_body: Any, what: str) -> AsyncIterator[bytes]:
    """The chunks of a streamed download (closing the connection however the reader stops)."""
    if not isinstance(answer_body, httpx.Response):
        raise ZohoAPIError(f"Zoho sent no file for {what}")
    try:
        async for chunk in answer_body.aiter_bytes():
            yield chunk
    finally:
        await answer_body.aclose()


class Attachments(CrmPart):
    """Attachments of records (``crm.attachments``)."""

    async def upload(
        self, module: str, record_id: str, content: Content, *, file_name: str | None = None
    ) -> RecordResult:
        """Attach a file (bytes, or a path) to a record; the result's ``id`` is the
        attachment's. :class:`~zohokit.crm.FileTooLarge` past 20 MB, before sending."""
        name, data = _read(content, file_name)
        answer = await self._call(
            "POST",
            f"{module}/{record_id}/Attachments",
            files={"file": (name, data, "application/octet-stream")},
            record_results=True,
        )
        return first_result(answer.body)

    async def list(
        self,
        module: str,
        record_id: str,
        *,
        fields: Sequence[str] = ATTACHMENT_FIELDS,
        per_page: int = PER_PAGE,
    ) -> AsyncIterator[Attachment]:
        """A record's attachments, newest first, page after page."""
        params = {"fields": ",".join(fields), "per_page": per_page}
        async for row in self._pages(f"{module}/{record_id}/Attachments", params):
            yield Attachment.from_zoho(row)

    async def download(
        self, module: str, record_id: str, attachment_id: str
    ) -> AsyncIterator[bytes]:
        """An attachment's bytes, streamed chunk by chunk."""
        rest = f"{module}/{record_id}/Attachments/{attachment_id}"
        answer = await self._call("GET", rest, stream=True)
        async for chunk in _stream(answer.body, f"attachment {attachment_id}"):
            yield chunk

    async def delete(self, module: str, record_id: str, attachment_id: str) -> RecordResult:
        """Delete one attachment; the result says whether Zoho did."""
        answer = await self._call(
            "DELETE", f"{module}/{record_id}/Attachments/{attachment_id}", record_results=True
        )
        return first_result(answer.body)


class Files(CrmPart):
    """Zoho's file store, for file-upload fields (``crm.files``)."""

    async def upload(self, content: Content, *, file_name: str | None = None) -> UploadedFile:
        """Upload one file (bytes, or a path); set it on a field with :meth:`set_field`.
        :class:`~zohokit.crm.FileTooLarge` past 20 MB, before sending."""
        name, data = _read(content, file_name)
        answer = await self._call(
            "POST",
            "files",
            files={"file": (name, data, "application/octet-stream")},
            record_results=True,
        )
        result = first_result(answer.body)
        result.raise_for_error()
        assert result.id is not None
        return UploadedFile(result.id, str(result.details.get("name") or name))

    async def download(self, file_id: str) -> AsyncIterator[bytes]:
        """An uploaded file's bytes (a file-upload field's ``File_Id__s``), streamed."""
        answer = await self._call("GET", "files", params={"id": file_id}, stream=True)
        async for chunk in _stream(answer.body, f"file {file_id}"):
            yield chunk

    async def set_field(
        self,
        module: str,
        record_id: str,
        field_name: str,
        files: Sequence[UploadedFile | str],
    ) -> RecordResult:
        """Put uploaded files (or their ids) on a record's file-upload field."""
        ids = [f.id if isinstance(f, UploadedFile) else f for f in files]
        if not ids:
            raise ValueError("give the uploaded files to set on the field")
        [result] = await self.crm.update_records(
            module, [{"id": record_id, field_name: [{"file_id": i} for i in ids]}]
        )
        return result
