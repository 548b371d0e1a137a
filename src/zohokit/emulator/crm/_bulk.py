"""Zoho CRM's Bulk Read and Bulk Write APIs: jobs that move through Zoho's states over time.

Bulk Read (``POST /crm/bulk/{v}/read``) exports up to 200,000 records per job page as a
zipped CSV; Bulk Write takes a zipped CSV uploaded to ``/crm/{v}/upload`` (headers
``X-CRM-ORG`` and ``feature: bulk-write``, at most 25,000 rows) and a job
(``POST /crm/bulk/{v}/write``) that inserts, updates or upserts its rows, then serves a result
file with a ``STATUS``, ``RECORD_ID`` and ``ERRORS`` column per row. Sources:
https://www.zoho.com/crm/developer/docs/api/v8/bulk-read/overview.html ,
https://zoho.com/crm/developer/docs/api/v2/bulk-read/job-details.html ,
https://zoho.com/crm/developer/docs/api/v2/bulk-read/download-result.html ,
https://zoho.com/crm/developer/docs/api/v2.1/bulk-write/upload-file.html ,
https://www.zoho.com/crm/developer/docs/api/bulk-write/download-result.html and the
``zoho/crm-oas`` file ``v8.0/bulk_read.json``.

A job's state is a function of the emulator's clock: ``ADDED`` when created, ``QUEUED``
after :attr:`BulkJobs.queued_after` seconds, ``IN PROGRESS`` after
:attr:`BulkJobs.started_after`, done once its records are processed at
:attr:`BulkJobs.records_per_second`. A job does its work when it is first seen done (any CRM
request settles the due jobs first), so the records a bulk write creates are in the store
before the next records API call reads it. A job may be made to fail
(``POST /_emulator/bulk {"fail_next": {"read": 1}}``); its callback URL is told either way.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._core import iso, zoho_json
from .._errors import ApiError, authenticated, invalid_url
from ._metadata import ORG_ZGID, FieldDef, ModuleDef
from ._values import comparable, literal
from ._versions import VERSIONS

if TYPE_CHECKING:
    from .._core import Emulator
    from ._store import ModuleState, Record

log = logging.getLogger(__name__)

#: Records per Bulk Read job page (Zoho: 200,000).
READ_PAGE_SIZE = 200_000
#: Rows one uploaded Bulk Write CSV may hold (Zoho: 25,000 for Leads, Contacts and most).
WRITE_MAX_ROWS = 25_000
#: Largest upload taken (Zoho's upload page names a size limit; 25 MB is UNVERIFIED).
UPLOAD_MAX_BYTES = 25 * 1024 * 1024
_STATUS_COLUMNS = ("STATUS", "RECORD_ID", "ERRORS")
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})
_COMPARATORS = frozenset(
    {
        "equal",
        "not_equal",
        "in",
        "not_in",
        "less_than",
        "less_equal",
        "greater_than",
        "greater_equal",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "between",
        "not_between",
    }
)


@dataclass
class BulkJob:
    """One Bulk Read or Bulk Write job and what it produced."""

    id: str
    kind: str  # "read" or "write"
    module: ModuleDef
    created: float
    done_at: float
    callback: dict[str, Any] | None
    request: dict[str, Any]
    fail: bool = False
    settled: bool = False
    result_zip: bytes = b""
    result: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Upload:
    """A zip uploaded for Bulk Write, by ``file_id``."""

    id: str
    name: str
    content: bytes
    created: float


class BulkJobs:
    """Every bulk job and upload of one emulator's CRM (lives on the store, so a reset
    forgets them). Tests may shorten the timings, lower :attr:`page_size`, set
    :attr:`callback_transport` (where callbacks are sent) or read :attr:`callbacks`."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.jobs: dict[str, BulkJob] = {}
        self.uploads: dict[str, Upload] = {}
        self.queued_after = 1.0
        self.started_after = 2.0
        self.records_per_second = 50_000.0
        self.page_size = READ_PAGE_SIZE
        self.max_rows = WRITE_MAX_ROWS
        self.max_upload_bytes = UPLOAD_MAX_BYTES
        self.fail_next: dict[str, int] = {"read": 0, "write": 0}
        self.callback_transport: httpx.AsyncBaseTransport | None = None
        #: Every callback sent: (url, body, HTTP status or the error's name).
        self.callbacks: list[tuple[str, dict[str, Any], int | str]] = []
        self._ids = itertools.count(emu.rng("bulk-ids").randrange(10**6) + 554_000)
        self._tasks: set[asyncio.Task[None]] = set()

    def _new_id(self) -> str:
        return f"5725767000{next(self._ids):09d}"

    # ------------------------------------------------------------------ time and states

    def state(self, job: BulkJob) -> str:
        """The job's state at the emulator's current time."""
        now = self.emu.clock.now()
        if now >= job.done_at:
            if job.fail:
                return "FAILURE" if job.kind == "read" else "FAILED"
            return "COMPLETED"
        if now >= job.created + self.started_after:
            return "IN PROGRESS"
        if job.kind == "read" and now >= job.created + self.queued_after:
            return "QUEUED"
        return "ADDED"

    def _duration(self, records: int) -> float:
        return self.started_after + max(1.0, records / self.records_per_second)

    def settle(self) -> None:
        """Do the work of every job that is due and not yet done (oldest first)."""
        now = self.emu.clock.now()
        for job in list(self.jobs.values()):
            if job.settled or now < job.done_at:
                continue
            job.settled = True
            if not job.fail:
                if job.kind == "read":
                    self._run_read(job)
                else:
                    self._run_write(job)
            self.emu.stats.incr(f"bulk_{job.kind}_jobs_{'failed' if job.fail else 'completed'}")
            if job.callback:
                self._notify(job)

    def _start(
        self,
        job_id: str,
        kind: str,
        mod: ModuleDef,
        records: int,
        callback: dict[str, Any] | None,
        request: dict[str, Any],
    ) -> BulkJob:
        """A new job over ``records`` records, done when they would take (failing if a fault
        of its kind is queued)."""
        now = self.emu.clock.now()
        job = BulkJob(
            job_id,
            kind,
            mod,
            now,
            now + self._duration(records),
            callback,
            request,
            fail=self._take_fault(kind),
        )
        self._add(job)
        return job

    def _add(self, job: BulkJob) -> None:
        self.jobs[job.id] = job
        if job.callback:
            # Zoho calls back on its own when the job ends: watch the clock for it.
            self._spawn(self._watch(job))

    async def _watch(self, job: BulkJob) -> None:
        while not job.settled:
            remaining = job.done_at - self.emu.clock.now()
            if remaining <= 0:
                self.settle()
                return
            await asyncio.sleep(min(0.05, remaining))  # short: a test may move the clock

    def _spawn(self, work: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return  # outside a server (a test calling a method directly): nobody to run it
        task = loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_fault(self, kind: str) -> bool:
        if self.fail_next.get(kind, 0) > 0:
            self.fail_next[kind] -= 1
            return True
        return False

    # ------------------------------------------------------------------ callbacks

    def _notify(self, job: BulkJob) -> None:
        assert job.callback is not None
        self._spawn(self._send(str(job.callback.get("url")), self.describe(job)))

    async def _send(self, url: str, body: dict[str, Any]) -> None:
        outcome: int | str
        try:
            async with httpx.AsyncClient(transport=self.callback_transport, timeout=10) as client:
                answer = await client.post(url, json=body)
            outcome = answer.status_code
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        self.callbacks.append((url, body, outcome))
        self.emu.stats.incr("bulk_callbacks_sent")

    async def drain(self) -> None:
        """Wait for the callbacks in flight (tests, before they look at what arrived)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    # ------------------------------------------------------------------ rendering

    def describe(self, job: BulkJob) -> dict[str, Any]:
        """The job as ``GET /crm/bulk/{v}/{kind}/{id}`` shows it (and its callback posts)."""
        state = self.state(job)
        user = self.emu.crm.api_user()
        creator = {"id": user["id"], "name": user["name"]}
        if job.kind == "read":
            out: dict[str, Any] = {
                "id": job.id,
                "operation": "read",
                "state": state,
                "query": job.request.get("query"),
                "created_by": creator,
                "created_time": iso(job.created),
                "file_type": "csv",
            }
            if job.callback:
                out["callback"] = job.callback
            if state == "COMPLETED":
                out["result"] = job.result
            return out
        resource = dict(job.request["resource"][0])
        resource["status"] = state
        resource["module"] = {"api_name": job.module.api_name, "id": job.module.id}
        if state in ("COMPLETED", "FAILED"):
            resource["file"] = {
                "status": state,
                "name": self.uploads[str(resource["file_id"])].name,
                "added_count": job.counts.get("added", 0),
                "skipped_count": job.counts.get("skipped", 0),
                "updated_count": job.counts.get("updated", 0),
                "total_count": job.counts.get("total", 0),
            }
        out = {
            "status": state,
            "character_encoding": "UTF-8",
            "resource": [resource],
            "id": job.id,
            "created_by": creator,
            "operation": job.request["operation"],
            "created_time": iso(job.created),
        }
        if job.callback:
            out["callback"] = job.callback
        if state == "COMPLETED":
            out["result"] = {"download_url": self.download_url(job)}
        return out

    def download_url(self, job: BulkJob) -> str:
        """Where a job's result zip is served (for Bulk Write Zoho gives an absolute URL)."""
        return f"{self.emu.base_url}/crm/bulk/v8/{job.kind}/{job.id}/result"

    # ------------------------------------------------------------------ bulk read

    def _module(self, ref: Any, path: str) -> ModuleDef:
        """The module a request names (``{"api_name": ...}`` or the bare name)."""
        name = ref.get("api_name") if isinstance(ref, dict) else ref
        mod = self.emu.schema.find(str(name)) if name else None
        if mod is None:
            raise ApiError(
                "INVALID_DATA",
                "the module name given seems to be invalid",
                details={"api_name": "module", "json_path": path},
            )
        return mod

    def create_read(self, body: dict[str, Any]) -> BulkJob:
        """Check a Bulk Read request in Zoho's order and add its job."""
        query = body.get("query")
        if not isinstance(query, dict):
            raise ApiError("REQUIRED_PARAM_MISSING", "query is missing", details={"param": "query"})
        mod = self._module(query.get("module"), "$.query.module")
        fields = query.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise ApiError("INVALID_DATA", "invalid data", details={"api_name": "fields"})
            for name in fields:
                f = mod.field_map.get(name)
                if f is None and name != "id":
                    raise ApiError(
                        "INVALID_DATA",
                        "the field api name given seems to be invalid",
                        details={"api_name": name, "json_path": "$.query.fields"},
                    )
                if f is not None and f.data_type in ("subform", "multiselectlookup"):
                    raise ApiError(
                        "FIELD_NOT_SUPPORTED",
                        "the field is not supported for bulk read",
                        details={"api_name": name},
                    )
        page = query.get("page", 1)
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise ApiError("INVALID_DATA", "invalid data", details={"api_name": "page"})
        criteria = query.get("criteria")
        if criteria is not None:
            _check_criteria(mod, criteria)
        callback = _callback_of(body)
        records = min(len(self.emu.crm.state(mod.api_name).records), self.page_size)
        return self._start(self._new_id(), "read", mod, records, callback, body)

    def _run_read(self, job: BulkJob) -> None:
        query = job.request["query"]
        mod = job.module
        state = self.emu.crm.state(mod.api_name)
        criteria = query.get("criteria")
        records: Iterator[Record] = iter(list(state.records.values()))  # id order
        if criteria is not None:
            test = _matcher(mod, criteria)
            records = (r for r in records if test(r))
        page = int(query.get("page", 1))
        skip = (page - 1) * self.page_size
        chosen = list(itertools.islice(records, skip, skip + self.page_size + 1))
        more = len(chosen) > self.page_size
        chosen = chosen[: self.page_size]
        names = query.get("fields") or [
            f.api_name for f in mod.fields if f.data_type not in ("subform", "multiselectlookup")
        ]
        columns = ["Id", *(n for n in names if n != "id")]
        defs = [mod.field_map.get(n) for n in columns[1:]]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        render = [_renderer(f) for f in defs]
        for rec in chosen:
            data = rec.data
            writer.writerow(
                [rec.id, *(r(data.get(n)) for r, n in zip(render, columns[1:], strict=True))]
            )
        job.result_zip = _zipped(f"{job.id}.csv", text.getvalue())
        job.result = {
            "page": page,
            "count": len(chosen),
            "download_url": f"/crm/bulk/v8/read/{job.id}/result",
            "per_page": self.page_size,
            "more_records": more,
        }

    # ------------------------------------------------------------------ bulk write

    def upload(self, request_headers: Any, name: str, content: bytes) -> Upload:
        """Keep an uploaded zip (checked for the headers, size, form and row limit)."""
        if request_headers.get("feature") != "bulk-write":
            raise ApiError(
                "REQUIRED_PARAM_MISSING",
                "feature header is missing",
                details={"param_name": "feature"},
            )
        if request_headers.get("x-crm-org") != ORG_ZGID:
            raise ApiError(
                "INVALID_ORG", "the X-CRM-ORG header is missing or wrong", 400, {"param": "zgid"}
            )
        if len(content) > self.max_upload_bytes:
            raise ApiError(
                "FILE_SIZE_EXCEEDED",
                "the file is larger than the upload limit",
                details={"limit": self.max_upload_bytes},
            )
        try:
            rows = _csv_rows(content)
        except ValueError as exc:
            raise ApiError("INVALID_FILE_FORMAT", str(exc)) from None
        if len(rows) - 1 > self.max_rows:
            raise ApiError(
                "LIMIT_EXCEEDED",
                f"the file has more than {self.max_rows} records",
                details={"limit": self.max_rows},
            )
        upload = Upload(self._new_id(), name, content, self.emu.clock.now())
        self.uploads[upload.id] = upload
        return upload

    def create_write(self, body: dict[str, Any]) -> BulkJob:
        """Check a Bulk Write request and add its job."""
        operation = body.get("operation")
        if operation not in ("insert", "update", "upsert"):
            raise ApiError(
                "INVALID_DATA",
                "invalid data",
                details={
                    "api_name": "operation",
                    "supported_values": ["insert", "update", "upsert"],
                },
            )
        resources = body.get("resource")
        if not isinstance(resources, list) or len(resources) != 1:
            raise ApiError("INVALID_DATA", "invalid data", details={"api_name": "resource"})
        resource = resources[0]
        if not isinstance(resource, dict):
            raise ApiError("INVALID_DATA", "invalid data", details={"api_name": "resource"})
        mod = self._module(resource.get("module"), "$.resource[0].module")
        upload = self.uploads.get(str(resource.get("file_id")))
        if upload is None:
            raise ApiError("INVALID_DATA", "invalid file id", details={"api_name": "file_id"})
        find_by = resource.get("find_by")
        if operation != "insert":
            usable = ("id", *mod.duplicate_check_fields)
            if find_by not in usable:
                raise ApiError(
                    "INVALID_DATA" if find_by else "MANDATORY_NOT_FOUND",
                    "find_by must be id or a unique field",
                    details={"api_name": "find_by", "supported_values": list(usable)},
                )
        header = _csv_rows(upload.content)[0]
        mappings = resource.get("field_mappings")
        if mappings is None:
            mappings = [{"api_name": col, "index": i} for i, col in enumerate(header)]
        for m in mappings:
            api = m.get("api_name") if isinstance(m, dict) else None
            index = m.get("index") if isinstance(m, dict) else None
            if (api not in mod.field_map and api != "id") or not isinstance(index, int):
                raise ApiError(
                    "INVALID_DATA",
                    "the field api name given seems to be invalid",
                    details={"api_name": api, "json_path": "$.resource[0].field_mappings"},
                )
            if not 0 <= index < len(header):
                raise ApiError("INVALID_DATA", "invalid column index", details={"index": index})
        resource = {**resource, "field_mappings": mappings}
        body = {**body, "resource": [resource]}
        rows = len(_csv_rows(upload.content)) - 1
        # The id is drawn before the callback is checked: a refused callback uses one up.
        return self._start(self._new_id(), "write", mod, rows, _callback_of(body), body)

    def _run_write(self, job: BulkJob) -> None:
        store = self.emu.crm
        state = store.state(job.module.api_name)
        resource = job.request["resource"][0]
        operation = job.request["operation"]
        ignore_empty = bool(job.request.get("ignore_empty", False))
        find_by = resource.get("find_by")
        mappings = [(str(m["api_name"]), int(m["index"])) for m in resource["field_mappings"]]
        header, *rows = _csv_rows(self.uploads[str(resource["file_id"])].content)
        column_of = {api: header[i] for api, i in mappings}
        parse = {api: _parser(job.module.field_map.get(api)) for api, _ in mappings}
        actor = store.api_user()
        echoed = [header[i] for _, i in mappings[:3]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*echoed, *_STATUS_COLUMNS])
        counts = {"added": 0, "updated": 0, "skipped": 0, "total": len(rows)}
        for n, row in enumerate(rows):
            raw: dict[str, Any] = {}
            for api, i in mappings:
                cell = row[i] if i < len(row) else ""
                if cell == "" and ignore_empty:
                    continue
                raw[api] = parse[api](cell)
            result = self._write_one(state, operation, find_by, raw, n, actor)
            status, record_id = "SKIPPED", ""
            errors = ""
            if result["status"] == "success":
                record_id = str(result["details"]["id"])
                status = "ADDED" if result.get("action", "insert") == "insert" else "UPDATED"
                if operation == "update":
                    status = "UPDATED"
                counts["added" if status == "ADDED" else "updated"] += 1
            else:
                counts["skipped"] += 1
                api = str((result.get("details") or {}).get("api_name") or "")
                errors = f"{result['code']}-{column_of.get(api, api)}".rstrip("-")
            writer.writerow(
                [
                    *(row[i] if i < len(row) else "" for _, i in mappings[:3]),
                    status,
                    record_id,
                    errors,
                ]
            )
        job.counts = counts
        job.result_zip = _zipped(f"{job.module.api_name}-bulkwrite.csv", out.getvalue())

    def _write_one(
        self,
        state: ModuleState,
        operation: str,
        find_by: str | None,
        raw: dict[str, Any],
        index: int,
        actor: dict[str, Any],
    ) -> dict[str, Any]:
        store = self.emu.crm
        if operation == "insert":
            result = store.insert(state, raw, index, actor)
            result["action"] = "insert"
            return result
        assert find_by is not None
        target: str | None = None
        if find_by == "id":
            target = str(raw.pop("id", "") or "") or None
            target = target if target in state.records else None
        else:
            key = str(raw.get(find_by) or "").strip().lower()
            holders = state.indexes[find_by].get(key, []) if key else []
            target = holders[0] if holders else None
        if target is not None:
            result = store.update(state, target, raw, index, actor)
            result["action"] = "update"
            return result
        if operation == "update":
            return {
                "code": "RESOURCE_NOT_FOUND",
                "details": {"api_name": find_by},
                "message": "no record matches find_by",
                "status": "error",
            }
        result = store.insert(state, raw, index, actor)
        result["action"] = "insert"
        return result


# ---------------------------------------------------------------------- helpers


def _callback_of(body: dict[str, Any]) -> dict[str, Any] | None:
    callback = body.get("callback")
    if callback is None:
        return None
    url = callback.get("url") if isinstance(callback, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ApiError("INVALID_DATA", "invalid callback url", details={"api_name": "callback"})
    if str(callback.get("method", "post")).lower() != "post":
        raise ApiError(
            "INVALID_DATA", "callback method must be post", details={"api_name": "method"}
        )
    return {"url": url, "method": "post"}


def _zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def _csv_rows(content: bytes) -> list[list[str]]:
    """The rows of the one CSV file in an uploaded zip (header first)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise ValueError("the zip must hold exactly one CSV file")
            text = archive.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile:
        raise ValueError("the file is not a zip") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0]:
        raise ValueError("the CSV file has no header row")
    return rows


def _renderer(f: FieldDef | None) -> Callable[[Any], str]:
    """How a stored value is written in Bulk Read's CSV: lookups as their id, multi-select
    values joined with ``;``, booleans ``true``/``false``, nothing as an empty cell."""
    kind = f.data_type if f is not None else "text"

    def render(value: Any) -> str:
        if value is None:
            return ""
        if kind in _LOOKUPS:
            return str(value.get("id", "")) if isinstance(value, dict) else str(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(str(v.get("id") if isinstance(v, dict) else v) for v in value)
        return str(value)

    return render


def _parser(f: FieldDef | None) -> Callable[[str], Any]:
    """How a Bulk Write CSV cell becomes the value a records API write would carry."""
    kind = f.data_type if f is not None else "text"

    def parse(cell: str) -> Any:
        if cell == "":
            return [] if kind == "multiselectpicklist" else None
        if kind in _LOOKUPS:
            return {"id": cell}
        if kind == "boolean":
            low = cell.strip().lower()
            return True if low == "true" else False if low == "false" else cell
        if kind == "multiselectpicklist":
            return [part for part in cell.split(";") if part]
        return cell  # numbers as digit strings: the store parses them as Zoho does

    return parse


def _check_criteria(mod: ModuleDef, node: Any) -> None:
    if not isinstance(node, dict):
        raise ApiError("INVALID_CRITERIA", "invalid criteria", details={"criteria": node})
    if "group" in node:
        group = node.get("group")
        if node.get("group_operator") not in ("and", "or") or not isinstance(group, list):
            raise ApiError("INVALID_CRITERIA", "invalid criteria", details={"criteria": node})
        for child in group:
            _check_criteria(mod, child)
        return
    ref = node.get("field")
    name = ref.get("api_name") if isinstance(ref, dict) else None
    if name not in mod.field_map:
        raise ApiError(
            "FIELD_IN_CRITERIA_NOT_AVAILABLE",
            "the field in the criteria is not available",
            details={"api_name": name},
        )
    if node.get("comparator") not in _COMPARATORS:
        raise ApiError(
            "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
            "the comparator is not supported",
            details={"api_name": name, "comparator": node.get("comparator")},
        )


def _matcher(mod: ModuleDef, node: dict[str, Any]) -> Callable[[Record], bool]:
    """A predicate over records for one Bulk Read criteria node (groups nest)."""
    if "group" in node:
        tests = [_matcher(mod, child) for child in node["group"]]
        if node["group_operator"] == "and":
            return lambda rec: all(t(rec) for t in tests)
        return lambda rec: any(t(rec) for t in tests)
    f = mod.field_map[node["field"]["api_name"]]
    op = node["comparator"]
    raw = node.get("value")
    values = raw if isinstance(raw, list) else [raw]
    try:
        wanted = [literal(f, str(v).lower() if isinstance(v, bool) else str(v)) for v in values]
    except ValueError:
        raise ApiError(
            "INVALID_CRITERIA", "the value does not fit the field", details={"api_name": f.api_name}
        ) from None

    def test(rec: Record) -> bool:
        have = comparable(f, rec.data.get(f.api_name))
        first = wanted[0]
        if op in ("equal", "in"):
            return have in wanted
        if op in ("not_equal", "not_in"):
            return have not in wanted
        if have is None:
            return False
        try:
            if op == "less_than":
                return bool(have < first)
            if op == "less_equal":
                return bool(have <= first)
            if op == "greater_than":
                return bool(have > first)
            if op == "greater_equal":
                return bool(have >= first)
            if op in ("between", "not_between"):
                inside = bool(wanted[0] <= have <= wanted[-1])
                return inside if op == "between" else not inside
        except TypeError:
            return False
        text, needle = str(have), str(first)
        if op == "contains":
            return needle in text
        if op == "not_contains":
            return needle not in text
        if op == "starts_with":
            return text.startswith(needle)
        return text.endswith(needle)  # ends_with

    return test


# ---------------------------------------------------------------------- HTTP


class BulkHandlers:
    """The HTTP face of :class:`BulkJobs`: ``/crm/bulk/{v}/...``, ``/crm/{v}/upload`` and
    ``/_emulator/bulk``."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def jobs(self) -> BulkJobs:
        """The current store's jobs (the store is replaced on reset)."""
        return self.emu.crm.bulk

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise ApiError("REQUEST_BODY_NOT_READABLE", "the request body is not JSON")
        return body

    async def bulk(self, request: Request) -> Response:
        """``/crm/bulk/{version}/{read|write}[/{id}[/result]]`` (after authentication)."""
        jobs = self.jobs
        jobs.settle()
        parts = [p for p in request.path_params["rest"].split("/") if p]
        if request.path_params["version"] not in VERSIONS:
            raise invalid_url()
        if not parts or parts[0] not in ("read", "write"):
            raise invalid_url()
        kind = parts[0]
        if len(parts) == 1 and request.method == "POST":
            body = await self._body(request)
            created = jobs.create_read(body) if kind == "read" else jobs.create_write(body)
            return self._created(created)
        job = jobs.jobs.get(parts[1]) if len(parts) > 1 else None
        if job is None or job.kind != kind or len(parts) > 3:
            raise invalid_url()
        if request.method != "GET":
            raise ApiError(
                "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
            )
        if len(parts) == 2:
            described = jobs.describe(job)
            return zoho_json({"data": [described]} if kind == "read" else described)
        if parts[2] != "result":
            raise invalid_url()
        if jobs.state(job) != "COMPLETED":
            raise ApiError("RESOURCE_NOT_FOUND", "the result is not ready", 404)
        return Response(
            job.result_zip,
            media_type="application/zip",
            headers={"content-disposition": f'attachment; filename="{job.id}.zip"'},
        )

    def _created(self, job: BulkJob) -> Response:
        user = self.emu.crm.api_user()
        creator = {"id": user["id"], "name": user["name"]}
        if job.kind == "read":
            details = {
                "id": job.id,
                "operation": "read",
                "state": "ADDED",
                "created_by": creator,
                "created_time": iso(job.created),
            }
            element = {
                "status": "success",
                "code": "ADDED_SUCCESSFULLY",
                "message": "Added successfully.",
                "details": details,
            }
            return zoho_json({"data": [element], "info": {}}, 201)
        return zoho_json(
            {
                "status": "success",
                "code": "SUCCESS",
                "message": "success",
                "details": {"id": job.id, "created_by": creator},
            },
            201,
        )

    async def upload(self, request: Request) -> Response:
        """``POST /crm/{version}/upload``: one zip in the ``file`` form field."""
        self.jobs.settle()
        form = await request.form()
        try:
            file = form.get("file")
            if file is None or isinstance(file, str):
                raise ApiError(
                    "REQUIRED_PARAM_MISSING", "file is missing", details={"param_name": "file"}
                )
            content = await file.read()
            upload = self.jobs.upload(request.headers, file.filename or "upload.zip", content)
        except ApiError as exc:
            return exc.response()
        finally:
            await form.close()
        return zoho_json(
            {
                "status": "success",
                "code": "FILE_UPLOAD_SUCCESS",
                "message": "file uploaded.",
                "details": {"file_id": upload.id, "created_time": iso(upload.created)},
            }
        )

    async def control(self, request: Request) -> Response:
        """``/_emulator/bulk``: see the jobs; ``POST {"fail_next": {"read": n, "write": n}}``
        makes the next jobs fail."""
        jobs = self.jobs
        if request.method == "POST":
            try:
                body = await self._body(request)
                for kind, count in (body.get("fail_next") or {}).items():
                    if kind not in jobs.fail_next or not isinstance(count, int) or count < 0:
                        raise ApiError("INVALID_DATA", f"fail_next: {kind}={count!r}")
                    jobs.fail_next[kind] = count
            except ApiError as exc:
                return zoho_json({"status": "error", "message": exc.message}, 400)
        return zoho_json(
            {
                "fail_next": jobs.fail_next,
                "jobs": [
                    {"id": j.id, "kind": j.kind, "state": jobs.state(j)} for j in jobs.jobs.values()
                ],
            }
        )


def bulk_routes(emu: Emulator) -> list[BaseRoute]:
    """The bulk job routes and their control route (the upload rides on the CRM table)."""
    handlers = BulkHandlers(emu)
    return [
        Route(
            "/crm/bulk/{version}/{rest:path}",
            authenticated(emu, "crm", handlers.bulk),
            methods=["GET", "POST"],
        ),
        Route("/_emulator/bulk", handlers.control, methods=["GET", "POST"]),
    ]
