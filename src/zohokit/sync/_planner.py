"""Planning a push: from the source's rows to the rows to send, in Zoho's form.

The source is read in chunks (:func:`chunked`); for each chunk the :class:`Planner` maps
every row to its CRM record and ledger key, refuses rows without a key or repeating one,
reads the chunk's ledger states in one query, skips unchanged and parked rows (by
:func:`~zohokit.sync._plan.plan_row` on the content hash), and puts the values of the rest in
Zoho's form against the module's field metadata. The first call it makes is the preflight:
a misspelt module or field stops the run before any write. It writes nothing itself:
:mod:`._push` marks, sends and records what it returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from ..crm import BATCH_SIZE, ModuleFields, ZohoCRMService, coerce_record
from ..errors import WriteRefused
from ._hashing import row_hash
from ._ledger import Ledger
from ._mapping import SyncMapping
from ._plan import LedgerState, plan_row
from ._preflight import key_column_problem, missing_key, written_fields
from ._report import RunReport

__all__ = ["PLAN_CHUNK", "Planner", "PushRow", "chunked"]

#: Rows planned (ledger read, pending written) per database round trip.
PLAN_CHUNK = 1000
#: A row the ledger has never seen: no state, no Zoho id.
_UNKNOWN: tuple[LedgerState | None, str | None] = (None, None)


@dataclass(slots=True)
class PushRow:
    """One row to send: its ledger key, its record in Zoho's form, its content hash, what
    the ledger held of it, its 1-based row number in the source."""

    key: str
    record: dict[str, Any]
    hash: str
    entry: LedgerState | None
    number: int
    known: bool  # the ledger has the record's Zoho id: an update, not a create


def chunked(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    """Chunks of ``rows``: one batch first, doubling up to ``size``, so the first upsert
    leaves while the rest of the first thousand rows are still being planned."""
    iterator = iter(rows)
    step = min(BATCH_SIZE, size)
    while chunk := list(itertools.islice(iterator, step)):
        yield chunk
        step = min(2 * step, size)


@dataclass
class Planner:
    """The planning of one push run into ``mapping.module`` for ``crm``'s tenant: counts go
    to ``report``; ``max_attempts`` is how often one content may fail before it is parked."""

    crm: ZohoCRMService
    ledger: Ledger
    mapping: SyncMapping
    report: RunReport
    max_attempts: int
    #: The first row's columns, for the preflight and hints.
    columns: list[str] = field(default_factory=list, init=False)
    fields: ModuleFields | None = field(default=None, init=False)
    zone: tzinfo | None = field(default=None, init=False)
    #: The module's writable date-time fields.
    timed: set[str] = field(default_factory=set, init=False)

    async def plan(self, chunk: list[Mapping[str, Any]], seen: set[str]) -> list[PushRow]:
        """The rows of ``chunk`` to send, in Zoho's form; the others are counted. ``seen``
        holds the keys of the run's earlier rows (a repeated key is refused)."""
        report, mapping, tenant = self.report, self.mapping, self.crm.tenant
        mapped: list[tuple[str, dict[str, Any], int]] = []
        for raw in chunk:
            report.rows_read += 1
            if report.rows_read == 1:
                self.columns = [str(c) for c in raw]
                problem = key_column_problem(mapping, raw)
                if problem is not None:
                    raise WriteRefused(problem, tenant=tenant)
            record = mapping.record(raw)
            key = mapping.external_id(record)
            if key is None:
                report.failed += 1
                report.error("MISSING_KEY", None, missing_key(mapping, report.rows_read, raw))
                continue
            if key in seen:
                # Two rows, one record: sending both would make the last one win silently.
                report.failed += 1
                report.error(
                    "DUPLICATE_KEY",
                    key,
                    f"row {report.rows_read} repeats the {mapping.key} of an earlier row",
                )
                continue
            seen.add(key)
            mapped.append((key, record, report.rows_read))
        states = await self.ledger.states(tenant, mapping.module, [k for k, _, _ in mapped])
        to_send: list[PushRow] = []
        for key, record, number in mapped:
            state, zoho_id = states.get(key, _UNKNOWN)
            content = row_hash(record)
            decision = plan_row(state, content, self.max_attempts)
            if decision == "unchanged":
                report.unchanged += 1
            elif decision == "parked":
                report.parked += 1
            else:
                to_send.append(PushRow(key, record, content, state, number, zoho_id is not None))
        return await self.checked(to_send) if to_send else to_send

    async def checked(self, rows: list[PushRow]) -> list[PushRow]:
        """``rows`` with their values in Zoho's form; rows with a value that does not fit its
        field are counted ``invalid`` (row, field, expected, got) and left out.

        The first call is the preflight: the module and every field the mapping writes must
        exist (a misspelling stops the run before its first write and names the closest).
        Unchanged rows never get here, so a run with nothing to send asks Zoho nothing.
        """
        fields = self.fields
        module = self.mapping.module
        if fields is None:
            names = written_fields(self.mapping, self.columns)
            fields = self.fields = await self.crm.metadata.check_fields(module, names)
            self.timed = {
                name
                for name, spec in fields.fields.items()
                if spec.data_type == "datetime" and not spec.read_only
            }
        good: list[PushRow] = []
        for row in rows:
            if self.zone is None and not self.timed.isdisjoint(row.record):
                # Only a time to write needs the org's zone (one more call, once).
                self.zone = await self.crm.metadata.time_zone()
            record, problems = coerce_record(fields, row.record, self.zone or UTC, row.number)
            if problems:
                self.report.invalid += 1
                for problem in problems:
                    self.report.problem(problem.to_dict())
                first = problems[0]
                self.report.error("INVALID_VALUE", row.key, str(first), first.to_dict())
                continue
            row.record = record
            good.append(row)
        return good
