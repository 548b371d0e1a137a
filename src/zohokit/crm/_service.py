"""``ZohoCRMService``: Zoho CRM v8 records, search, COQL and metadata for one tenant.

The service only builds requests and reads answers; the token, retries, the in-flight cap
and error mapping are :class:`zohokit.http.ZohoHTTP`'s.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from ..errors import (
    AuthenticationError,
    NotFound,
    PermissionDenied,
    RecordError,
    TransportError,
    ZohoAPIError,
)
from ..settings import Provider
from ._beyond import BeyondRecords
from ._bulk import BulkOperations
from ._catalog import FieldCatalog
from ._criteria import Criteria

__all__ = ["BATCH_SIZE", "DISCRETE_PAGING_LIMIT", "CoqlResult", "RecordResult", "ZohoCRMService"]

#: Zoho takes at most 100 records per write call.
BATCH_SIZE = 100
#: Past this many records Get Records must page with ``page_token`` instead of ``page``.
DISCRETE_PAGING_LIMIT = 2000
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class RecordResult:
    """The outcome of one record of a bulk write, in input order.

    On success ``id`` is the record's id (and ``action`` is ``insert`` or ``update`` for an
    upsert); on failure ``code``, ``message`` and ``details`` are Zoho's for that record, or
    describe why the whole batch got no answer (``error`` then holds the exception).
    """

    index: int
    ok: bool
    code: str
    message: str = ""
    id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    duplicate_field: str | None = None
    error: Exception | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_zoho(cls, index: int, element: Mapping[str, Any]) -> RecordResult:
        """Read one element of a write answer's ``data`` array."""
        details = element.get("details")
        details = details if isinstance(details, dict) else {}
        ok = element.get("status") == "success"
        record_id = details.get("id") if ok else None
        # Filled in directly, as the frozen __init__ would (one setattr call per field cost
        # more than reading the element: a push reads one result per row).
        result = object.__new__(cls)
        result.__dict__.update(
            index=index,
            ok=ok,
            code=str(element.get("code") or ("SUCCESS" if ok else "UNKNOWN")),
            message=str(element.get("message") or ""),
            id=str(record_id) if record_id is not None else None,
            details=details,
            action=element.get("action"),
            duplicate_field=element.get("duplicate_field"),
            error=None,
        )
        return result

    @classmethod
    def from_exception(cls, index: int, exc: Exception) -> RecordResult:
        """A record whose batch failed as a whole (no answer, or a request-level error)."""
        if isinstance(exc, ZohoAPIError):
            code = exc.code or f"HTTP_{exc.status}"
            details = exc.details
        else:
            code, details = "NO_ANSWER", {}
        return cls(index, False, code, str(exc), details=details, error=exc)

    def raise_for_error(self) -> None:
        """Raise :class:`~zohokit.errors.RecordError` if this record failed."""
        if not self.ok:
            raise RecordError(
                f"record {self.index} failed: {self.code} {self.message}".strip(),
                code=self.code,
                details=self.details,
            ) from self.error


@dataclass(frozen=True)
class CoqlResult:
    """The rows of one COQL query and whether Zoho has more past its ``LIMIT``."""

    data: list[dict[str, Any]]
    more_records: bool


def _chunks(items: Sequence[Any], size: int) -> list[tuple[int, Sequence[Any]]]:
    return [(start, items[start : start + size]) for start in range(0, len(items), size)]


def _extra(
    trigger: Sequence[str] | None, duplicate_check_fields: Sequence[str] | None = None
) -> dict[str, Any]:
    """The keys a write body carries beside ``data``."""
    extra: dict[str, Any] = {}
    if duplicate_check_fields is not None:
        extra["duplicate_check_fields"] = list(duplicate_check_fields)
    if trigger is not None:
        extra["trigger"] = list(trigger)
    return extra


def _modified_since(value: datetime | None) -> dict[str, str]:
    if value is None:
        return {}
    if value.tzinfo is None:
        raise ValueError("modified_since needs a timezone; Zoho compares instants")
    return {"If-Modified-Since": value.isoformat(timespec="seconds")}


#: Field catalogs per request path and tenant (dropped with their request path).
_CATALOGS: weakref.WeakKeyDictionary[Any, dict[str, FieldCatalog]] = weakref.WeakKeyDictionary()


class ZohoCRMService(BeyondRecords, BulkOperations):
    """Zoho CRM for one tenant (the seed's API, plus a full async records client).

    ``ZohoCRMService(credentials=None, client_id="default")`` reads what the credentials
    leave out from ``ZOHO_CLIENT_ID`` / ``ZOHO_CRM_CLIENT_ID`` (and the secrets alike);
    tokens come from the token service. Calls go to the tenant's ``api_domain`` (or
    ``ZOHO_API_URL``). Every method is a coroutine or an async iterator.
    """

    provider: ClassVar[Provider] = "zoho_crm"

    @classmethod
    def for_client(
        cls, config: Mapping[str, Any], client_id: str = "default", **kwargs: Any
    ) -> ZohoCRMService:
        """The seed's ``forClient``: a service from a client row with ``zoho_client_id``,
        ``zoho_client_secret`` and ``zoho_refresh_token`` (missing parts come from the
        environment)."""
        credentials = cls._from_client_row(config, "client_id", "client_secret", "refresh_token")
        return cls(credentials, client_id, **kwargs)

    def is_configured(self) -> bool:
        """Whether a client id, a client secret and a refresh token are known (the seed's)."""
        return self._has_credentials()

    @functools.cached_property
    def metadata(self) -> FieldCatalog:
        """This tenant's field metadata, fetched once per module (see
        :class:`~zohokit.crm.FieldCatalog`); the writes use it with ``check=True``.

        Services of one tenant on one request path share it, so a long-running process (a
        root object handing out a service per call) reads each module's fields once.
        """
        shared = _CATALOGS.setdefault(self.http, {})
        catalog = shared.get(self.tenant)
        if catalog is None:
            catalog = shared[self.tenant] = FieldCatalog(self)
        return catalog

    # --- reading ----------------------------------------------------------------------------

    async def list_records(
        self,
        module: str,
        *,
        fields: Sequence[str],
        per_page: int = MAX_PER_PAGE,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        converted: Literal["true", "false", "both"] | None = None,
        cvid: str | None = None,
        ids: Iterable[str] | None = None,
        modified_since: datetime | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``module``, page after page, as an async iterator.

        ``fields`` (at most 50 API names) is required by Zoho. The first 2,000 records are
        read with ``page``; past that the iterator follows ``page_token``, keeping every
        other parameter identical as Zoho requires. With ``modified_since`` only records
        changed later are returned (none at all when Zoho answers 304).
        """
        if not fields:
            raise ValueError("Zoho needs the fields to return (at most 50 API names)")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        params: dict[str, Any] = {"fields": ",".join(fields), "per_page": per_page}
        optional = {"sort_by": sort_by, "sort_order": sort_order, "converted": converted}
        params.update({k: v for k, v in optional.items() if v is not None})
        if cvid:
            params["cvid"] = cvid
        if ids is not None:
            params["ids"] = ",".join(ids)
        headers = _modified_since(modified_since)
        page, page_token = 1, None
        while True:
            paging = {"page_token": page_token} if page_token else {"page": page}
            answer = await self._call(
                "GET", f"/crm/v8/{module}", params={**params, **paging}, headers=headers
            )
            body = answer.body
            if not isinstance(body, dict):
                return  # 204: nothing (more); 304: nothing changed
            for record in body.get("data") or []:
                yield record
            info = body.get("info") or {}
            if not info.get("more_records"):
                return
            # ``page`` may only reach the first 2,000 records: when the next page would end
            # past them (always so with a per_page that does not divide 2,000), follow the
            # token Zoho hands out with this page instead.
            if page_token or (page + 1) * per_page > DISCRETE_PAGING_LIMIT:
                page_token = info.get("next_page_token")
                if not page_token:
                    raise self._error(
                        ZohoAPIError,
                        "Zoho said more records exist past 2,000 but sent no page_token",
                    )
            else:
                page += 1

    async def get_record(
        self, module: str, record_id: str, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One record by id; :class:`~zohokit.errors.NotFound` if it does not exist."""
        params = {"fields": ",".join(fields)} if fields else None
        answer = await self._call("GET", f"/crm/v8/{module}/{record_id}", params=params)
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if not data:
            raise self._error(
                NotFound,
                f"{module} record {record_id} does not exist",
                status=answer.status,
            )
        record: dict[str, Any] = data[0]
        return record

    async def search_records(
        self,
        module: str,
        criteria: Criteria | str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        fields: Sequence[str] | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Records matching ``criteria`` (build it with :func:`~zohokit.crm.where`), or an
        ``email``, ``phone`` or ``word`` search, page after page (Zoho stops at 2,000).

        Zoho's search index lags behind writes: a record created a moment ago may not be
        found yet; read it back with :meth:`get_record` or :meth:`coql` instead.
        """
        params: dict[str, Any] = {"per_page": per_page}
        given = {"criteria": criteria, "email": email, "phone": phone, "word": word}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise ValueError("search with exactly one of criteria, email, phone or word")
        params.update({k: str(v) for k, v in given.items()})
        if fields:
            params["fields"] = ",".join(fields)
        async for record in self._pages(f"/crm/v8/{module}/search", params):
            yield record

    async def coql(self, select_query: str) -> CoqlResult:
        """Run one COQL query (``select ... from ... where ... limit o, n``)."""
        answer = await self._call(
            "POST", "/crm/v8/coql", json={"select_query": select_query}, idempotent=True
        )
        if not isinstance(answer.body, dict):
            return CoqlResult([], False)
        more = bool((answer.body.get("info") or {}).get("more_records"))
        return CoqlResult(list(answer.body.get("data") or []), more)

    async def deleted_records(
        self,
        module: str,
        *,
        kind: Literal["all", "recycle", "permanent"] = "all",
        per_page: int = MAX_PER_PAGE,
        modified_since: datetime | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Records deleted from ``module`` (newest first), page after page; ``kind`` is Zoho's
        ``type``: ``recycle`` (still restorable), ``permanent`` or ``all``."""
        params = {"type": kind, "per_page": per_page}
        headers = _modified_since(modified_since)
        async for entry in self._pages(f"/crm/v8/{module}/deleted", params, headers=headers):
            yield entry

    async def _pages(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        key: str = "data",
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a list paged by number (``page`` 1, 2, ... while Zoho says
        ``more_records``); an answer without a body (204, 304) ends it."""
        page = 1
        while True:
            answer = await self._call("GET", path, params={**params, "page": page}, headers=headers)
            body = answer.body
            if not isinstance(body, dict):
                return
            for item in body.get(key) or []:
                yield item
            if not (body.get("info") or {}).get("more_records"):
                return
            page += 1

    async def modules(self) -> list[dict[str, Any]]:
        """The org's modules (``/settings/modules``)."""
        return await self._settings("modules")

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """The fields of ``module`` (``/settings/fields?module=``)."""
        return await self._settings("fields", params={"module": module})

    async def module(self, api_name: str) -> dict[str, Any] | None:
        """One module's full metadata (``/settings/modules/{api_name}``), if Zoho has it."""
        found = await self._settings("modules", path=f"/modules/{api_name}")
        return found[0] if found else None

    async def layouts(self, module: str) -> list[dict[str, Any]]:
        """The layouts of ``module``, with their sections and fields (``/settings/layouts``)."""
        return await self._settings("layouts", params={"module": module})

    async def _settings(
        self, key: str, *, path: str | None = None, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        answer = await self._call("GET", f"/crm/v8/settings{path or '/' + key}", params=params)
        body = answer.body if isinstance(answer.body, dict) else {}
        return list(body.get(key) or [])

    # --- writing ----------------------------------------------------------------------------

    async def insert_records(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str] | None = None,
        check: bool = False,
    ) -> list[RecordResult]:
        """Insert ``records`` in batches of 100, sent concurrently; one result per record.

        An insert is not idempotent, so a batch whose answer was lost (read timeout, dropped
        connection, 5xx) is **not** resent: its records come back failed with ``error`` set,
        and may or may not exist. Prefer :meth:`upsert_records` when retries matter.
        ``check``: see :meth:`upsert_records`.
        """
        return await self._bulk(
            "POST", module, "", records, _extra(trigger), idempotent=False, check=check
        )

    async def update_records(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str] | None = None,
        check: bool = False,
    ) -> list[RecordResult]:
        """Update ``records`` (each with its ``id``) in batches of 100; one result per record.
        ``check``: see :meth:`upsert_records`."""
        if any(not r.get("id") for r in records):
            raise ValueError("every record to update needs its id")
        return await self._bulk(
            "PUT", module, "", records, _extra(trigger), idempotent=True, check=check
        )

    async def upsert_records(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] | None = None,
        trigger: Sequence[str] | None = None,
        check: bool = False,
    ) -> list[RecordResult]:
        """Insert or update ``records`` by their duplicate-check fields (``Email`` for Leads
        unless given), in batches of 100 sent concurrently; one result per record, with
        ``action`` ``insert`` or ``update``. Safe to retry, so failed batches are resent.

        With ``check=True`` the values are first checked against the module's field metadata
        (:attr:`metadata`, one ``GET /settings/fields`` per module, then cached) and put in
        Zoho's form (``"a;b"`` for a multi-select becomes ``["a", "b"]``, ``"42"`` for a
        lookup ``{"id": "42"}``, ``"yes"`` ``True``, dates ``YYYY-MM-DD``, times with the org's
        offset); a module, field or value Zoho would refuse raises
        :class:`~zohokit.errors.WriteRefused` before any write is sent.
        """
        extra = _extra(trigger, duplicate_check_fields)
        return await self._bulk(
            "POST", module, "/upsert", records, extra, idempotent=True, check=check
        )

    async def delete_records(
        self, module: str, ids: Sequence[str], *, wf_trigger: bool = True
    ) -> list[RecordResult]:
        """Delete records by id, 100 per call, concurrently; one result per id."""
        ids = list(ids)

        async def one(start: int, batch: Sequence[str]) -> list[RecordResult]:
            params = {"ids": ",".join(batch), "wf_trigger": str(wf_trigger).lower()}
            answer = await self._call(
                "DELETE", f"/crm/v8/{module}", params=params, record_results=True
            )
            return self._results(start, len(batch), answer.body)

        return await self._batches(ids, one)

    async def _bulk(
        self,
        method: str,
        module: str,
        suffix: str,
        records: Sequence[Mapping[str, Any]],
        extra: Mapping[str, Any],
        *,
        idempotent: bool,
        check: bool,
    ) -> list[RecordResult]:
        """One write of ``records`` to ``/crm/v8/{module}{suffix}``, checked first when asked
        (and the metadata forgotten if Zoho's answers say it changed)."""
        if check:
            records = await self.metadata.prepare(module, records)
        path = f"/crm/v8/{module}{suffix}"

        async def one(start: int, batch: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
            answer = await self._call(
                method,
                path,
                json={"data": list(batch), **extra},
                idempotent=idempotent,
                record_results=True,
            )
            return self._results(start, len(batch), answer.body)

        results = await self._batches(records, one)
        if check:
            self.metadata.learn(module, results)
        return results

    async def _batches(self, items: Sequence[Any], send: Any) -> list[RecordResult]:
        """Send every batch concurrently (the request path caps how many are in flight) and
        flatten the results back into input order. A batch that fails as a whole marks its
        records failed; token and configuration errors stop everything, as no batch can
        succeed without a token."""

        async def guarded(start: int, batch: Sequence[Any]) -> list[RecordResult]:
            try:
                results: list[RecordResult] = await send(start, batch)
            except (AuthenticationError, PermissionDenied):
                raise  # no batch can succeed without a working token: stop them all
            except (ZohoAPIError, TransportError) as exc:
                return [RecordResult.from_exception(start + i, exc) for i in range(len(batch))]
            return results

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(guarded(s, b)) for s, b in _chunks(items, BATCH_SIZE)]
        except BaseExceptionGroup as failed:
            # Callers catch zohokit's errors, not a group: surface the first one.
            raise failed.exceptions[0] from None
        return [result for task in tasks for result in task.result()]

    def _results(self, start: int, count: int, body: Any) -> list[RecordResult]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != count:
            raise self._error(
                ZohoAPIError,
                f"Zoho answered {len(data) if isinstance(data, list) else 'no'} results "
                f"for {count} records",
            )
        return [RecordResult.from_zoho(start + i, element) for i, element in enumerate(data)]
