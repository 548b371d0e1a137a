"""The emulator's durable state: ``--data PATH`` keeps it in SQLite across restarts.

Without a data file the state lives in memory only and :class:`Journal` is a no-op, so the
in-memory emulator pays one empty method call per write and nothing per read. With one,
:class:`SqliteJournal` collects the objects each request changes (clients, refresh and access
tokens, grant codes, CRM records and the recycle bin, calendars and events, id and etag
counters, the clock's offset) and writes them in one transaction before the answer leaves
(``flush`` runs on the response's first message), so whatever a client was told has happened
survives even a SIGKILL. The request counters of ``/_emulator/stats`` are written at most once
a second when nothing else changed, so a read-only benchmark does not write on every request:
a kill loses at most a second of counts.

The file holds one table, ``state(kind, key, value)``, ``value`` being the JSON form of one
object, and is created readable by its owner only: it holds OAuth secrets and tokens in clear.
Page tokens, fault rules and run-time ``/_emulator/config`` changes are not kept (a restart
starts them afresh, as a restarted Zoho front-end would forget a page token's cache).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .crm._watch import decode_entry, encode_entry

if TYPE_CHECKING:
    from ._core import Emulator

__all__ = ["DataFileError", "Journal", "SqliteJournal", "open_journal"]

#: ``PRAGMA user_version`` of the layout below; a file with another one is refused.
SCHEMA_VERSION = 1
#: How often counters alone are written (seconds) when no other state changed.
STATS_EVERY = 1.0

Encoder = Callable[[Any], Any]


class DataFileError(RuntimeError):
    """The ``--data`` file cannot be used (not SQLite, another layout, unreadable)."""


class Journal:
    """Where state changes go when the emulator keeps none: nowhere."""

    durable = False

    def changed(self, kind: str, key: str, obj: Any) -> None:
        """``obj`` (stored as ``kind``/``key``) was created or changed."""

    def removed(self, kind: str, key: str) -> None:
        """The object stored as ``kind``/``key`` is gone."""

    def flush(self) -> None:
        """Write what changed since the last flush."""

    def discard(self) -> None:
        """Forget changes not written yet (a failed all-or-nothing seed)."""

    def load(self) -> dict[str, dict[str, Any]]:
        """Everything stored, as ``{kind: {key: value}}`` (empty: a fresh start)."""
        return {}

    def clear(self) -> None:
        """Erase everything stored (``/_emulator/reset``)."""

    def close(self) -> None:
        """Write what is pending and release the file."""


class SqliteJournal(Journal):
    """A journal that writes to the SQLite file at ``path`` (created if missing).

    ``encoders`` turn each kind's objects into JSON values; ``stats`` returns the counters to
    write alongside (see the module docstring for when).
    """

    durable = True

    def __init__(
        self,
        path: Path,
        encoders: dict[str, Encoder],
        stats: Callable[[], Any],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._encoders = encoders
        self._stats = stats
        self._clock = clock
        self._pending: dict[tuple[str, str], Any] = {}
        self._stats_written = 0.0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the start: the file holds client secrets and tokens in clear.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # The server thread writes while tests may call the emulator from another.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise DataFileError(f"{path} is not an emulator data file: {exc}") from exc
        if version not in (0, SCHEMA_VERSION) or (version == 0 and tables):
            self._db.close()
            raise DataFileError(
                f"{path} holds data of another layout (version {version}); "
                "give --data a new file or delete this one"
            )
        # WAL + NORMAL: a commit survives the process being killed (not the machine losing
        # power), at a fraction of the cost of a full sync per request.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS state (kind TEXT NOT NULL, key TEXT NOT NULL, "
            "value TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
        )
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def changed(self, kind: str, key: str, obj: Any) -> None:
        """Mark ``obj`` to be written at the next flush (encoded then, not now)."""
        # Locked: a test may change the emulator from its own thread while the server's
        # thread flushes.
        with self._lock:
            self._pending[(kind, key)] = obj

    def removed(self, kind: str, key: str) -> None:
        """Mark ``kind``/``key`` to be deleted at the next flush."""
        with self._lock:
            self._pending[(kind, key)] = _GONE

    def discard(self) -> None:
        """Drop every change not written yet."""
        with self._lock:
            self._pending = {}

    def flush(self) -> None:
        """Write pending changes (and the counters) in one transaction; cheap when idle."""
        now = self._clock()
        if not self._pending and now - self._stats_written < STATS_EVERY:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
            upserts: list[tuple[str, str, str]] = []
            deletes: list[tuple[str, str]] = []
            for (kind, key), obj in pending.items():
                if obj is _GONE:
                    deletes.append((kind, key))
                else:
                    value = self._encoders[kind](obj)
                    upserts.append((kind, key, json.dumps(value, separators=(",", ":"))))
            upserts.append(("meta", "stats", json.dumps(self._stats(), separators=(",", ":"))))
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", deletes)
                self._db.executemany(
                    "INSERT OR REPLACE INTO state (kind, key, value) VALUES (?, ?, ?)", upserts
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._stats_written = now

    def load(self) -> dict[str, dict[str, Any]]:
        """Every stored object, decoded from JSON, by kind and key."""
        out: dict[str, dict[str, Any]] = {}
        for kind, key, value in self._db.execute("SELECT kind, key, value FROM state"):
            out.setdefault(kind, {})[key] = json.loads(value)
        return out

    def clear(self) -> None:
        """Delete every row (and anything pending)."""
        with self._lock:
            self._pending = {}
            self._db.execute("DELETE FROM state")

    def close(self) -> None:
        """Flush, then close the connection."""
        self.flush()
        self._db.close()


class _Gone:
    """Marks a pending deletion."""


_GONE = _Gone()


@contextmanager
def all_or_nothing(emu: Emulator) -> Iterator[None]:
    """Apply changes to the emulator's accounts, CRM and Calendar entirely or not at all.

    On an exception the three stores are put back as they were (and their unwritten
    journal entries dropped), then the exception propagates. The stores are copied whole
    first, which is cheap for the small states seeds usually land in.
    """
    import copy

    emu.journal.flush()  # what came before the seed is kept whatever happens next
    # Shared, not copied: the emulator itself and its schema (the org's setup is no data).
    memo: dict[int, Any] = {id(emu): emu, id(emu.schema): emu.schema}
    saved = copy.deepcopy((emu.accounts, emu.crm, emu.calendar), memo)
    try:
        yield
    except BaseException:
        emu.accounts, emu.crm, emu.calendar = saved
        emu.journal.discard()
        raise
    emu.journal.flush()


# --- encoding: one function per kind ----------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def encoders(emu: Emulator) -> dict[str, Encoder]:
    """How each kind of object is written."""
    return {
        "client": lambda c: asdict(c),
        "refresh": lambda g: {
            "token": g.token,
            "client_id": g.client_id,
            "user_email": g.user_email,
            "scopes": list(g.scopes),
            "created_at": g.created_at,
            "mint_times": list(g.mint_times),
            "live": list(g.live),
        },
        "access": lambda a: asdict(a),
        "dead": lambda _: 1,
        "code": lambda c: asdict(c),
        "watch": encode_entry,
        "record": lambda r: {
            "id": r.id,
            "data": r.data,
            "created": r.created,
            "modified": r.modified,
            "converted": r.converted,
        },
        "deleted": lambda d: asdict(d),
        # What is not a record (crm._beyond): file contents travel as base64.
        "note": lambda n: asdict(n),
        "attachment": lambda a: {**asdict(a), "content": _b64(a.content)},
        "file": lambda f: {**asdict(f), "content": _b64(f.content)},
        "tag": lambda pair: {"module": pair[0], **asdict(pair[1])},
        "calendar": _plain,
        "event": _plain,
        "meta": lambda fn: fn(),
    }


def _plain(value: Any) -> Any:
    """A dataclass, and what it holds, as JSON values: each field by name, datetimes in
    ISO 8601, sets sorted (so one state always writes the same text)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(item) for item in value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def open_journal(emu: Emulator, path: str | os.PathLike[str] | None) -> Journal:
    """The journal for ``path``: SQLite when given, the in-memory no-op otherwise."""
    if path is None:
        return Journal()
    return SqliteJournal(Path(path), encoders(emu), lambda: dict(emu.stats.counts))


# --- restoring ----------------------------------------------------------------------------------


def restore(emu: Emulator, saved: dict[str, dict[str, Any]]) -> None:
    """Put ``saved`` (a journal's :meth:`~Journal.load`) back into a freshly built emulator."""
    from ._accounts import AccessGrant, GrantCode, OAuthClient, RefreshGrant
    from .calendar._events import Event
    from .calendar._recurrence import RRule
    from .calendar._store import Calendar
    from .crm._store import DeletedRecord, Record

    meta = saved.get("meta", {})
    accounts = emu.accounts
    accounts.clients = {
        k: OAuthClient(v["client_id"], v["client_secret"], tuple(v["redirect_uris"]))
        for k, v in saved.get("client", {}).items()
    }
    configured = accounts.clients.get(emu.config.client_id or "")
    if configured is not None and emu.config.redirect_uris:
        # The redirect URIs registered now win over a saved run's (the sandbox's port moves).
        configured.redirect_uris = emu.config.redirect_uris
    accounts.refresh_tokens = {
        k: RefreshGrant(
            v["token"],
            v["client_id"],
            v["user_email"],
            tuple(v["scopes"]),
            v["created_at"],
            deque(v["mint_times"]),
            deque(v["live"]),
        )
        for k, v in saved.get("refresh", {}).items()
    }
    accounts.access_tokens = {
        k: AccessGrant(**{**v, "scopes": tuple(v["scopes"])})
        for k, v in saved.get("access", {}).items()
    }
    accounts.dead_access_tokens = set(saved.get("dead", {}))
    accounts.codes = {
        k: GrantCode(**{**v, "scopes": tuple(v["scopes"])})
        for k, v in saved.get("code", {}).items()
    }

    crm = emu.crm
    for key, v in saved.get("record", {}).items():
        module = key.split("/", 1)[0]
        state = crm._modules.get(module)
        if state is None:
            continue  # a module the current schema no longer has
        rec = Record(v["id"], v["data"], v["created"], v["modified"], v["converted"])
        state.records[rec.id] = rec
    for state in crm._modules.values():
        # Insertion order is id order (views rely on it): ids only grow.
        state.records = dict(sorted(state.records.items(), key=lambda item: int(item[0])))
        for rec in state.records.values():
            crm._index(state, rec, add=True)
        state.converted_count = sum(rec.converted for rec in state.records.values())
        state.version += 1
    deleted = sorted(saved.get("deleted", {}).items(), key=lambda item: item[1]["deleted_time"])
    for key, v in deleted:
        state = crm._modules.get(key.split("/", 1)[0])
        if state is not None:
            state.deleted.append(DeletedRecord(**v))
    _restore_beyond(emu, saved)
    if "crm" in meta:
        crm._next_id = meta["crm"]["next_id"]
        for module, counters in meta["crm"].get("counters", {}).items():
            if module in crm._modules:  # auto-number fields go on from where they were
                crm._modules[module].counters = dict(counters)

    calendar = emu.calendar
    if "calendar" in meta:
        cal_meta = meta["calendar"]
        calendar._calendars = {
            k: Calendar(
                **{
                    **v,
                    "created": datetime.fromisoformat(v["created"]),
                    "modified": datetime.fromisoformat(v["modified"]),
                }
            )
            for k, v in saved.get("calendar", {}).items()
        }
        calendar._events = {uid: {} for uid in calendar._calendars}
        for v in saved.get("event", {}).values():
            rule = v["rrule"]
            event = Event(
                **{
                    **v,
                    **{
                        name: datetime.fromisoformat(v[name])
                        for name in ("start", "end", "created", "modified")
                    },
                    "rrule": None
                    if rule is None
                    else RRule(
                        rule["freq"],
                        rule["interval"],
                        rule["count"],
                        datetime.fromisoformat(rule["until"]) if rule["until"] else None,
                        tuple(rule["byday"]),
                        rule["text"],
                    ),
                    "exdates": {datetime.fromisoformat(moment) for moment in v["exdates"]},
                }
            )
            calendar._events.setdefault(event.calendar_uid, {})[event.uid] = event
        calendar._primary_uid = cal_meta["primary_uid"]
        calendar._last_etag = cal_meta["last_etag"]
        calendar._serial = cal_meta["serial"]
        calendar._freebusy_enabled = cal_meta["freebusy_enabled"]
        calendar._rng.setstate(_rng_state(cal_meta["rng"]))
    for v in saved.get("watch", {}).values():
        entry = decode_entry(v)
        emu.watch.entries[(entry.channel_id, entry.module)] = entry
    if "stats" in meta:
        emu.stats.counts = Counter(meta["stats"])
    if "clock" in meta:
        emu.clock.offset = meta["clock"]


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def _restore_beyond(emu: Emulator, saved: dict[str, dict[str, Any]]) -> None:
    """Notes, attachments, uploaded files and tags back into the CRM's beyond store."""
    from .crm._beyond import Attachment, Note, StoredFile, TagDef

    beyond = emu.crm.beyond
    beyond.notes = {k: Note(**v) for k, v in saved.get("note", {}).items()}
    beyond.attachments = {
        k: Attachment(**{**v, "content": base64.b64decode(v["content"])})
        for k, v in saved.get("attachment", {}).items()
    }
    beyond.files = {
        k: StoredFile(**{**v, "content": base64.b64decode(v["content"])})
        for k, v in saved.get("file", {}).items()
    }
    for v in saved.get("tag", {}).values():
        module = v.pop("module")
        tag = TagDef(**v)
        beyond.tags.setdefault(module, {})[tag.name.lower()] = tag


def _rng_state(value: list[Any]) -> tuple[Any, ...]:
    """A ``random.Random`` state back from its JSON form (tuples became lists)."""
    version, internal, gauss = value
    return (version, tuple(internal), gauss)
