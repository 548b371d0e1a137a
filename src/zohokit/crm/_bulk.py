"""Zoho CRM's Bulk Read and Bulk Write: big reads and writes as jobs, not pages of 200.

A Bulk Read job exports up to 200,000 records per page as a zipped CSV for about 50 credits,
where Get Records pages 200 at a time (1 credit each, and no further than 100,000 records);
a Bulk Write job takes a zipped CSV of up to 25,000 rows and answers with a result file that
says, row by row, what became of it. Both run in Zoho's time: a job is created, then polled
with backoff (or woken by its callback, see :class:`BulkCallbacks`) until it is done.

:class:`BulkOperations` is the half of :class:`~zohokit.crm.ZohoCRMService` that does it; the
CSV both ways (Zoho's text back into the records API's types, a record's values into Zoho's
cells) is :mod:`zohokit.crm._bulk_csv`.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ..errors import BulkJobFailed, ZohoAPIError
from ..http import ZohoService
from ._bulk_csv import csv_rows, read_converters, zip_csv

if TYPE_CHECKING:
    from ._catalog import FieldCatalog
    from ._service import RecordResult

__all__ = [
    "WRITE_CHUNK",
    "BulkCallbacks",
    "BulkJob",
    "BulkOperations",
    "BulkPolicy",
]

#: Rows per Bulk Write CSV (Zoho takes at most 25,000 per file for most modules).
WRITE_CHUNK = 25_000
#: The states of a job that is still on its way.
_RUNNING = frozenset({"ADDED", "QUEUED", "IN PROGRESS", "IN_PROGRESS"})
_FAILED = frozenset({"FAILED", "FAILURE"})

Operation = Literal["insert", "update", "upsert"]


@dataclass(frozen=True)
class BulkPolicy:
    """How a bulk call waits for its job: the first poll after ``first_delay`` seconds, each
    later one ``factor`` times longer up to ``max_delay``; :class:`~zohokit.errors.BulkJobFailed`
    after ``timeout`` seconds. ``sleep`` is the wait itself (tests pass one that moves the
    emulator's clock instead of sleeping)."""

    first_delay: float = 2.0
    max_delay: float = 60.0
    factor: float = 2.0
    timeout: float = 6 * 3600.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delays(self) -> Iterator[float]:
        """The waits between polls, until their sum passes ``timeout``."""
        delay, waited = self.first_delay, 0.0
        while waited < self.timeout:
            yield delay
            waited += delay
            delay = min(self.max_delay, delay * self.factor)


@dataclass
class _Waiter:
    secret: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    body: dict[str, Any] | None = None


class BulkCallbacks:
    """Where Zoho tells a finished bulk job: the callback URLs of one process.

    ``base_url`` is the public address of ``zohokit serve``'s receive route
    (``https://sync.example.com/zoho/bulk-callback``); every job gets its own key and secret
    in the URL, and :meth:`deliver` (what the route calls) wakes the job's waiter only when
    both match. A callback that never comes costs nothing but time: the wait polls anyway,
    at ``BulkPolicy.max_delay``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._waiting: dict[str, _Waiter] = {}

    def open(self) -> tuple[str, str]:
        """A new (key, callback URL) for one job."""
        key, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
        self._waiting[key] = _Waiter(secret)
        return key, f"{self.base_url}/{key}/{secret}"

    def close(self, key: str) -> None:
        """Forget a job's callback (it is done, or given up on)."""
        self._waiting.pop(key, None)

    def deliver(self, key: str, secret: str, body: Any) -> bool:
        """Hand a callback's body to its waiter; ``False`` (and nothing woken) when the key
        is unknown or the secret is wrong."""
        waiter = self._waiting.get(key)
        if waiter is None or not hmac.compare_digest(waiter.secret, secret):
            return False
        waiter.body = body if isinstance(body, dict) else {}
        waiter.event.set()
        return True

    async def wait(self, key: str, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job's callback; whether it came."""
        waiter = self._waiting.get(key)
        if waiter is None:
            return False
        try:
            await asyncio.wait_for(waiter.event.wait(), seconds)
        except TimeoutError:
            return False
        waiter.event.clear()
        return True


@dataclass(frozen=True)
class BulkJob:
    """A bulk job as Zoho last described it: its ``id``, ``state`` and the rest of the
    answer (``details``)."""

    id: str
    kind: Literal["read", "write"]
    state: str
    details: dict[str, Any]


# ---------------------------------------------------------------------- CSV conversions


# ---------------------------------------------------------------------- the service half


class BulkOperations(ZohoService):
    """Bulk Read and Bulk Write, the half of :class:`~zohokit.crm.ZohoCRMService` that runs
    jobs (it uses the service's request path, tenant and field metadata)."""

    #: Where finished jobs call back (``None``: poll only). The root sets it when
    #: ``zohokit serve`` can receive them.
    bulk_callbacks: BulkCallbacks | None = None
    _zgid_value: str | None = None

    if TYPE_CHECKING:

        @property
        def metadata(self) -> FieldCatalog:
            """The tenant's field metadata (the service's)."""

    async def record_count(self, module: str) -> int:
        """How many records ``module`` holds (``GET /{module}/actions/count``)."""
        answer = await self._call("GET", f"/crm/v8/{module}/actions/count")
        body = answer.body if isinstance(answer.body, dict) else {}
        return int(body.get("count") or 0)

    async def bulk_read(
        self,
        module: str,
        fields: Sequence[str],
        criteria: Mapping[str, Any] | None = None,
        *,
        policy: BulkPolicy | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``module`` (matching ``criteria``, Zoho's Bulk Read criteria
        object) through Bulk Read jobs, one job per 200,000 records, as an async iterator.

        ``fields`` are checked against the module's metadata first
        (:class:`~zohokit.errors.UnknownField` names the closest), and each CSV cell is
        turned back into what the records API returns: numbers, booleans, date and
        date-time text, lookups as ``{"id": ...}`` (Zoho's CSV holds only the id),
        multi-select values as lists. A job that fails, or does not finish within
        ``policy.timeout``, raises :class:`~zohokit.errors.BulkJobFailed`.
        """
        names = [f for f in dict.fromkeys(fields) if f != "id"]
        if not names:
            raise ValueError("bulk_read needs the fields to export (API names)")
        meta = await self.metadata.check_fields(module, names)
        policy = policy or BulkPolicy()
        page = 1
        while True:
            query: dict[str, Any] = {"module": {"api_name": module}, "fields": names, "page": page}
            if criteria is not None:
                query["criteria"] = dict(criteria)
            job = await self._run_job("read", {"query": query}, policy)
            result = job.details.get("result") or {}
            answer = await self._call("GET", f"/crm/bulk/v8/read/{job.id}/result")
            rows = csv_rows(answer.content)
            del answer  # the zip stays alive only through the reader
            try:
                header = next(rows)
                converters = read_converters(meta, header)
                for number, row in enumerate(rows, start=2):
                    yield self._converted(job.id, converters, row, number)
            except (ValueError, zipfile.BadZipFile, StopIteration) as exc:
                raise self._error(
                    BulkJobFailed,
                    f"the result of {module} bulk read job {job.id} does not read as Zoho's "
                    f"CSV: {exc}",
                    job_id=job.id,
                ) from exc
            if not result.get("more_records"):
                return
            page += 1

    def _converted(
        self,
        job_id: str,
        converters: list[tuple[str, Callable[[str], Any]]],
        row: list[str],
        number: int,
    ) -> dict[str, Any]:
        if len(row) != len(converters):
            raise ValueError(f"line {number} has {len(row)} cells for {len(converters)} columns")
        record: dict[str, Any] = {}
        for (name, convert), cell in zip(converters, row, strict=True):
            try:
                record[name] = convert(cell)
            except ValueError as exc:
                raise ValueError(f"line {number}, {name}: {cell!r} is not {exc}") from None
        return record

    async def bulk_write(
        self,
        module: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        operation: Operation = "upsert",
        find_by: str | None = None,
        policy: BulkPolicy | None = None,
        on_job: Callable[[int, BulkJob], Awaitable[None]] | None = None,
        chunk_size: int = WRITE_CHUNK,
    ) -> list[RecordResult]:
        """Write ``rows`` (records in the records API's form) through Bulk Write jobs of
        25,000 rows each; one :class:`~zohokit.crm.RecordResult` per row, in input order,
        read from Zoho's result file (``action`` ``insert`` or ``update``; a row Zoho
        skipped is failed with its error code and the column it names in ``details``).

        ``operation`` is ``insert``, ``update`` or ``upsert``; ``update`` and ``upsert``
        match records by ``find_by`` (``id`` or a unique field, such as ``Email``).
        ``on_job(first_row, job)`` runs right after each job is created (the sync ledger
        notes it there). ``chunk_size`` is the rows per job (Zoho's limit is 25,000). A job
        that fails raises :class:`~zohokit.errors.BulkJobFailed`.
        """
        if operation not in ("insert", "update", "upsert"):
            raise ValueError("operation must be insert, update or upsert")
        if operation != "insert" and not find_by:
            raise ValueError(f"a bulk {operation} needs find_by: id or a unique field")
        if not 1 <= chunk_size <= WRITE_CHUNK:
            raise ValueError(f"chunk_size must be between 1 and {WRITE_CHUNK:,}")
        if not rows:
            return []
        policy = policy or BulkPolicy()
        columns = list(dict.fromkeys(name for row in rows for name in row))
        if find_by and find_by in columns:
            # The result file echoes the first three columns: the key among them names the row.
            columns.insert(0, columns.pop(columns.index(find_by)))
        await self.metadata.check_fields(module, [c for c in columns if c != "id"])
        results: list[RecordResult] = []
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start : start + chunk_size]
            file_id = await self._upload(module, zip_csv(f"{module}.csv", columns, chunk))
            resource: dict[str, Any] = {
                "type": "data",
                "module": {"api_name": module},
                "file_id": file_id,
                "field_mappings": [{"api_name": c, "index": i} for i, c in enumerate(columns)],
            }
            if find_by:
                resource["find_by"] = find_by
            body = {"operation": operation, "resource": [resource]}
            job = await self._run_job("write", body, policy, on_created=on_job, first_row=start)
            results.extend(await self.bulk_write_results(job, start, len(chunk)))
        return results

    async def bulk_job(self, kind: Literal["read", "write"], job_id: str) -> BulkJob:
        """A bulk job as Zoho describes it now (``GET /crm/bulk/v8/{kind}/{id}``)."""
        answer = await self._call("GET", f"/crm/bulk/v8/{kind}/{job_id}")
        body = answer.body if isinstance(answer.body, dict) else {}
        if kind == "read":
            body = (body.get("data") or [{}])[0]
        state = str(body.get("state") or body.get("status") or "")
        return BulkJob(job_id, kind, state, body)

    async def wait_bulk_job(
        self,
        kind: Literal["read", "write"],
        job_id: str,
        policy: BulkPolicy | None = None,
        callback_key: str | None = None,
    ) -> BulkJob:
        """Poll a job with backoff (woken early by its callback) until it is done; a failed
        or timed-out job raises :class:`~zohokit.errors.BulkJobFailed`."""
        policy = policy or BulkPolicy()
        callbacks = self.bulk_callbacks if callback_key else None
        for delay in policy.delays():
            if callbacks is not None and callback_key is not None:
                # The callback usually comes first; the slow poll is for one that never does.
                await callbacks.wait(callback_key, max(delay, policy.max_delay))
            else:
                await policy.sleep(delay)
            job = await self.bulk_job(kind, job_id)
            if job.state in _FAILED:
                raise self._error(
                    BulkJobFailed,
                    f"Zoho marked bulk {kind} job {job_id} {job.state}",
                    job_id=job_id,
                    code=job.state,
                )
            if job.state not in _RUNNING:
                return job
        raise self._error(
            BulkJobFailed,
            f"bulk {kind} job {job_id} was not done after {policy.timeout:.0f} s",
            job_id=job_id,
        )

    async def bulk_write_results(
        self, job: BulkJob, first_row: int, count: int
    ) -> list[RecordResult]:
        """The per-row results of a finished Bulk Write job, as rows ``first_row`` on."""
        url = str((job.details.get("result") or {}).get("download_url") or "")
        if not url:
            raise self._error(
                BulkJobFailed,
                f"bulk write job {job.id} is done but names no result file",
                job_id=job.id,
            )
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else self.base_url
        answer = await self.http.request(
            self.tenant,
            self.provider,
            "GET",
            parts.path + (f"?{parts.query}" if parts.query else ""),
            credentials=self._given,
            base_url=base,
        )
        results: list[RecordResult] = []
        try:
            rows = csv_rows(answer.content)
            header = next(rows)
            status_at, id_at, errors_at = (
                header.index(c) for c in ("STATUS", "RECORD_ID", "ERRORS")
            )
            for n, row in enumerate(rows):
                results.append(
                    _write_result(first_row + n, row[status_at], row[id_at], row[errors_at])
                )
        except (ValueError, IndexError, StopIteration, zipfile.BadZipFile) as exc:
            raise self._error(
                BulkJobFailed,
                f"the result file of bulk write job {job.id} does not read as Zoho's: {exc}",
                job_id=job.id,
            ) from exc
        if len(results) != count:
            raise self._error(
                BulkJobFailed,
                f"bulk write job {job.id} answered {len(results)} rows for {count}",
                job_id=job.id,
            )
        return results

    # --- the steps ---------------------------------------------------------------------

    async def _run_job(
        self,
        kind: Literal["read", "write"],
        body: dict[str, Any],
        policy: BulkPolicy,
        *,
        on_created: Callable[[int, BulkJob], Awaitable[None]] | None = None,
        first_row: int = 0,
    ) -> BulkJob:
        callbacks = self.bulk_callbacks
        key = None
        if callbacks is not None:
            key, url = callbacks.open()
            body = {**body, "callback": {"url": url, "method": "post"}}
        try:
            answer = await self._call("POST", f"/crm/bulk/v8/{kind}", json=body)
            created = answer.body if isinstance(answer.body, dict) else {}
            if kind == "read":
                created = (created.get("data") or [{}])[0]
            job_id = str((created.get("details") or {}).get("id") or "")
            if not job_id:
                raise self._error(
                    BulkJobFailed,
                    f"Zoho created no bulk {kind} job: {created.get('code') or 'no id'}",
                )
            if on_created is not None:
                await on_created(first_row, BulkJob(job_id, kind, "ADDED", created))
            return await self.wait_bulk_job(kind, job_id, policy, key)
        finally:
            if callbacks is not None and key is not None:
                callbacks.close(key)

    async def _upload(self, module: str, content: bytes) -> str:
        """Upload one zip for Bulk Write; its ``file_id``."""
        answer = await self.http.request(
            self.tenant,
            self.provider,
            "POST",
            "/crm/v8/upload",
            credentials=self._given,
            base_url=self.base_url or await self._upload_host(),
            headers={"X-CRM-ORG": await self._zgid(), "feature": "bulk-write"},
            files={"file": (f"{module}.zip", content, "application/zip")},
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        file_id = (body.get("details") or {}).get("file_id")
        if not file_id:
            raise self._error(
                ZohoAPIError,
                f"Zoho took the {module} upload but sent no file_id ({body.get('code')})",
            )
        return str(file_id)

    async def _zgid(self) -> str:
        cached = getattr(self, "_zgid_value", None)
        if cached is None:
            answer = await self._call("GET", "/crm/v8/org")
            body = answer.body if isinstance(answer.body, dict) else {}
            orgs = body.get("org") or [{}]
            cached = str(orgs[0].get("zgid") or "")
            self._zgid_value = cached
        return cached

    async def _upload_host(self) -> str:
        """Zoho's file host for the tenant's data centre: ``www.zohoapis.eu`` uploads to
        ``content.zohoapis.eu`` (the official SDK's table)."""
        token = await self.http.tokens.get_token(self.tenant, self.provider, self._given)
        domain = (token.api_domain or "https://www.zohoapis.com").rstrip("/")
        return domain.replace("://www.zohoapis.", "://content.zohoapis.", 1)


def _write_result(index: int, status: str, record_id: str, errors: str) -> RecordResult:
    """One row of a Bulk Write result file as the records API would have answered it."""
    from ._service import RecordResult

    status = status.strip().upper()
    if status in ("ADDED", "UPDATED"):
        return RecordResult(
            index,
            True,
            "SUCCESS",
            "record added" if status == "ADDED" else "record updated",
            id=record_id or None,
            details={"id": record_id},
            action="insert" if status == "ADDED" else "update",
        )
    first = errors.split(":", 1)[0]
    code, _, column = first.partition("-")
    details = {"api_name": column} if column else {}
    return RecordResult(
        index,
        False,
        code or status or "UNKNOWN",
        errors or f"Zoho {status.lower() or 'skipped'} the row",
        details=details,
    )
