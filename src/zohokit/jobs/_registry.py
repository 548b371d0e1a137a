"""``zoho.jobs``: the job kinds a process knows, and scheduling on the root's database.

Any part of zohokit (or of the user's app) adds work for the worker in two steps: register a
kind once per process, with an async handler; schedule jobs of that kind, from any process
(a web process schedules, a worker process runs)::

    async def renew_channel(ctx: JobContext) -> datetime | None:
        ...                                   # ctx.zoho, ctx.job.key, ctx.job.payload, ctx.now
        return ctx.now + timedelta(hours=20)  # run again then (None: finished)

    zoho.jobs.register("notify.renew", renew_channel, lease=60)
    await zoho.jobs.schedule("notify.renew", "acme:Leads", due_at, tenant="acme")

Inside a transaction that must commit with the job, call :func:`zohokit.worker.schedule` on
the session instead. The kinds zohokit itself runs are installed by
:mod:`zohokit.worker._standard` when
a :class:`zohokit.worker.Worker` is built, so ``zohokit worker`` and ``zohokit serve
--worker`` know them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, Unpack

from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock
from ..db import Timeouts
from . import _store
from ._models import Handler, Job, JobKind, JobRun, KindStatus, StartHook
from ._store import JobOptions, JobStore
from ._views import RunFilter

__all__ = ["Jobs", "Root"]


class Root(Protocol):
    """What :class:`Jobs` needs of the root (:class:`zohokit.Zoho`)."""

    clock: Clock

    @property
    def engine(self) -> AsyncEngine:
        """The database engine."""

    @property
    def db_timeouts(self) -> Timeouts:
        """The bounds on database waits."""

    async def migrate(self) -> None:
        """Bring the database to the latest migration."""


class Jobs:
    """The registered job kinds of one root, and its job tables (``zoho.jobs``)."""

    def __init__(self, zoho: Root) -> None:
        self._zoho = zoho
        self._kinds: dict[str, JobKind] = {}
        self._store: JobStore | None = None
        # Workers of this process, told at once when this process schedules something (the
        # wake-up SQLite has no NOTIFY for).
        self._local_wakes: list[Callable[[], None]] = []

    @property
    def store(self) -> JobStore:
        """The job tables on the root's engine."""
        if self._store is None:
            self._store = JobStore(self._zoho.engine, timeout=self._zoho.db_timeouts.statement)
        return self._store

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        lease: float = 60.0,
        timeout: float | None = 300.0,
        max_attempts: int | None = None,
        retry_base: float = 2.0,
        retry_cap: float = 3600.0,
        description: str = "",
        on_start: StartHook | None = None,
        replace: bool = False,
    ) -> JobKind:
        """Register job kind ``name`` run by ``handler`` (see :class:`JobKind` for the
        options). Registering a name twice is an error unless ``replace``."""
        if name in self._kinds and not replace:
            raise ValueError(f"job kind {name!r} is registered already (pass replace=True)")
        kind = JobKind(
            name,
            handler,
            lease=lease,
            timeout=timeout,
            max_attempts=max_attempts,
            retry_base=retry_base,
            retry_cap=retry_cap,
            description=description,
            on_start=on_start,
        )
        self._kinds[name] = kind
        return kind

    @property
    def kinds(self) -> Mapping[str, JobKind]:
        """The registered kinds by name."""
        return dict(self._kinds)

    def kind(self, name: str) -> JobKind:
        """The registered kind ``name``; ``ValueError`` naming the known ones otherwise."""
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise ValueError(f"no job kind {name!r} is registered (known: {known})") from None

    async def schedule(
        self, kind: str, key: str, due_at: datetime | None = None, **options: Unpack[JobOptions]
    ) -> None:
        """Schedule job ``key`` of ``kind`` at ``due_at`` (default: now, by the root's clock),
        in a transaction of its own, with :func:`zohokit.worker.schedule`'s ``options``
        (``tenant``, ``payload``, ``if_absent``)."""
        await self._zoho.migrate()
        when = due_at if due_at is not None else self._zoho.clock()
        await self.store.transaction(lambda conn: _store.schedule(conn, kind, key, when, **options))
        for wake in list(self._local_wakes):
            wake()

    async def schedule_in(
        self, kind: str, key: str, seconds: float, **options: Unpack[JobOptions]
    ) -> None:
        """:meth:`schedule` ``seconds`` from now by the root's clock."""
        due = self._zoho.clock() + timedelta(seconds=seconds)
        await self.schedule(kind, key, due, **options)

    async def get(self, kind: str, key: str) -> Job | None:
        """The job ``key`` of ``kind`` as stored (``None``: not scheduled, or finished)."""
        await self._zoho.migrate()
        return await self.store.get(kind, key)

    async def cancel(self, kind: str, key: str) -> bool:
        """Remove a scheduled job; ``True`` if there was one. A run in progress finishes."""
        await self._zoho.migrate()
        return await self.store.cancel(kind, key)

    async def status(self) -> list[KindStatus]:
        """Per kind: due, scheduled, running, failed, last run (every registered kind, and
        any other kind the tables hold)."""
        await self._zoho.migrate()
        return await self.store.status(now=self._zoho.clock(), kinds=list(self._kinds))

    async def runs(self, **which: Unpack[RunFilter]) -> list[JobRun]:
        """The latest runs, newest first (the run history the admin page shows): of one
        ``kind``, ``key`` or ``tenant`` when given, at most ``limit`` (50)."""
        await self._zoho.migrate()
        return await self.store.runs(**which)

    def _on_local_schedule(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` whenever this process schedules a job; returns the undo."""
        self._local_wakes.append(wake)
        return lambda: self._local_wakes.remove(wake)
