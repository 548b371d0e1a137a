"""Zoho CRM's Notification API (``/crm/{version}/actions/watch``) and the notifications it sends.

A *channel* (``channel_id``, chosen by the client) watches events ``{Module}.{create|edit|
delete|all}`` and is told of each at its ``notify_url`` (a JSON ``POST``) until its
``channel_expiry``. One channel may watch several modules; Zoho keeps and lists one entry per
(channel, module), and so does :class:`Watches`.

- ``POST`` enables channels (``{"watch": [...]}``, at most 50); enabling a (channel, module)
  again replaces it, which is how a channel is renewed before it expires.
- ``PATCH`` updates the given details of a channel and keeps the rest (``_delete_events:
  true`` removes the listed events instead of adding them); ``PUT`` replaces the channel.
- ``GET`` lists the live entries (``module``, ``channel_id`` filters); 204 when there are none.
- ``DELETE ?channel_ids=a,b`` disables channels.

Expiry (Zoho's Kaizen #170, "FAQs on notification APIs", and the enable pages of each
version): ``channel_expiry`` defaults to one hour; the longest allowed is one day in v2 to v3
and one week from v4 on, and a value past it (or none) gives the default hour instead. Expiry
runs on the emulator's clock, so a test moves time instead of waiting.

A record created, edited or deleted (through the API or :meth:`CrmStore.edit` /
:meth:`CrmStore.delete`) is announced to every live entry watching that module and operation,
with the body Zoho posts (captured traffic, e.g. amp-labs/connectors ``zohocrm``)::

    {"server_time": 1750102639787, "query_params": {}, "module": "Leads",
     "resource_uri": "https://www.zohoapis.com/crm/v2/Leads", "ids": ["6756839000000575405"],
     "affected_fields": [{"6756839000000575405": ["Company", "Phone"]}],
     "operation": "update", "channel_id": "1105420521999070702", "token": "..."}

``operation`` is ``insert``, ``update`` or ``delete``; the records one request writes go out
as one notification per (module, operation). ``affected_values`` is added for channels that
asked for ``return_affected_field_values``. Notification faults (``drop_rate``,
``duplicate_rate``, ``delay_ms``) come from ``POST /_emulator/faults {"notifications":
{...}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from .._core import iso, zoho_json
from .._errors import ApiError
from .._hosts import host_allowed
from ._params import Handlers, items_of, json_body, required_list
from ._versions import VERSIONS

if TYPE_CHECKING:
    from .._core import Emulator

__all__ = ["WatchEntry", "WatchHandlers", "Watches"]

#: Zoho: at most 50 channels per enable call.
MAX_WATCH = 50
#: Zoho: a channel's ``token`` holds at most 50 characters.
MAX_TOKEN = 50
#: What a channel lives without a (valid) ``channel_expiry``.
DEFAULT_EXPIRY = 3600.0
_OPERATIONS = ("create", "edit", "delete")
#: The ``operation`` a notification names for each watched operation.
_NOTIFIED_AS = {"create": "insert", "edit": "update", "delete": "delete"}
_SECONDS_PER_DAY = 86_400.0


@dataclass
class WatchEntry:
    """One (channel, module) subscription."""

    channel_id: str
    module: str
    operations: set[str]
    notify_url: str
    token: str | None
    expiry: float
    version: str
    notify_on_related_action: bool = True
    return_affected_field_values: bool = False

    def events(self) -> list[str]:
        """The entry's events as Zoho lists them (``all`` spelled out)."""
        return [f"{self.module}.{op}" for op in _OPERATIONS if op in self.operations]


@dataclass
class _Change:
    module: str
    operation: str
    record_id: str
    fields: list[str]
    values: dict[str, Any]


class Watches:
    """Every channel of one emulator, and the delivery of its notifications.

    ``transport`` (an ``httpx`` transport, on the :class:`Emulator` as
    ``notify_transport``) carries the notifications in process; without one they go over the
    network, to loopback hosts, the emulator's own host and ``allowed_hosts`` only (anything
    else is counted as ``notifications_undeliverable``).
    """

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.entries: dict[tuple[str, str], WatchEntry] = {}
        self._rng = emu.rng("notifications")
        self._pending: list[_Change] = []
        self._depth = 0
        self._tasks: set[asyncio.Future[Any]] = set()
        #: The loop that serves the emulator (seen on its first request): notifications
        #: caused from another thread (a test editing a record) are sent from it.
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- channels ------------------------------------------------------------------------

    def live(self, module: str | None = None, channel_id: str | None = None) -> list[WatchEntry]:
        """The entries that have not expired, optionally of one module or channel."""
        now = self.emu.clock.now()
        return [
            e
            for e in self.entries.values()
            if e.expiry > now
            and (module is None or e.module == module)
            and (channel_id is None or e.channel_id == channel_id)
        ]

    def _saved(self, entry: WatchEntry) -> None:
        self.emu.journal.changed("watch", f"{entry.channel_id}/{entry.module}", entry)

    def put(self, entry: WatchEntry) -> None:
        """Store (or replace) an entry."""
        self.entries[(entry.channel_id, entry.module)] = entry
        self._saved(entry)

    def drop(self, channel_id: str, module: str) -> WatchEntry | None:
        """Remove one entry; returns it if it was there."""
        entry = self.entries.pop((channel_id, module), None)
        if entry is not None:
            self.emu.journal.removed("watch", f"{channel_id}/{module}")
        return entry

    # --- changes and delivery ------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the changes made inside, and announce them together at the end (one
        notification per module and operation, as Zoho sends one per request)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.flush()

    def note(
        self,
        module: str,
        operation: str,
        record_id: str,
        fields: list[str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """A record of ``module`` was created, edited or deleted (``operation``)."""
        if not any(e.module == module for e in self.entries.values()):
            return  # nobody watches: keep the write path cheap
        self._pending.append(_Change(module, operation, record_id, fields or [], values or {}))
        if self._depth == 0:
            self.flush()

    def flush(self) -> None:
        """Send what :meth:`note` collected."""
        pending, self._pending = self._pending, []
        groups: dict[tuple[str, str], list[_Change]] = {}
        for change in pending:
            groups.setdefault((change.module, change.operation), []).append(change)
        for (module, operation), changes in groups.items():
            for entry in self.live(module):
                if operation in entry.operations:
                    self._send(entry, self.body(entry, operation, changes))

    def body(self, entry: WatchEntry, operation: str, changes: list[_Change]) -> dict[str, Any]:
        """The JSON Zoho posts to ``notify_url`` for these changes."""
        query = urllib.parse.urlsplit(entry.notify_url).query
        body: dict[str, Any] = {
            "server_time": int(self.emu.clock.now() * 1000),
            "query_params": dict(urllib.parse.parse_qsl(query)),
            "module": entry.module,
            # Captured notifications name /crm/v2 whatever the version enabled them.
            "resource_uri": f"{self.emu.base_url}/crm/v2/{entry.module}",
            "ids": [c.record_id for c in changes],
            "affected_fields": [{c.record_id: c.fields} for c in changes if c.fields],
            "operation": _NOTIFIED_AS[operation],
            "channel_id": entry.channel_id,
            "token": entry.token,
        }
        if entry.return_affected_field_values:
            body["affected_values"] = [
                {"record_id": c.record_id, "values": c.values} for c in changes if c.values
            ]
        return body

    def _send(self, entry: WatchEntry, body: dict[str, Any]) -> None:
        stats = self.emu.stats
        if self._rng.random() < self.emu.faults.notifications.drop_rate:
            stats.incr("notifications_dropped")
            return
        copies = 2 if self._rng.random() < self.emu.faults.notifications.duplicate_rate else 1
        if copies == 2:
            stats.incr("notifications_duplicated")
        transport = self.emu.notify_transport
        if transport is None and not self._reachable(entry.notify_url):
            stats.incr("notifications_undeliverable")
            return
        work = self._deliver(
            entry.notify_url, body, copies, self.emu.faults.notifications.delay_ms / 1000
        )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            task: asyncio.Future[Any] = running.create_task(work)
        elif self.loop is not None and self.loop.is_running():
            task = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))
        else:
            threading.Thread(target=asyncio.run, args=(work,), daemon=True).start()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reachable(self, url: str) -> bool:
        host = urllib.parse.urlsplit(url).netloc
        return host_allowed(host, self.emu.base_url, self.emu.config.allowed_hosts)

    async def _deliver(self, url: str, body: dict[str, Any], copies: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        stats = self.emu.stats
        data = json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        transport = self.emu.notify_transport
        client = httpx.AsyncClient(transport=transport, timeout=10.0)
        try:
            for _ in range(copies):
                try:
                    answer = await client.post(url, content=data, headers=headers)
                except httpx.HTTPError:
                    stats.incr("notifications_failed")
                    continue
                stats.incr("notifications_sent")
                if not answer.is_success:
                    stats.incr("notifications_failed")
        finally:
            if transport is None:
                await client.aclose()  # a transport handed in stays its owner's

    async def drain(self) -> None:
        """Wait until every notification sent so far has been delivered (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _parse_expiry(raw: Any, now: float, longest: float) -> float | None:
    """The expiry Zoho gives a channel asked for ``raw``: the default hour when it is missing
    or past the version's longest; ``None`` when it is not a date-time at all."""
    if raw is None:
        return now + DEFAULT_EXPIRY
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    when = moment.timestamp()
    if when <= now:
        return None
    if when - now > longest:
        return now + DEFAULT_EXPIRY
    return when


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


class WatchHandlers(Handlers):
    """``/crm/{version}/actions/watch``: enable, update, list and disable channels."""

    @property
    def watches(self) -> Watches:
        """The emulator's current channels (replaced on reset)."""
        return self.emu.watch

    async def endpoint(self, request: Request) -> Response:
        """Dispatch on the method."""
        if request.method == "GET":
            return self.listing(request)
        if request.method == "DELETE":
            return self.disable(request)
        items = items_of(await json_body(request), "watch", MAX_WATCH)
        version = request.path_params.get("version") or "v8"
        mode = {"POST": "enable", "PUT": "replace", "PATCH": "patch"}[request.method]
        results = [self._one(version, mode, raw, n) for n, raw in enumerate(items)]
        ok = sum(r["status"] == "success" for r in results)
        status = (201 if mode == "enable" else 200) if ok == len(results) else 207 if ok else 400
        return zoho_json({"watch": results}, status)

    def _one(self, version: str, mode: str, raw: Any, n: int) -> dict[str, Any]:
        """One item of an enable or update: its result element."""
        path = f"$.watch[{n}]"
        if not isinstance(raw, dict):
            return _error("INVALID_DATA", "invalid data", json_path=path)
        required = (
            ("channel_id", "events") if mode == "patch" else ("channel_id", "events", "notify_url")
        )
        for key in required:
            if raw.get(key) in (None, "", []):
                return _error(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name=key,
                    json_path=f"{path}.{key}",
                )
        channel_id = str(raw["channel_id"])
        if not channel_id.isdigit() or len(channel_id) > 64:
            return _error(
                "INVALID_DATA",
                "invalid data",
                api_name="channel_id",
                json_path=f"{path}.channel_id",
                expected_data_type="long",
            )
        token = raw.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
            return _error(
                "INVALID_DATA",
                "invalid data",
                api_name="token",
                json_path=f"{path}.token",
                maximum_length=MAX_TOKEN,
            )
        notify_url = raw.get("notify_url")
        if notify_url is not None and (
            not isinstance(notify_url, str)
            or urllib.parse.urlsplit(notify_url).scheme not in ("http", "https")
        ):
            return _error(
                "INVALID_DATA",
                "invalid data",
                api_name="notify_url",
                json_path=f"{path}.notify_url",
            )
        wanted, problem = self._events(raw["events"], f"{path}.events")
        if problem is not None:
            return problem
        now = self.emu.clock.now()
        longest = VERSIONS[version].channel_expiry_max if version in VERSIONS else 7 * 86400.0
        expiry = _parse_expiry(raw.get("channel_expiry"), now, longest)
        if expiry is None:
            return _error(
                "INVALID_DATA",
                "invalid data",
                api_name="channel_expiry",
                json_path=f"{path}.channel_expiry",
                expected_data_type="datetime",
            )
        existing = [e for e in self.watches.entries.values() if e.channel_id == channel_id]
        if mode != "enable" and not existing:
            return _error(
                "INVALID_DATA",
                "the given channel id does not exist",
                api_name="channel_id",
                json_path=f"{path}.channel_id",
            )
        if mode == "replace":
            for previous in existing:
                self.watches.drop(previous.channel_id, previous.module)
        touched: list[WatchEntry] = []
        for module, operations in wanted.items():
            old = self.watches.entries.get((channel_id, module))
            if mode == "patch" and old is not None:
                if raw.get("_delete_events") is True:
                    ops = old.operations - operations
                else:
                    ops = old.operations | operations
                flags = self._flags(raw, old)
                entry = replace(
                    old,
                    operations=ops,
                    notify_url=notify_url or old.notify_url,
                    token=token if "token" in raw else old.token,
                    expiry=expiry if "channel_expiry" in raw else old.expiry,
                    notify_on_related_action=flags["notify_on_related_action"],
                    return_affected_field_values=flags["return_affected_field_values"],
                )
                if not entry.operations:
                    self.watches.drop(channel_id, module)
                    continue
            elif mode == "patch" and raw.get("_delete_events") is True:
                continue
            else:
                template = old or (existing[0] if existing else None)
                entry = WatchEntry(
                    channel_id=channel_id,
                    module=module,
                    operations=set(operations),
                    notify_url=notify_url or (template.notify_url if template else ""),
                    token=token,
                    expiry=expiry,
                    version=version,
                    **self._flags(raw, None),
                )
            self.watches.put(entry)
            touched.append(entry)
        return {
            "code": "SUCCESS",
            "details": {"events": [self._described(e) for e in touched]},
            "message": "Successfully subscribed for actions-watch of the given module",
            "status": "success",
        }

    @staticmethod
    def _flags(raw: dict[str, Any], old: WatchEntry | None) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for key, default in (
            ("notify_on_related_action", True),
            ("return_affected_field_values", False),
        ):
            value = raw.get(key)
            out[key] = value if isinstance(value, bool) else (getattr(old, key) if old else default)
        return out

    def _events(self, raw: Any, path: str) -> tuple[dict[str, set[str]], dict[str, Any] | None]:
        """``["Leads.create", "Deals.all"]`` as operations by module, or an error element."""
        if not isinstance(raw, list):
            return {}, _error("INVALID_DATA", "invalid data", api_name="events", json_path=path)
        wanted: dict[str, set[str]] = {}
        for i, event in enumerate(raw):
            name, _, op = str(event).rpartition(".")
            mod = self.emu.schema.find(name) if name else None
            if mod is None or mod.generated_type == "subform" or op not in (*_OPERATIONS, "all"):
                return {}, _error(
                    "INVALID_DATA",
                    "invalid data",
                    api_name="events",
                    json_path=f"{path}[{i}]",
                    supported_values=[
                        "{module}.create",
                        "{module}.edit",
                        "{module}.delete",
                        "{module}.all",
                    ],
                )
            ops = set(_OPERATIONS) if op == "all" else {op}
            wanted.setdefault(mod.api_name, set()).update(ops)
        return wanted, None

    def _resource(self, entry: WatchEntry) -> dict[str, str]:
        mod = self.emu.schema.find(entry.module)
        return {
            "resource_uri": f"{self.emu.base_url}/crm/{entry.version}/{entry.module}",
            "resource_id": mod.id if mod is not None else "",
        }

    def _described(self, entry: WatchEntry) -> dict[str, Any]:
        return {
            "channel_expiry": iso(entry.expiry),
            **self._resource(entry),
            "resource_name": entry.module,
            "channel_id": entry.channel_id,
        }

    def listing(self, request: Request) -> Response:
        """The live entries, as ``GET /actions/watch`` lists them."""
        q = request.query_params
        module = q.get("module")
        if module is not None:
            mod = self.emu.schema.find(module)
            if mod is None:
                raise ApiError(
                    "INVALID_MODULE", "the module name given seems to be invalid", 400, {}
                )
            module = mod.api_name
        entries = self.watches.live(module, q.get("channel_id"))
        if not entries:
            return Response(status_code=204)
        watch = [
            {
                "notify_on_related_action": e.notify_on_related_action,
                "channel_expiry": iso(e.expiry),
                "return_affected_field_values": e.return_affected_field_values,
                **self._resource(e),
                "notify_url": e.notify_url,
                "resource_name": e.module,
                "fields": None,
                "notification_condition": None,
                "channel_id": e.channel_id,
                "events": e.events(),
                "token": e.token,
            }
            for e in entries
        ]
        info = {"per_page": 200, "count": len(watch), "page": 1, "more_records": False}
        return zoho_json({"watch": watch, "info": info})

    def disable(self, request: Request) -> Response:
        """``DELETE ?channel_ids=a,b``: one result per (channel, module) disabled."""
        ids = required_list(request, "channel_ids", "One of the expected parameter is missing")
        results: list[dict[str, Any]] = []
        for channel_id in ids:
            gone = [
                self.watches.drop(e.channel_id, e.module)
                for e in list(self.watches.entries.values())
                if e.channel_id == channel_id
            ]
            if not gone:
                results.append(
                    _error(
                        "INVALID_DATA",
                        "the given channel id does not exist",
                        api_name="channel_ids",
                        channel_id=channel_id,
                    )
                )
            for entry in gone:
                assert entry is not None
                results.append(
                    {
                        "code": "SUCCESS",
                        "details": {**self._resource(entry), "channel_id": entry.channel_id},
                        "message": "Successfully un-subscribed from actions-watch",
                        "status": "success",
                    }
                )
        ok = sum(r["status"] == "success" for r in results)
        status = 200 if ok == len(results) else 207 if ok else 400
        return zoho_json({"watch": results}, status)


def encode_entry(entry: WatchEntry) -> dict[str, Any]:
    """An entry as the ``data`` file keeps it."""
    return {
        "channel_id": entry.channel_id,
        "module": entry.module,
        "operations": sorted(entry.operations),
        "notify_url": entry.notify_url,
        "token": entry.token,
        "expiry": entry.expiry,
        "version": entry.version,
        "notify_on_related_action": entry.notify_on_related_action,
        "return_affected_field_values": entry.return_affected_field_values,
    }


def decode_entry(raw: dict[str, Any]) -> WatchEntry:
    """An entry read back from the ``data`` file."""
    return WatchEntry(**{**raw, "operations": set(raw["operations"])})
