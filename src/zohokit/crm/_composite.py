"""Composite requests: up to five CRM calls in one request, for one credit (``crm.composite``).

::

    result = await crm.composite.send(
        [
            SubRequest("POST", "/Accounts", body={"data": [{"Account_Name": "Acme"}]}, id="acct"),
            SubRequest("POST", "/Contacts", body={"data": [{
                "Last_Name": "Doe", "Account_Name": {"id": "@{acct:$.data[0].details.id}"}}]}),
        ],
        rollback_on_fail=True,
    )

With ``rollback_on_fail`` Zoho undoes every sub-request when one fails (then
``result.rolled_back`` is true and nothing changed). ``parallel_execution`` lets Zoho run the
independent ones at once (``concurrent_execution`` in v3 and v4; the part writes the key its
version takes); Zoho refuses it together with a rollback, and so does this client, before
sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._part import CompositeRefused, CrmPart, TooManySubRequests
from ._service import RecordResult

__all__ = ["MAX_SUB_REQUESTS", "Composite", "CompositeResult", "SubRequest", "SubResult"]

#: Zoho's limit of sub-requests in one composite request.
MAX_SUB_REQUESTS = 5


@dataclass(frozen=True)
class SubRequest:
    """One call of a composite request. ``path`` is the CRM path after the version
    (``/Leads``, ``/Leads/123``) or a whole ``/crm/v8/...`` path; ``id`` is Zoho's
    ``sub_request_id``, by which later sub-requests refer to its answer
    (``@{id:$.data[0].details.id}``)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: Any = None
    headers: Mapping[str, str] | None = None
    id: str | None = None


@dataclass(frozen=True)
class SubResult:
    """The outcome of one sub-request, in input order.

    ``executed`` is false for one Zoho did not run (after a failure with rollback);
    ``rolled_back`` is true when its changes were undone; ``status_code`` and ``body`` are its
    own answer; ``ok`` means it ran, kept its changes, and neither it nor any of its records
    failed.
    """

    index: int
    id: str | None
    code: str
    status_code: int | None = None
    body: Any = None
    message: str = ""
    executed: bool = True
    rolled_back: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the sub-request ran, kept its changes and every record of it succeeded."""
        if not self.executed or self.rolled_back or (self.status_code or 500) >= 400:
            return False
        return all(r.ok for r in self.records())

    def records(self) -> list[RecordResult]:
        """Its per-record results, when its answer is a write's ``data`` array."""
        data = self.body.get("data") if isinstance(self.body, dict) else None
        if not isinstance(data, list):
            return []
        return [
            RecordResult.from_zoho(i, e)
            for i, e in enumerate(data)
            if isinstance(e, Mapping) and "status" in e
        ]


@dataclass(frozen=True)
class CompositeResult:
    """Every sub-request's :class:`SubResult`, and whether Zoho rolled the composite back."""

    results: list[SubResult]

    @property
    def rolled_back(self) -> bool:
        """Whether Zoho undid the composite (a sub-request failed with ``rollback_on_fail``)."""
        return any(r.rolled_back for r in self.results)

    @property
    def ok(self) -> bool:
        """Whether every sub-request succeeded."""
        return all(r.ok for r in self.results)


class Composite(CrmPart):
    """Composite requests of one tenant's CRM (``crm.composite``), v3 on."""

    async def send(
        self,
        requests: Sequence[SubRequest],
        *,
        rollback_on_fail: bool = False,
        parallel_execution: bool | None = None,
    ) -> CompositeResult:
        """Send up to five sub-requests as one call (1 credit); one :class:`SubResult` each.

        :class:`~zohokit.crm.TooManySubRequests` for more than five, and
        :class:`~zohokit.crm.CompositeRefused` for a rollback with parallel execution or a
        version before v3, both before sending.
        """
        if not requests:
            raise CompositeRefused("a composite request needs at least one sub-request")
        if len(requests) > MAX_SUB_REQUESTS:
            raise TooManySubRequests(
                f"{len(requests)} sub-requests: Zoho takes at most {MAX_SUB_REQUESTS} in one "
                "composite request; split them",
                count=len(requests),
            )
        if not self.since(3):
            raise CompositeRefused(f"Zoho has composite requests from v3 on, not {self.version}")
        if rollback_on_fail and parallel_execution:
            raise CompositeRefused(
                "Zoho refuses rollback_on_fail together with parallel execution: a rollback "
                "runs the sub-requests one after another"
            )
        body: dict[str, Any] = {
            "__composite_requests": [self._sub(r) for r in requests],
            "rollback_on_fail": rollback_on_fail,
        }
        if parallel_execution is not None:
            key = "parallel_execution" if self.since(5) else "concurrent_execution"
            body[key] = parallel_execution
        answer = await self._call(
            "POST", "__composite_requests", json=body, idempotent=False, record_results=True
        )
        elements = (
            answer.body.get("__composite_requests") if isinstance(answer.body, dict) else None
        )
        elements = elements if isinstance(elements, list) else []
        return CompositeResult(
            [
                self._result(i, r, elements[i] if i < len(elements) else {})
                for i, r in enumerate(requests)
            ]
        )

    def _sub(self, request: SubRequest) -> dict[str, Any]:
        uri = request.path if request.path.startswith("/crm/") else self.path(request.path)
        sub: dict[str, Any] = {"method": request.method.upper(), "uri": uri}
        for key, value in (
            ("sub_request_id", request.id),
            ("params", request.params),
            ("body", request.body),
            ("headers", request.headers),
        ):
            if value is not None:
                sub[key] = dict(value) if isinstance(value, Mapping) else value
        return sub

    @staticmethod
    def _result(index: int, request: SubRequest, element: Mapping[str, Any]) -> SubResult:
        code = str(element.get("code") or "NO_ANSWER")
        details = element.get("details")
        response = details.get("response") if isinstance(details, Mapping) else None
        response = response if isinstance(response, Mapping) else {}
        status = response.get("status_code")
        return SubResult(
            index=index,
            id=request.id,
            code=code,
            status_code=int(status) if isinstance(status, int) else None,
            body=response.get("body"),
            message=str(element.get("message") or ""),
            executed=code not in ("NOT_EXECUTED", "NO_ANSWER"),
            rolled_back=code == "ROLLBACK_PERFORMED",
            raw=dict(element),
        )
