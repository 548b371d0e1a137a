"""The CRM's records: per-module storage, validation of writes, lookups, and the recycle bin.

Every write goes through :meth:`CrmStore.insert`, :meth:`CrmStore.update` or
:meth:`CrmStore.remove`, which return Zoho's per-record result element (success or error), so
the HTTP handlers, :meth:`CrmStore.seed` and the "salesperson" helpers share one set of rules.

Reads are kept cheap because benchmarks hammer them: records live in insertion order (which is
id order, ids only grow), and sorted views for ``sort_by`` are built lazily and cached until
the module next changes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._core import iso
from ._activities import ACTIVITY_MODULES, ActivityError, activity_values
from ._beyond import BeyondStore
from ._metadata import (
    ID_PREFIX,
    SALES_USER_EMAIL,
    SALES_USER_ID,
    SALES_USER_NAME,
    SALES_USER_ZUID,
    USER_ID,
    USER_ZUID,
    FieldDef,
    ModuleDef,
)
from ._values import FieldError, lookup_id, normalize

if TYPE_CHECKING:
    from .._core import Emulator

#: Zoho keeps deleted records in the recycle bin for 60 days, then they are purged for good.
RECYCLE_BIN_SECONDS = 60 * 86400
#: ``page_token`` values stay valid for a day.
PAGE_TOKEN_TTL = 86400.0
#: Page tokens kept at most; beyond it the oldest are forgotten (their clients get a mismatch).
MAX_PAGE_TOKENS = 20_000

SortKey = tuple[int, ...]

#: Fields every write changes: not what a notification's ``affected_fields`` reports.
_BOOKKEEPING = frozenset({"Modified_Time", "Modified_By"})

_ID_FIELD = FieldDef("id", "Record Id", "bigint", 19, read_only=True)


@dataclass
class Record:
    """One live record: ``data`` holds every value as the API shows it, ``id`` included."""

    id: str
    data: dict[str, Any]
    created: int
    modified: int
    converted: bool = False

    @property
    def number(self) -> int:
        """The id as an integer, the tie-breaker of every sort."""
        return int(self.id)


@dataclass
class DeletedRecord:
    """An entry of the ``/deleted`` log."""

    id: str
    display_name: str | None
    created_by: dict[str, Any]
    deleted_by: dict[str, Any]
    deleted_time: int


@dataclass
class PageToken:
    """A ``page_token`` handed out in ``info.next_page_token``."""

    token: str
    module: str
    signature: tuple[Any, ...]
    last_key: SortKey
    served: int
    expires: float
    previous: str | None


@dataclass
class ModuleState:
    """Everything stored for one module."""

    definition: ModuleDef
    records: dict[str, Record] = field(default_factory=dict)
    deleted: list[DeletedRecord] = field(default_factory=list)
    version: int = 0
    converted_count: int = 0
    #: The next number of each auto-number field.
    counters: dict[str, int] = field(default_factory=dict)
    #: ``field -> lower-cased value -> ids`` for unique fields and the dedupe field.
    indexes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    views: dict[tuple[str, str], tuple[int, list[Record], list[SortKey]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        for name in self.definition.duplicate_check_fields:
            self.indexes[name] = {}


class RecordError(FieldError):
    """A per-record failure, rendered as ``{"code","details","message","status":"error"}``."""

    def element(self) -> dict[str, Any]:
        """The element of ``data[]`` that reports this error."""
        return {
            "code": self.code,
            "details": self.details,
            "message": self.message,
            "status": "error",
        }


def _index_key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


class CrmStore:
    """All CRM state of one emulator: records, deleted-records log, ids and page tokens.

    Tests may lower :attr:`discrete_limit` (records reachable with ``page``) and
    :attr:`page_token_limit` (records reachable with ``page_token``) to exercise the limits
    without storing 100,000 records.
    """

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.schema = emu.schema
        self._modules = {name: ModuleState(mod) for name, mod in self.schema.modules.items()}
        # Ids are 19-digit numbers that only grow, starting at a seeded base like Zoho's.
        self._next_id = ID_PREFIX * 10**12 + 524_157 + emu.rng("crm-ids").randrange(10**6)
        self.page_tokens: dict[str, PageToken] = {}
        self.discrete_limit = 2000
        self.page_token_limit = 100_000
        self.search_limit = 2000
        from ._bulk import BulkJobs  # the bulk jobs read this store: built after it

        #: Bulk Read and Bulk Write jobs and uploads (:mod:`._bulk`).
        self.bulk = BulkJobs(emu)
        #: Notes, attachments, files and tags (see :mod:`._beyond`).
        self.beyond = BeyondStore()

    # ----------------------------------------------------------------- public helpers

    def modules(self) -> list[str]:
        """API names of every module."""
        return list(self._modules)

    def state(self, module: str) -> ModuleState:
        """The state of ``module`` (matched case-insensitively); :class:`KeyError` if unknown."""
        mod = self.schema.find(module)
        if mod is None:
            raise KeyError(module)
        return self._modules[mod.api_name]

    def api_user(self) -> dict[str, Any]:
        """The user behind the OAuth grant, as Owner/Created_By values show it."""
        cfg = self.emu.config
        return {"name": cfg.user_name, "id": USER_ID, "email": cfg.user_email}

    def sales_user(self) -> dict[str, Any]:
        """The salesperson whose direct edits in Zoho :meth:`edit` and :meth:`delete` mimic."""
        return {"name": SALES_USER_NAME, "id": SALES_USER_ID, "email": SALES_USER_EMAIL}

    def users(self) -> dict[str, dict[str, Any]]:
        """Every user of the org by id (``Owner`` may name any of them)."""
        return {USER_ID: self.api_user(), SALES_USER_ID: self.sales_user()}

    def zuid_of(self, user_id: str) -> str:
        """The Zoho account id (ZUID) of a CRM user."""
        return SALES_USER_ZUID if user_id == SALES_USER_ID else USER_ZUID

    def seed(self, module: str, records: list[dict[str, Any]]) -> list[str]:
        """Insert ``records`` as if through the API; returns their ids.

        Raises :class:`ValueError` naming the first record Zoho would refuse.
        """
        state = self._state_or_value_error(module)
        ids: list[str] = []
        for index, raw in enumerate(records):
            result = self.insert(state, raw, index, self.api_user())
            if result["status"] != "success":
                raise ValueError(f"{state.definition.api_name}[{index}]: {result}")
            ids.append(result["details"]["id"])
        return ids

    def records(self, module: str) -> list[dict[str, Any]]:
        """Copies of the live records of ``module``, oldest first."""
        state = self._state_or_value_error(module)
        # list() copies the values in one step, so a test thread may read while the
        # emulator's server thread is still writing (no "dictionary changed size").
        return [dict(rec.data) for rec in list(state.records.values())]

    def count(self, module: str) -> int:
        """How many live records ``module`` holds (cheap: nothing is copied)."""
        return len(self._state_or_value_error(module).records)

    def edit(self, module: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Change a record as a salesperson would in Zoho's UI (bumps ``Modified_Time``)."""
        state = self._state_or_value_error(module)
        result = self.update(state, record_id, fields, 0, self.sales_user())
        if result["status"] != "success":
            raise ValueError(f"{state.definition.api_name} {record_id}: {result}")
        return dict(state.records[record_id].data)

    def delete(self, module: str, record_id: str) -> None:
        """Delete a record as a salesperson would in Zoho's UI (it goes to the recycle bin)."""
        state = self._state_or_value_error(module)
        result = self.remove(state, record_id, self.sales_user())
        if result["status"] != "success":
            raise ValueError(f"{state.definition.api_name} {record_id}: {result}")

    def mark_converted(self, module: str, record_id: str) -> None:
        """Flag a lead as converted, so it leaves default listings (``converted=false``)."""
        state = self._state_or_value_error(module)
        rec = state.records[record_id]
        if not rec.converted:
            rec.converted = True
            state.converted_count += 1
            self._touch(state, rec, self.sales_user())

    def _state_or_value_error(self, module: str) -> ModuleState:
        try:
            return self.state(module)
        except KeyError:
            raise ValueError(f"unknown CRM module {module!r}") from None

    # ----------------------------------------------------------------- writes

    def _now(self) -> int:
        # Zoho's times have whole seconds; storing them so makes If-Modified-Since exact.
        return int(self.emu.clock.now())

    def _new_id(self) -> str:
        self._next_id += 1
        self.emu.journal.changed("meta", "crm", self._meta)
        return str(self._next_id)

    def _meta(self) -> dict[str, Any]:
        counters = {name: state.counters for name, state in self._modules.items() if state.counters}
        return {"next_id": self._next_id, "counters": counters}

    def _saved(self, state: ModuleState, rec: Record) -> None:
        self.emu.journal.changed("record", f"{state.definition.api_name}/{rec.id}", rec)

    def _success(self, rec: Record, message: str) -> dict[str, Any]:
        d = rec.data
        return {
            "code": "SUCCESS",
            "details": {
                "Modified_Time": d["Modified_Time"],
                "Modified_By": _minified(d["Modified_By"]),
                "Created_Time": d["Created_Time"],
                "id": rec.id,
                "Created_By": _minified(d["Created_By"]),
                "$approval_state": "approved",
            },
            "message": message,
            "status": "success",
        }

    def _prepare(
        self, state: ModuleState, raw: Any, index: int, creating: bool, self_id: str | None
    ) -> dict[str, Any]:
        """Validate ``raw`` and return the values to store, or raise :class:`RecordError`."""
        mod = state.definition
        path = f"$.data[{index}]"
        changes = self._values_of(mod, raw, path, creating)
        for name in mod.unique_fields:
            key = _index_key(changes.get(name))
            if key is None:
                continue
            holders = [i for i in state.indexes[name].get(key, ()) if i != self_id]
            if holders:
                holder = state.records[holders[0]]
                owner = holder.data["Owner"]
                raise RecordError(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {
                        "api_name": name,
                        "json_path": f"{path}.{name}",
                        "duplicate_record": {
                            "id": holder.id,
                            "Owner": {
                                "name": owner["name"],
                                "id": owner["id"],
                                "zuid": self.zuid_of(owner["id"]),
                            },
                            "module": {"api_name": mod.api_name, "id": mod.id},
                        },
                        "more_records": len(holders) > 1,
                    },
                )
        return changes

    def _values_of(self, mod: ModuleDef, raw: Any, path: str, creating: bool) -> dict[str, Any]:
        """The checked values of one record (or subform row) at ``path``, by field.

        Checks Zoho's order: the object itself, mandatory fields, then each value's field,
        type, length and picklist; lookups must point at existing records.
        """
        if not isinstance(raw, dict):
            raise RecordError("INVALID_DATA", "invalid data", {"json_path": path})
        for name in mod.mandatory_fields:
            present = name in raw
            if (creating or present) and raw.get(name) in (None, "", []):
                raise RecordError(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": name, "json_path": f"{path}.{name}"},
                )
        changes: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "id" or key.startswith("$"):
                continue
            f = mod.field_map.get(key)
            if f is None:
                raise RecordError(
                    "INVALID_DATA",
                    "the field api name given seems to be invalid",
                    _where(path, key),
                )
            if f.computed:
                continue  # Zoho ignores values sent for fields the CRM maintains.
            try:
                normalized = normalize(f, value)
            except FieldError as exc:
                raise RecordError(
                    exc.code, exc.message, {**_where(path, key), **exc.details}
                ) from None
            if normalized is not None and f.checked:
                normalized = self._resolve(f, normalized, path, key)
            changes[key] = normalized
        if mod.api_name in ACTIVITY_MODULES:
            try:
                changes.update(activity_values(raw, self._lookup))
            except ActivityError as exc:
                where = _where(path, exc.key)
                raise RecordError(
                    "INVALID_DATA", "invalid data", {**where, **exc.details}
                ) from None
        return changes

    def _lookup(self, module: str, record_id: str) -> dict[str, Any] | None:
        state = self._modules.get(module)
        rec = state.records.get(record_id) if state is not None else None
        return rec.data if rec is not None else None

    def _resolve(self, f: FieldDef, value: Any, path: str, key: str) -> Any:
        """Turn the ids a lookup-like value names into the records or users they point at."""
        where = _where(path, key)
        kind = f.data_type
        if kind in ("ownerlookup", "userlookup"):
            user = self.users().get(value["id"])
            if user is None:
                raise RecordError(
                    "INVALID_DATA", "invalid data", {**where, "expected_data_type": kind}
                )
            return dict(user)
        if kind == "lookup":
            return self._resolve_lookup(f.lookup_module or "", value["id"], where)
        if kind == "multiselectlookup":
            return [
                self._resolve_lookup(f.lookup_module or "", item["id"], {**where, "index": n})
                for n, item in enumerate(value)
            ]
        if kind == "fileupload":
            files = self.beyond.files
            out = []
            for n, item in enumerate(value):
                stored = files.get(item["file_id"])
                if stored is None:
                    raise RecordError(
                        "INVALID_DATA",
                        "invalid data",
                        {**where, "expected_data_type": kind, "index": n},
                    )
                out.append(
                    {
                        "File_Name__s": stored.name,
                        "Size__s": str(len(stored.content)),
                        "File_Id__s": stored.id,
                        "id": self._new_id(),
                    }
                )
            return out
        if kind == "subform":
            rows_mod = self.schema.modules[f.lookup_module or ""]
            rows = []
            for n, row in enumerate(value):
                checked = self._values_of(rows_mod, row, f"{path}.{key}[{n}]", creating=True)
                given = row.get("id")
                row_id = str(given) if str(given or "").isdigit() else self._new_id()
                rows.append({"id": row_id, **checked})
            return rows
        return value

    def _resolve_lookup(self, target: str, record_id: str, where: dict[str, Any]) -> dict[str, Any]:
        state = self._modules[target]
        rec = state.records.get(record_id)
        if rec is None:
            raise RecordError(
                "INVALID_DATA", "invalid data", {**where, "expected_data_type": "lookup"}
            )
        return {"name": rec.data.get(state.definition.display_field), "id": rec.id}

    def _index(self, state: ModuleState, rec: Record, add: bool) -> None:
        for name, index in state.indexes.items():
            key = _index_key(rec.data.get(name))
            if key is None:
                continue
            if add:
                index.setdefault(key, []).append(rec.id)
            else:
                holders = index.get(key, [])
                if rec.id in holders:
                    holders.remove(rec.id)
                if not holders:
                    index.pop(key, None)

    def _apply(self, state: ModuleState, rec: Record, changes: dict[str, Any]) -> None:
        rec.data.update(changes)
        if "Full_Name" in state.definition.field_map:
            first = rec.data.get("First_Name") or ""
            rec.data["Full_Name"] = f"{first} {rec.data.get('Last_Name') or ''}".strip()

    def _touch(self, state: ModuleState, rec: Record, actor: dict[str, Any]) -> None:
        rec.modified = self._now()
        rec.data["Modified_Time"] = iso(rec.modified)
        rec.data["Modified_By"] = dict(actor)
        state.version += 1
        self._saved(state, rec)

    def insert(
        self, state: ModuleState, raw: Any, index: int, actor: dict[str, Any]
    ) -> dict[str, Any]:
        """Insert one record; returns its result element (``record added`` or an error)."""
        try:
            changes = self._prepare(state, raw, index, creating=True, self_id=None)
        except RecordError as exc:
            return exc.element()
        now = self._now()
        rec_id = self._new_id()
        stamp = iso(now)
        # Unset fields read as null, except booleans, which Zoho defaults to false.
        data: dict[str, Any] = {"id": rec_id, **state.definition.blank}
        data.update(
            Owner=dict(actor),
            Created_Time=stamp,
            Modified_Time=stamp,
            Created_By=dict(actor),
            Modified_By=dict(actor),
        )
        for f in state.definition.auto_numbered:
            assert f.auto_number is not None
            number = state.counters.get(f.api_name, f.auto_number.start_number)
            state.counters[f.api_name] = number + 1
            data[f.api_name] = f"{f.auto_number.prefix}{number}{f.auto_number.suffix}"
        rec = Record(rec_id, data, now, now)
        self._apply(state, rec, changes)
        state.records[rec_id] = rec
        self._index(state, rec, add=True)
        state.version += 1
        self._saved(state, rec)
        self.emu.watch.note(state.definition.api_name, "create", rec_id)
        return self._success(rec, "record added")

    def update(
        self,
        state: ModuleState,
        record_id: str,
        raw: Any,
        index: int,
        actor: dict[str, Any],
        unmodified_since: float | None = None,
    ) -> dict[str, Any]:
        """Update one record; returns its result element (``record updated`` or an error)."""
        rec = state.records.get(record_id)
        if rec is None:
            return RecordError(
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"api_name": "id", "json_path": f"$.data[{index}].id", "id": record_id},
            ).element()
        if unmodified_since is not None and rec.modified > unmodified_since:
            return RecordError(
                "ALREADY_MODIFIED",
                "record updated time has already passed if-unmodified-since time",
                {
                    "Modified_Time": rec.data["Modified_Time"],
                    "Created_Time": rec.data["Created_Time"],
                    "id": rec.id,
                    "Modified_By": _minified(rec.data["Modified_By"]),
                    "Created_By": _minified(rec.data["Created_By"]),
                },
            ).element()
        try:
            changes = self._prepare(state, raw, index, creating=False, self_id=record_id)
        except RecordError as exc:
            return exc.element()
        before = dict(rec.data)
        self._index(state, rec, add=False)
        self._apply(state, rec, changes)
        self._index(state, rec, add=True)
        self._touch(state, rec, actor)
        changed = [k for k, v in rec.data.items() if k not in _BOOKKEEPING and before.get(k) != v]
        self.emu.watch.note(
            state.definition.api_name,
            "edit",
            rec.id,
            changed,
            {k: rec.data[k] for k in changed},
        )
        return self._success(rec, "record updated")

    def upsert(
        self,
        state: ModuleState,
        raw: Any,
        index: int,
        actor: dict[str, Any],
        check_fields: tuple[str, ...],
        unmodified_since: float | None = None,
    ) -> dict[str, Any]:
        """Update the record matched by the first of ``check_fields`` that matches, or insert."""
        if isinstance(raw, dict):
            for name in check_fields:
                key = _index_key(raw.get(name))
                holders = state.indexes[name].get(key, []) if key is not None else []
                if holders:
                    result = self.update(state, holders[0], raw, index, actor, unmodified_since)
                    if result["status"] == "success":
                        result["action"] = "update"
                        result["duplicate_field"] = name
                    return result
        result = self.insert(state, raw, index, actor)
        if result["status"] == "success":
            result["action"] = "insert"
            result["duplicate_field"] = None
        return result

    def remove(self, state: ModuleState, record_id: str, actor: dict[str, Any]) -> dict[str, Any]:
        """Move a record to the recycle bin; returns its result element."""
        rec = state.records.pop(record_id, None)
        if rec is None:
            return RecordError("INVALID_DATA", "record not deleted", {"id": record_id}).element()
        self._index(state, rec, add=False)
        if rec.converted:
            state.converted_count -= 1
        state.version += 1
        gone = DeletedRecord(
            id=rec.id,
            display_name=rec.data.get(state.definition.display_field),
            created_by=_minified(rec.data["Created_By"]),
            deleted_by=_minified(actor),
            deleted_time=self._now(),
        )
        state.deleted.append(gone)
        key = f"{state.definition.api_name}/{rec.id}"
        self.emu.journal.removed("record", key)
        self.emu.journal.changed("deleted", key, gone)
        self.emu.watch.note(state.definition.api_name, "delete", rec.id)
        return {
            "code": "SUCCESS",
            "details": {"id": rec.id},
            "message": "record deleted",
            "status": "success",
        }

    # ----------------------------------------------------------------- reads

    def view(
        self, state: ModuleState, sort_by: str, converted: str
    ) -> tuple[list[Record], list[SortKey]]:
        """Records sorted ascending by ``sort_by`` (ties by id), with their sort keys.

        ``converted`` is ``"false"`` (default: unconverted leads only), ``"true"`` or ``"both"``.
        The result is cached until the module next changes.
        """
        if state.converted_count == 0 and converted == "false":
            converted = "both"  # the same set, and the cheapest to build
        cache_key = (sort_by, converted)
        cached = state.views.get(cache_key)
        if cached is not None and cached[0] == state.version:
            return cached[1], cached[2]
        recs = list(state.records.values())
        if converted != "both":
            wanted = converted == "true"
            recs = [r for r in recs if r.converted == wanted]
        if sort_by == "id":
            keys: list[SortKey] = [(r.number,) for r in recs]  # insertion order is id order
        else:
            recs.sort(
                key=lambda r: (r.created if sort_by == "Created_Time" else r.modified, r.number)
            )
            keys = [sort_key(r, sort_by) for r in recs]
        state.views[cache_key] = (state.version, recs, keys)
        return recs, keys

    def issue_token(
        self,
        module: str,
        signature: tuple[Any, ...],
        last_key: SortKey,
        served: int,
        previous: str | None,
    ) -> PageToken:
        """A ``page_token`` resuming after ``last_key`` (one position, one token)."""
        digest = hashlib.sha256(repr((module, signature, last_key, served)).encode()).hexdigest()
        token = digest[:40]
        now = self.emu.clock.now()
        existing = self.page_tokens.get(token)
        if existing is not None and existing.expires > now:
            return existing
        if len(self.page_tokens) > MAX_PAGE_TOKENS:
            # Bound memory under long benchmarks: drop expired tokens, then the oldest half.
            live = [(k, t) for k, t in self.page_tokens.items() if t.expires > now]
            if len(live) > MAX_PAGE_TOKENS // 2:
                live = live[len(live) // 2 :]
            self.page_tokens = dict(live)
        issued = PageToken(
            token, module, signature, last_key, served, now + PAGE_TOKEN_TTL, previous
        )
        self.page_tokens[token] = issued
        return issued


def sort_key(rec: Record, sort_by: str) -> SortKey:
    """The key ``rec`` sorts by for ``sort_by`` (``id``, ``Created_Time``, ``Modified_Time``)."""
    if sort_by == "Created_Time":
        return (rec.created, rec.number)
    if sort_by == "Modified_Time":
        return (rec.modified, rec.number)
    return (rec.number,)


def page_of(
    recs: list[Record], keys: list[SortKey], descending: bool, start: int, count: int
) -> list[Record]:
    """``count`` records from position ``start`` of ``recs`` read in the requested order."""
    if not descending:
        return recs[start : start + count]
    hi = len(recs) - start
    lo = max(0, hi - count)
    return recs[lo:hi][::-1] if hi > 0 else []


def position_after(keys: list[SortKey], last_key: SortKey, descending: bool) -> int:
    """How many records come before the one after ``last_key``, in the requested order."""
    if descending:
        return len(keys) - bisect_left(keys, last_key)
    return bisect_right(keys, last_key)


def _where(path: str, key: str) -> dict[str, str]:
    """Where a bad value sits, as Zoho reports it: ``api_name`` and ``json_path``."""
    return {"api_name": key, "json_path": f"{path}.{key}"}


def _minified(user: dict[str, Any]) -> dict[str, Any]:
    return {"name": user.get("name"), "id": user.get("id")}


def lookup_id_or_none(value: Any) -> str | None:
    """A record id from a JSON number or digit string, else ``None``."""
    try:
        return lookup_id(_ID_FIELD, value)
    except FieldError:
        return None
