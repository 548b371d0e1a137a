"""Pull: read back what changed in a Zoho CRM module since the last pull.

Records are listed with ``If-Modified-Since`` set to the stored cursor minus an overlap
window (a record saved late with an earlier ``Modified_Time`` is not missed), sorted by
``Modified_Time``; the (id, ``Modified_Time``) pairs already delivered inside the window are
kept with the cursor, so the overlap never delivers a change twice. Zoho returns at most 50
fields per call, so more fields are read in groups of 50 and merged by id; past 2,000
records :meth:`~zohokit.crm.ZohoCRMService.list_records` follows ``page_token``. Deletions
come from the deleted-records endpoint, with a cursor of their own.

A change that is our own push (the record's ``Modified_Time`` is the one Zoho gave our
upsert, or a deletion a mirror push made) is recognised through the ledger and not echoed.
The cursors are saved only once the changes are written out, so a pull that dies is simply
read again (at least once, never lost).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from ..crm import BulkPolicy, ZohoCRMService
from ._ledger import Cursor, Ledger
from ._report import RunReport, tracked_run

__all__ = ["DEFAULT_BULK_READ_THRESHOLD", "MAX_FIELDS_PER_CALL", "Change", "field_groups", "pull"]

#: Zoho's Get Records takes at most 50 field names.
MAX_FIELDS_PER_CALL = 50
#: The fields every group carries: what the cursor, dedupe and echo checks need.
_TIME_FIELDS = ("Modified_Time", "Created_Time")
#: Records per ledger lookup while streaming.
_BUFFER = 200
#: Records past which a first pull reads through Bulk Read (``pull(bulk_threshold=...)``).
DEFAULT_BULK_READ_THRESHOLD = 20_000
#: Field types Bulk Read does not export (Zoho treats them as modules of their own).
_NOT_EXPORTED = frozenset({"subform", "multiselectlookup", "fileupload", "imageupload"})

ChangeHandler = Callable[["Change"], Awaitable[None] | None]


@dataclass(frozen=True)
class Change:
    """One change read from Zoho: a record ``created`` or ``updated`` (with its values) or
    ``deleted`` (``record`` is then ``None``). ``time`` is Zoho's ``Modified_Time`` or
    ``deleted_time``."""

    op: Literal["created", "updated", "deleted"]
    id: str
    time: str
    record: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The change as one JSON object (a line of the JSONL output)."""
        return {"op": self.op, "id": self.id, "time": self.time, "record": self.record}


def field_groups(fields: Sequence[str], size: int = MAX_FIELDS_PER_CALL) -> list[list[str]]:
    """Split ``fields`` into groups Zoho accepts in one call, each carrying the time fields.

    The first group has ``Modified_Time`` and ``Created_Time``; later ones ``Modified_Time``
    (to tell whether the record changed between the passes).
    """
    if size < len(_TIME_FIELDS) + 1:
        raise ValueError(f"a field group needs room for {len(_TIME_FIELDS) + 1} fields")
    rest = [f for f in dict.fromkeys(fields) if f not in _TIME_FIELDS and f != "id"]
    groups = [list(_TIME_FIELDS) + rest[: size - len(_TIME_FIELDS)]]
    rest = rest[size - len(_TIME_FIELDS) :]
    step = size - 1
    for start in range(0, len(rest), step):
        groups.append(["Modified_Time", *rest[start : start + step]])
    return groups


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return None


class _Output:
    """Where changes go: a JSONL file, or a callback."""

    def __init__(self, out: Path | None, on_change: ChangeHandler | None) -> None:
        self.on_change = on_change
        self.handle: IO[str] | None = out.open("w", encoding="utf-8") if out else None

    async def emit(self, change: Change) -> None:
        if self.handle is not None:
            self.handle.write(json.dumps(change.to_dict(), ensure_ascii=False) + "\n")
        if self.on_change is not None:
            result = self.on_change(change)
            if inspect.isawaitable(result):
                await result

    def close(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()


class _Stream:
    """The cursor of one stream as a pull advances it."""

    def __init__(self, cursor: Cursor, overlap: timedelta) -> None:
        self.old = cursor
        self.overlap = overlap
        self.position = cursor.position
        self.delivered: set[tuple[str, int]] = set()

    @property
    def since(self) -> datetime | None:
        return self.old.position - self.overlap if self.old.position else None

    def first_time(self, key: tuple[str, int]) -> bool:
        """Whether this (id, time) is new; remembers it either way."""
        if key in self.old.seen or key in self.delivered:
            return False
        self.delivered.add(key)
        return True

    def advance(self, when: datetime) -> None:
        if self.position is None or when > self.position:
            self.position = when

    def cursor(self) -> Cursor:
        if self.position is None:
            return self.old
        floor = int((self.position - self.overlap).timestamp())
        kept = {k for k in self.old.seen | self.delivered if k[1] >= floor}
        return Cursor(self.position, frozenset(kept))


async def _records(
    crm: ZohoCRMService,
    module: str,
    groups: list[list[str]],
    since: datetime | None,
    per_page: int,
    report: RunReport,
) -> AsyncIterator[dict[str, Any]]:
    """Changed records with every requested field, in ``Modified_Time`` order."""

    def listing(fields: list[str]) -> AsyncIterator[dict[str, Any]]:
        return crm.list_records(
            module,
            fields=fields,
            per_page=per_page,
            sort_by="Modified_Time",
            sort_order="asc",
            modified_since=since,
        )

    if len(groups) == 1:
        seen = 0
        async for record in listing(groups[0]):
            seen += 1
            yield record
        return
    merged: dict[str, dict[str, Any]] = {}
    for index, fields in enumerate(groups):
        seen = 0
        async for record in listing(fields):
            seen += 1
            record_id = str(record.get("id"))
            if index == 0:
                merged[record_id] = dict(record)
            elif record_id in merged:
                # Keep the first pass's Modified_Time: if the record changed in between, its
                # newer time makes the next pull deliver it again, whole and consistent.
                extra = {k: v for k, v in record.items() if k != "Modified_Time"}
                merged[record_id].update(extra)
    for record in merged.values():
        yield record


async def pull(
    crm: ZohoCRMService,
    ledger: Ledger,
    module: str,
    *,
    fields: Sequence[str] | None = None,
    out: Path | None = None,
    on_change: ChangeHandler | None = None,
    overlap: timedelta = timedelta(minutes=5),
    deletions: bool = True,
    per_page: int = 200,
    group_size: int = MAX_FIELDS_PER_CALL,
    cursors: tuple[str, str] = ("records", "deleted"),
    bulk_threshold: int | None = DEFAULT_BULK_READ_THRESHOLD,
    bulk_policy: BulkPolicy | None = None,
) -> RunReport:
    """Read what changed in ``module`` since the last pull of ``crm``'s tenant.

    Changes go to ``out`` (JSONL, one :meth:`Change.to_dict` per line) and/or ``on_change``
    (a function or coroutine function taking a :class:`Change`). ``fields`` defaults to every
    field of the module. The first pull reads everything (except our own pushes).
    ``cursors`` names the two cursors (records, deletions) this pull reads and moves: a
    reader of its own (the notifications' reconcile pull) keeps its own position.

    A first pull of a module that holds at least ``bulk_threshold`` records (``None``:
    never) reads through Bulk Read jobs (``bulk_policy``: how they are waited for), where
    lookups carry only their id; later pulls read the changes through the records API.
    """
    if out is None and on_change is None:
        raise ValueError("give out (a JSONL path) or on_change (a callback), or both")
    tenant = crm.tenant
    output = _Output(out, on_change)
    async with tracked_run(ledger, tenant, module, "pull") as report:
        try:
            await _run_pull(
                crm,
                ledger,
                module,
                fields,
                output,
                overlap,
                deletions,
                per_page,
                group_size,
                report,
                cursors,
                (bulk_threshold, bulk_policy),
            )
        except BaseException:
            output.close()
            raise
    return report


async def _run_pull(
    crm: ZohoCRMService,
    ledger: Ledger,
    module: str,
    fields: Sequence[str] | None,
    output: _Output,
    overlap: timedelta,
    deletions: bool,
    per_page: int,
    group_size: int,
    report: RunReport,
    cursors: tuple[str, str],
    bulk: tuple[int | None, BulkPolicy | None],
) -> None:
    tenant = crm.tenant
    records_name, deleted_name = cursors
    if fields is None:
        fields = [str(f["api_name"]) for f in await crm.fields(module) if f.get("api_name")]
    groups = field_groups(fields, group_size)
    records = _Stream(await ledger.cursor(tenant, module, records_name), overlap)
    buffer: list[dict[str, Any]] = []
    source = await _first_read(crm, module, fields, records, bulk)
    if source is None:
        source = _records(crm, module, groups, records.since, per_page, report)
    async for record in source:
        buffer.append(record)
        if len(buffer) >= _BUFFER:
            await _deliver(ledger, tenant, module, buffer, records, output, report)
            buffer = []
    await _deliver(ledger, tenant, module, buffer, records, output, report)
    removed: _Stream | None = None
    if deletions:
        removed = _Stream(await ledger.cursor(tenant, module, deleted_name), overlap)
        await _deliver_deletions(crm, ledger, tenant, module, removed, output, report)
    output.close()
    await ledger.save_cursor(tenant, module, records_name, records.cursor())
    if removed is not None:
        await ledger.save_cursor(tenant, module, deleted_name, removed.cursor())


async def _first_read(
    crm: ZohoCRMService,
    module: str,
    fields: Sequence[str],
    stream: _Stream,
    bulk: tuple[int | None, BulkPolicy | None],
) -> AsyncIterator[dict[str, Any]] | None:
    """Bulk Read of every record, for a first pull of a module past the threshold."""
    threshold, policy = bulk
    if threshold is None or stream.old.position is not None:
        return None
    if await crm.record_count(module) < threshold:
        return None
    specs = (await crm.metadata.module(module)).fields
    names = [
        name
        for name in dict.fromkeys([*_TIME_FIELDS, *fields])
        if name != "id" and (spec := specs.get(name)) and spec.data_type not in _NOT_EXPORTED
    ]
    return crm.bulk_read(module, names, policy=policy)


def _stamped(
    items: list[dict[str, Any]], key: str, stream: _Stream
) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """Each item that has a time at ``key``, as (id, epoch seconds, the time as Zoho wrote it,
    item); the stream is advanced past an item before it is handed out."""
    for item in items:
        stamp = item.get(key)
        when = _epoch(stamp)
        if when is None:
            continue
        stream.advance(datetime.fromisoformat(str(stamp)))
        yield str(item.get("id")), when, str(stamp), item


async def _deliver(
    ledger: Ledger,
    tenant: str,
    module: str,
    batch: list[dict[str, Any]],
    stream: _Stream,
    output: _Output,
    report: RunReport,
) -> None:
    if not batch:
        return
    ours = await ledger.by_zoho_id(tenant, module, [str(r.get("id")) for r in batch])
    for record_id, when, modified, record in _stamped(batch, "Modified_Time", stream):
        report.rows_read += 1
        if not stream.first_time((record_id, when)):
            report.unchanged += 1  # delivered by an earlier pull, read again in the overlap
            continue
        entry = ours.get(record_id)
        pushed = entry.zoho_modified_time if entry is not None else None
        if pushed is not None and int(pushed.timestamp()) >= when:
            report.echoes += 1
            continue
        created = _epoch(record.get("Created_Time"))
        since = stream.old.position
        is_new = since is None or (created is not None and created > since.timestamp())
        if is_new:
            report.created += 1
        else:
            report.updated += 1
        await output.emit(Change("created" if is_new else "updated", record_id, modified, record))


async def _deliver_deletions(
    crm: ZohoCRMService,
    ledger: Ledger,
    tenant: str,
    module: str,
    stream: _Stream,
    output: _Output,
    report: RunReport,
) -> None:
    entries: list[dict[str, Any]] = []
    async for entry in crm.deleted_records(module, modified_since=stream.since):
        entries.append(entry)
    entries.reverse()  # Zoho lists the newest deletion first; deliver them in order.
    ours = await ledger.by_zoho_id(tenant, module, [str(e.get("id")) for e in entries])
    for record_id, when, deleted, _ in _stamped(entries, "deleted_time", stream):
        if not stream.first_time((record_id, when)):
            continue
        mine = ours.get(record_id)
        if mine is not None and mine.status == "deleted":
            report.echoes += 1
            continue
        report.deleted += 1
        await output.emit(Change("deleted", record_id, deleted, None))
