"""``zohokit.blocking``: the same Zoho API for code that runs no event loop (Django, Flask,
Celery, scripts).

::

    from zohokit import Settings
    from zohokit.blocking import Zoho

    zoho = Zoho.from_settings(Settings())    # once per process, at start-up
    zoho.migrate()
    crm = zoho.crm("acme")
    for lead in crm.list_records("Leads", fields=["Last_Name", "Email"]):
        ...
    token = crm.get_access_token()
    zoho.close()                             # or ``with Zoho(...) as zoho:``, or at exit

**Not a copy.** A blocking :class:`Zoho` wraps one async :class:`zohokit.Zoho` and runs all
of its work on **one event loop in one thread** it owns. Each blocking class names the async
methods it offers, one line each (``get_record = waits(ZohoCRMService.get_record)``); the
descriptor runs the async method itself on that loop (``asyncio.run_coroutine_threadsafe``)
and waits for the answer, and an async iterator becomes a plain iterator that fetches each
item on the loop. No behaviour is re-implemented here: the token refresh, the retries, the
in-flight cap, the paging and every error are the async code's, raised as the same
:mod:`zohokit.errors` classes. The suite fails when an async class gains a public coroutine
its blocking class does not name (``tests/test_blocking.py``), so the two cannot drift apart.

**Typing.** The descriptors take the parameters and the result type of the async method
with ``ParamSpec`` (``Callable[Concatenate[S, P], Coroutine[..., R]]`` becomes
``Callable[P, R]``; ``AsyncIterator[T]`` becomes ``Iterator[T]``), so ``mypy --strict`` sees
the exact async signatures minus the ``await``. We chose this over a ``__getattr__`` proxy
(no types at all), a ``Protocol`` or a generated ``.pyi`` (both a second, hand-kept or
regenerated list of signatures that can drift).

**Thread safety.** One blocking root is meant to be shared by every thread of a process
(Django and Flask worker threads, Celery thread pools): any number of threads may call it at
once. Their calls run concurrently on the one loop, so they share one connection pool, one
token cache (eight threads asking for a token cause one refresh) and one in-flight cap per
tenant. The loop starts on the first call (building a root opens nothing), under a lock.

**Shutdown.** :meth:`Zoho.close` (or leaving ``with``) closes the async root (connections,
accounts client, engine), cancels what is still running and stops the loop thread; a call
after it starts a fresh loop. A root never closed is closed at interpreter exit (and when it
is garbage-collected). After a fork (gunicorn, Celery prefork) a root the parent never used
starts its own loop in the child; one the parent used raises
:class:`~zohokit.errors.BlockingCallError` there rather than wait on a loop thread that
stayed behind in the parent. Calling the blocking API from the loop thread itself (from inside a
coroutine this root runs) would wait on itself forever: it raises
:class:`~zohokit.errors.BlockingCallError` instead; async code uses the async API.

**Why one module of about 600 lines.** It holds one idea, the blocking mirror of the
async surface: the loop thread, the descriptors and each class's one-line method list (the
CRM's parts, ``crm.notes`` ..., are faces too, handed out by one descriptor).
Split, a reader would find a class's methods in one file and what they do in another.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import (
    Any,
    ClassVar,
    Concatenate,
    Generic,
    ParamSpec,
    Self,
    TypeVar,
    get_args,
    overload,
)

from . import crm as _crm
from ._zoho import Zoho as AsyncZoho
from .calendar import ZohoCalendarService
from .crm import ZohoCRMService
from .errors import BlockingCallError
from .http import ZohoService
from .scheduling import BookingService
from .settings import Settings
from .tokens import OAuthTokenService

__all__ = [
    "Attachments",
    "Bookings",
    "Calendar",
    "Composite",
    "Crm",
    "Files",
    "Leads",
    "Notes",
    "Related",
    "Tags",
    "Tokens",
    "Zoho",
]

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
Obj = TypeVar("Obj")
V = TypeVar("V")


class _Running:
    """One started loop and its thread (a root that is closed and used again gets a new one)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.closed = False
        self.pid = os.getpid()
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._serve, args=(ready,), name="zohokit-blocking", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def on_loop(self) -> bool:
        return threading.current_thread() is self.thread

    def wait(self, coro: Coroutine[Any, Any, R]) -> R:
        if self.on_loop():
            coro.close()
            raise BlockingCallError(
                "a blocking zohokit call was made from its own event loop thread (inside a "
                "coroutine it runs): await the async API there instead"
            )
        if self.closed:
            coro.close()
            raise BlockingCallError(
                "this blocking zohokit call belongs to a root that was closed: start again "
                "from the root (its next call starts a new loop)"
            )
        if self.pid != os.getpid():
            coro.close()
            raise BlockingCallError(
                "this blocking zohokit root was used before the process forked, and its loop "
                "and connections stayed in the parent: build the root after the fork (or make "
                "no call with it before), one per worker process"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt (or a timeout the caller's framework raises) while waiting:
            # stop the call on the loop too. A no-op when the call itself raised.
            future.cancel()
            raise

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    item = self.wait(_next(items))
                except StopAsyncIteration:
                    return
                yield item
        finally:
            # Left early (break, an error, garbage collection): let the async generator run
            # its own clean-up, on the loop, unless the loop is already gone.
            aclose = getattr(items, "aclose", None)
            if aclose is not None and not self.closed and self.pid == os.getpid():
                if self.on_loop():
                    self.loop.create_task(aclose())
                else:
                    self.wait(aclose())

    def stop(self, last: Callable[[], Awaitable[None]] | None) -> None:
        async def shutdown() -> None:
            try:
                if last is not None:
                    await last()
            finally:
                mine = asyncio.current_task()
                others = [t for t in asyncio.all_tasks() if t is not mine]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)
                await self.loop.shutdown_asyncgens()
                await self.loop.shutdown_default_executor()

        if self.closed:
            return
        if self.pid != os.getpid():  # a forked child: the loop thread lives in the parent
            self.closed = True
            return
        if self.on_loop():  # garbage-collected on its own thread: nothing can wait here
            self.closed = True
            self.loop.call_soon(self.loop.stop)
            return
        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result()
        finally:
            self.closed = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


async def _next(items: AsyncIterator[T]) -> T:
    return await items.__anext__()


async def _call(fn: Callable[[], R]) -> R:
    return fn()


class _Runner:
    """The loop thread of one blocking root: started on first use, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: _Running | None = None

    def running(self) -> _Running:
        running = self._running
        if running is None or running.closed:
            with self._lock:
                running = self._running
                if running is None or running.closed:
                    running = self._running = _Running()
        return running

    def wait(self, coro: Coroutine[Any, Any, R]) -> R:
        return self.running().wait(coro)

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        return self.running().iterate(items)

    def stop(self, last: Callable[[], Awaitable[None]] | None = None) -> None:
        with self._lock:
            running, self._running = self._running, None
        if running is not None:
            running.stop(last)


class _Face(Generic[S_co]):
    """The blocking face of one async object, whose work runs on a root's loop thread."""

    #: The async class whose public coroutines this face offers (the drift test reads it):
    #: the face's type argument (``class Notes(_Part[crm.Notes])``), so it is named once.
    wraps: ClassVar[type[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            wrapped = get_args(base)[:1]
            if wrapped and isinstance(wrapped[0], type):
                cls.wraps = wrapped[0]

    def __init__(self, target: S_co, runner: _Runner) -> None:
        self._target = target
        self._runner = runner

    @property
    def aio(self) -> S_co:
        """The async object behind this face, for an ``async`` caller or :meth:`Zoho.run`."""
        return self._target

    def __repr__(self) -> str:
        return f"blocking {self._target!r}"


class _Bound(Generic[Obj, V]):
    """A descriptor that, read on an ``Obj``, gives the ``V`` it makes for that instance
    (:meth:`_bind`); read on the class, itself (what the drift test inspects)."""

    def _bind(self, instance: Obj) -> V:
        raise NotImplementedError

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: Obj, owner: type[Any]) -> V: ...
    def __get__(self, instance: Obj | None, owner: type[Any]) -> Self | V:
        return self if instance is None else self._bind(instance)


def _without_self(method: Callable[..., Any]) -> inspect.Signature:
    """``method``'s signature as its blocking twin is called: bound, so without ``self``."""
    signature = inspect.signature(method)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _twin(
    method: Callable[..., Any], signature: inspect.Signature, call: Callable[P, R]
) -> Callable[P, R]:
    """``call`` dressed as ``method``'s blocking twin: its name, docstring and ``signature``."""
    functools.update_wrapper(
        call, method, assigned=("__name__", "__qualname__", "__doc__"), updated=()
    )
    call.__signature__ = signature  # type: ignore[attr-defined]
    return call


class _Offered(_Bound[_Face[S], Callable[P, R]], Generic[S, P, R]):
    """One method of the async class, offered on a blocking face: its signature and docstring
    are the async method's; ``_run`` turns what the async method returns into ``R``."""

    def __init__(self, method: Callable[Concatenate[S, P], Any]) -> None:
        self.method = method
        self.__doc__ = method.__doc__
        self._signature = _without_self(method)

    def _run(self, runner: _Runner, made: Any) -> R:
        raise NotImplementedError

    def _bind(self, instance: _Face[S]) -> Callable[P, R]:
        method, target, runner = self.method, instance._target, instance._runner

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return self._run(runner, method(target, *args, **kwargs))

        return _twin(method, self._signature, call)


class waits(_Offered[S, P, R]):
    """A coroutine method of the async class, offered as a call that returns its result."""

    def __init__(self, method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]]) -> None:
        super().__init__(method)

    def _run(self, runner: _Runner, made: Coroutine[Any, Any, R]) -> R:
        return runner.wait(made)


class iterates(_Offered[S, P, Iterator[T]]):
    """An async-iterator method of the async class, offered as a plain iterator (each item
    is fetched on the loop as the caller asks for it)."""

    def __init__(self, method: Callable[Concatenate[S, P], AsyncIterator[T]]) -> None:
        super().__init__(method)

    def _run(self, runner: _Runner, made: AsyncIterator[T]) -> Iterator[T]:
        return runner.iterate(made)


class _HandsOut(_Bound["Zoho", Callable[P, R]], Generic[P, S, R]):
    """A method of the async root that hands out a service, offered on the blocking root with
    the same signature: the service is built on the loop, then given its blocking face."""

    def __init__(
        self, method: Callable[Concatenate[AsyncZoho, P], S], face: Callable[[S, _Runner], R]
    ) -> None:
        self.method, self.face = method, face
        self.__doc__ = method.__doc__
        self._signature = _without_self(method)

    def _bind(self, instance: Zoho) -> Callable[P, R]:
        method, async_root, runner = self.method, instance.aio, instance._runner

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            # The async root builds its parts (engine, HTTP clients, locks) on first use:
            # build them on the loop that will use them.
            built = runner.wait(_call(lambda: method(async_root, *args, **kwargs)))
            return self.face(built, runner)

        return _twin(method, self._signature, call)


Svc = TypeVar("Svc", ZohoCRMService, ZohoCalendarService)


class _Service(_Face[Svc]):
    """What both services' faces share: the tenant and the seed's two calls."""

    @property
    def tenant(self) -> str:
        """The tenant key whose tokens this service uses."""
        return self._target.tenant

    @property
    def client_id(self) -> str:
        """The OAuth client id (the credentials', else the environment's)."""
        return self._target.client_id

    def is_configured(self) -> bool:
        """Whether this service has what it needs to call Zoho (the seed's; no call made)."""
        return self._target.is_configured()

    get_access_token = waits(ZohoService.get_access_token)


Part = TypeVar("Part", bound=_crm.CrmPart)
F = TypeVar("F", bound="_Part[Any]")


class _Part(_Face[Part]):
    """The blocking face of one group of CRM calls (``crm.notes``, ...)."""

    def at(self, version: str) -> Self:
        """The same calls in API ``version`` (``v2`` .. ``v8``)."""
        return type(self)(self._target.at(version), self._runner)


class _PartOf(_Bound["Crm", F]):
    """A CRM part offered on the blocking :class:`Crm`: the async service's part of the same
    name, given its blocking face ``face``."""

    def __init__(self, face: type[F]) -> None:
        self.face = face

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def _bind(self, instance: Crm) -> F:
        return self.face(getattr(instance.aio, self.name), instance._runner)


class Notes(_Part[_crm.Notes]):
    """:class:`zohokit.crm.Notes`, blocking."""

    list = iterates(_crm.Notes.list)
    add = waits(_crm.Notes.add)
    update = waits(_crm.Notes.update)
    delete = waits(_crm.Notes.delete)


class Attachments(_Part[_crm.Attachments]):
    """:class:`zohokit.crm.Attachments`, blocking (a download is an iterator of chunks)."""

    upload = waits(_crm.Attachments.upload)
    list = iterates(_crm.Attachments.list)
    download = iterates(_crm.Attachments.download)
    delete = waits(_crm.Attachments.delete)


class Files(_Part[_crm.Files]):
    """:class:`zohokit.crm.Files`, blocking."""

    upload = waits(_crm.Files.upload)
    download = iterates(_crm.Files.download)
    set_field = waits(_crm.Files.set_field)


class Related(_Part[_crm.Related]):
    """:class:`zohokit.crm.Related`, blocking."""

    list = iterates(_crm.Related.list)
    link = waits(_crm.Related.link)
    unlink = waits(_crm.Related.unlink)


class Tags(_Part[_crm.Tags]):
    """:class:`zohokit.crm.Tags`, blocking."""

    of_module = waits(_crm.Tags.of_module)
    of_record = waits(_crm.Tags.of_record)
    add = waits(_crm.Tags.add)
    remove = waits(_crm.Tags.remove)


class Leads(_Part[_crm.Leads]):
    """:class:`zohokit.crm.Leads`, blocking."""

    convert = waits(_crm.Leads.convert)


class Composite(_Part[_crm.Composite]):
    """:class:`zohokit.crm.Composite`, blocking."""

    send = waits(_crm.Composite.send)


class Crm(_Service[ZohoCRMService]):
    """Zoho CRM for one tenant, blocking: :class:`zohokit.crm.ZohoCRMService`'s methods with
    the same arguments, results and errors; its async iterators are plain iterators."""

    list_records = iterates(ZohoCRMService.list_records)
    get_record = waits(ZohoCRMService.get_record)
    search_records = iterates(ZohoCRMService.search_records)
    coql = waits(ZohoCRMService.coql)
    deleted_records = iterates(ZohoCRMService.deleted_records)
    modules = waits(ZohoCRMService.modules)
    fields = waits(ZohoCRMService.fields)
    module = waits(ZohoCRMService.module)
    layouts = waits(ZohoCRMService.layouts)
    insert_records = waits(ZohoCRMService.insert_records)
    update_records = waits(ZohoCRMService.update_records)
    upsert_records = waits(ZohoCRMService.upsert_records)
    delete_records = waits(ZohoCRMService.delete_records)
    record_count = waits(ZohoCRMService.record_count)
    bulk_read = iterates(ZohoCRMService.bulk_read)
    bulk_write = waits(ZohoCRMService.bulk_write)
    bulk_job = waits(ZohoCRMService.bulk_job)
    wait_bulk_job = waits(ZohoCRMService.wait_bulk_job)
    bulk_write_results = waits(ZohoCRMService.bulk_write_results)

    notes = _PartOf(Notes)
    attachments = _PartOf(Attachments)
    files = _PartOf(Files)
    related = _PartOf(Related)
    tags = _PartOf(Tags)
    leads = _PartOf(Leads)
    composite = _PartOf(Composite)


class Calendar(_Service[ZohoCalendarService]):
    """Zoho Calendar for one tenant, blocking: :class:`zohokit.calendar.ZohoCalendarService`'s
    methods with the same arguments, results and errors."""

    @property
    def calendar_id(self) -> str:
        """The calendar this service reads and writes by default."""
        return self._target.calendar_id

    list_calendars = waits(ZohoCalendarService.list_calendars)
    get_calendar = waits(ZohoCalendarService.get_calendar)
    check_freebusy = waits(ZohoCalendarService.check_freebusy)
    list_events = waits(ZohoCalendarService.list_events)
    get_event = waits(ZohoCalendarService.get_event)
    create_event = waits(ZohoCalendarService.create_event)
    update_event = waits(ZohoCalendarService.update_event)
    delete_event = waits(ZohoCalendarService.delete_event)
    get_freebusy = waits(ZohoCalendarService.get_freebusy)
    get_busy = waits(ZohoCalendarService.get_busy)
    get_available_slots = waits(ZohoCalendarService.get_available_slots)


class Tokens(_Face[OAuthTokenService]):
    """The root's token service, blocking: :class:`zohokit.tokens.OAuthTokenService`'s calls
    (the root closes it: there is no ``close`` here)."""

    get_access_token = waits(OAuthTokenService.get_access_token)
    get_token = waits(OAuthTokenService.get_token)
    invalidate = waits(OAuthTokenService.invalidate)
    force_refresh = waits(OAuthTokenService.force_refresh)
    settle = waits(OAuthTokenService.settle)
    refresh_ahead = waits(OAuthTokenService.refresh_ahead)
    status = waits(OAuthTokenService.status)
    list_tokens = waits(OAuthTokenService.list_tokens)
    store_grant = waits(OAuthTokenService.store_grant)
    exchange_code = waits(OAuthTokenService.exchange_code)
    revoke = waits(OAuthTokenService.revoke)
    forget = waits(OAuthTokenService.forget)
    import_env = waits(OAuthTokenService.import_env)
    rotate_encryption_key = waits(OAuthTokenService.rotate_encryption_key)


class Bookings(_Face[BookingService]):
    """The root's booking flow, blocking: :class:`zohokit.scheduling.BookingService`'s calls."""

    set_schedule = waits(BookingService.set_schedule)
    get_schedule = waits(BookingService.get_schedule)
    availability = waits(BookingService.availability)
    hold = waits(BookingService.hold)
    release = waits(BookingService.release)
    confirm = waits(BookingService.confirm)
    cancel = waits(BookingService.cancel)
    reschedule = waits(BookingService.reschedule)
    get = waits(BookingService.get)
    list_bookings = waits(BookingService.list_bookings)
    count_unsynced = waits(BookingService.count_unsynced)
    retry_pending = waits(BookingService.retry_pending)
    explain = waits(BookingService.explain)


def _stop(runner: _Runner, root: AsyncZoho) -> None:
    runner.stop(root.aclose)


class Zoho:
    """zohokit's root, blocking: one async :class:`zohokit.Zoho` run on one loop thread.

    Build it once per process (Django's ``AppConfig.ready()``, Flask's app factory, Celery's
    ``worker_process_init``) and share it between threads: ``Zoho(zohokit.Zoho(...))`` from
    plain arguments, or :meth:`from_settings`. Building it opens nothing; the loop thread
    starts on the first call. :meth:`close` (or ``with``) releases everything; an unclosed
    root is closed at interpreter exit.
    """

    def __init__(self, root: AsyncZoho) -> None:
        self._root = root
        self._runner = _Runner()
        # Runs at most once, on garbage collection or at interpreter exit (atexit=True),
        # whichever comes first; holds the runner and the async root, never ``self``.
        self._at_exit = weakref.finalize(self, _stop, self._runner, root)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Zoho:
        """The root the environment describes (:meth:`zohokit.Zoho.from_settings`'s options:
        ``transport``, ``clock``, ``retry``)."""
        return cls(AsyncZoho.from_settings(settings, **options))

    def __repr__(self) -> str:
        return f"blocking {self._root!r}"

    @property
    def aio(self) -> AsyncZoho:
        """The async root behind this one (run its coroutines with :meth:`run`)."""
        return self._root

    def run(self, awaitable: Coroutine[Any, Any, R]) -> R:
        """Run one coroutine of the async API on this root's loop and return its result: the
        way to what the blocking classes do not offer, e.g.
        ``zoho.run(zoho.aio.ledger.runs())``."""
        return self._runner.wait(awaitable)

    def _on_loop(self, build: Callable[[], R]) -> R:
        return self._runner.wait(_call(build))

    crm = _HandsOut(AsyncZoho.crm, Crm)
    calendar = _HandsOut(AsyncZoho.calendar, Calendar)

    @property
    def tokens(self) -> Tokens:
        """The token service (every access token), blocking."""
        return Tokens(self._on_loop(lambda: self._root.tokens), self._runner)

    @property
    def bookings(self) -> Bookings:
        """The booking flow on this root's database and Zoho services, blocking."""
        return Bookings(self._on_loop(lambda: self._root.bookings), self._runner)

    def migrate(self) -> None:
        """Bring the database to the latest migration, once (``with`` does it)."""
        self._runner.wait(self._root.migrate())

    def rotate_encryption_key(self) -> int:
        """Re-encrypt everything sealed with the token keys
        (:meth:`zohokit.Zoho.rotate_encryption_key`); returns the rows changed."""
        return self._runner.wait(self._root.rotate_encryption_key())

    def close(self) -> None:
        """Close the async root (connections, engine), cancel what still runs and stop the
        loop thread. Safe to call twice; a later call on this root starts a new loop."""
        _stop(self._runner, self._root)

    def __enter__(self) -> Zoho:
        self.migrate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
