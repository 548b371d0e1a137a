"""Attachments (``/{module}/{id}/Attachments``) and uploaded files (``/files``, for
file-upload fields).

An upload is ``multipart/form-data`` with the file in the ``file`` part (``/files`` takes up to
10 of them). Zoho refuses a file over 20 MB (https://www.zoho.com/crm/developer/docs/api/v8/upload-attachment.html,
https://www.zoho.com/crm/developer/docs/api/v8/upload-files-to-zfs.html); the error code it
sends is UNVERIFIED (the emulator answers ``FILE_SIZE_MORE_THAN_ALLOWED``). Downloads answer
the bytes as ``application/octet-stream`` with the file name in ``Content-Disposition``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from .._core import iso
from .._errors import ApiError
from ._beyond import (
    BOOKKEEPING_FIELDS,
    Attachment,
    StoredFile,
    failure,
    page_answer,
    parent_of,
    picked,
    stamp,
    success,
    wants_fields,
)
from ._params import Handlers, missing_param, required_list, write_answer

#: Zoho's size limit for one attachment or uploaded file.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Files one ``/files`` upload may carry.
MAX_FILES = 10
ATTACHMENT_FIELDS = BOOKKEEPING_FIELDS | {"File_Name", "Size", "$file_id"}


class AttachmentHandlers(Handlers):
    """The attachment and file routes. ``max_bytes`` is Zoho's size limit (tests lower it)."""

    max_bytes = MAX_FILE_BYTES

    async def _uploads(self, request: Request, most: int) -> list[tuple[str, bytes]]:
        """The ``file`` parts of a multipart body, each checked against the size limit."""
        if "multipart/form-data" not in request.headers.get("content-type", ""):
            raise ApiError(
                "INVALID_REQUEST",
                "the request is not multipart/form-data",
                details={"content_type": request.headers.get("content-type")},
            )
        async with request.form(max_files=most + 1) as form:
            files = [v for v in form.getlist("file") if isinstance(v, UploadFile)]
            if not files:
                raise missing_param("file")
            if len(files) > most:
                raise ApiError("LIMIT_EXCEEDED", "too many files", details={"limit": most})
            out = []
            for upload in files:
                content = await upload.read()
                if len(content) > self.max_bytes:
                    raise ApiError(
                        "FILE_SIZE_MORE_THAN_ALLOWED",
                        "the file is larger than Zoho allows",
                        details={"maximum_size": self.max_bytes, "file_name": upload.filename},
                    )
                out.append((upload.filename or "file", content))
        return out

    async def collection(self, request: Request) -> Response:
        """A record's attachments: list, upload one, delete many (``ids``)."""
        params = request.path_params
        state, rec = parent_of(self.store, params["module"], params["record_id"])
        module = state.definition.api_name
        beyond = self.store.beyond
        if request.method == "GET":
            fields = wants_fields(request, ATTACHMENT_FIELDS)
            mine = [
                a
                for a in beyond.attachments.values()
                if (a.module, a.parent_id) == (module, rec.id)
            ]
            mine.sort(key=lambda a: int(a.id), reverse=True)
            name = rec.data.get(state.definition.display_field)
            return page_answer(request, [picked(_row(a, name), fields) for a in mine])
        if request.method == "DELETE":
            ids = required_list(request, "ids")
            return write_answer([self._delete(module, rec.id, i) for i in ids], 200)
        [(file_name, content)] = await self._uploads(request, 1)
        now = int(self.emu.clock.now())
        owner = self.store.api_user()
        att = Attachment(self.store._new_id(), module, rec.id, file_name, content, now, owner)
        beyond.attachments[att.id] = att
        self.emu.journal.changed("attachment", att.id, att)
        details = {**stamp(self.store, now, now, owner), "id": att.id}
        return write_answer([success("attachment uploaded successfully", details)], 200)

    async def one(self, request: Request) -> Response:
        """Download (``GET``) or delete one attachment."""
        params = request.path_params
        state, rec = parent_of(self.store, params["module"], params["record_id"])
        module = state.definition.api_name
        if request.method == "DELETE":
            return write_answer([self._delete(module, rec.id, params["attachment_id"])], 200)
        att = self.store.beyond.attachments.get(params["attachment_id"])
        if att is None or (att.module, att.parent_id) != (module, rec.id):
            raise ApiError(
                "INVALID_DATA",
                "the attachment id given seems to be invalid",
                details={"resource_path_index": 3},
            )
        return _download(att.file_name, att.content)

    def _delete(self, module: str, parent_id: str, att_id: str) -> dict[str, Any]:
        beyond = self.store.beyond
        att = beyond.attachments.get(att_id)
        if att is None or (att.module, att.parent_id) != (module, parent_id):
            return failure(
                "INVALID_DATA", "the attachment id given seems to be invalid", {"id": att_id}
            )
        del beyond.attachments[att_id]
        self.emu.journal.removed("attachment", att_id)
        return success("record deleted", {"id": att_id})

    async def files(self, request: Request) -> Response:
        """``/files``: upload up to 10 files (``POST``) or download one (``GET ?id=``)."""
        beyond = self.store.beyond
        if request.method == "GET":
            file_id = request.query_params.get("id")
            if not file_id:
                raise missing_param("id")
            stored = beyond.files.get(file_id)
            if stored is None:
                raise ApiError(
                    "INVALID_DATA",
                    "the file id given seems to be invalid",
                    details={"param_name": "id"},
                )
            return _download(stored.name, stored.content)
        results = []
        for name, content in await self._uploads(request, MAX_FILES):
            serial = self.store._new_id()
            # Zoho's file ids are long opaque strings, not record ids.
            file_id = hashlib.sha256(f"{serial}:{name}".encode()).hexdigest()
            stored = StoredFile(file_id, name, content, int(self.emu.clock.now()))
            beyond.files[file_id] = stored
            self.emu.journal.changed("file", file_id, stored)
            results.append(success("file uploaded.", {"name": name, "id": file_id}))
        return write_answer(results, 200)


def _row(att: Attachment, parent_name: Any) -> dict[str, Any]:
    who = {"name": att.owner.get("name"), "id": att.owner.get("id")}
    return {
        "id": att.id,
        "File_Name": att.file_name,
        "Size": str(len(att.content)),
        "Parent_Id": {"name": parent_name, "id": att.parent_id},
        "Owner": dict(att.owner),
        "Created_Time": iso(att.created),
        "Modified_Time": iso(att.created),
        "Created_By": who,
        "Modified_By": who,
        "$file_id": hashlib.sha256(att.id.encode()).hexdigest()[:40],
    }


def _download(name: str, content: bytes) -> Response:
    safe = name.replace('"', "")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment;filename="{safe}"'},
    )
