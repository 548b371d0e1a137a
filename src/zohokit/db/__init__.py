"""The database: async engine creation and migrations (Alembic, shipped inside the package).

SQLite is the default (one file, WAL journal so readers never block the writer, and a busy
timeout so concurrent writers from several processes wait instead of failing). PostgreSQL
works with the same code. :func:`upgrade` applies the migrations; the token service and the
CLI call it on start, and it is safe to run from many processes at once.

A database is a dependency that fails, so nothing waits on it without a bound
(:class:`Timeouts`): opening a connection (``connect``), each statement (``statement``: a
server-side ``statement_timeout`` and the driver's own ``command_timeout`` on PostgreSQL, so
a server that stops answering altogether is given up on too; on SQLite the wait for another
writer's lock), and waiting for a pooled connection (``pool``). :func:`storage_errors` turns
whatever the driver raises when the database is away into
:class:`~zohokit.errors.StorageUnavailable`.

:class:`Listener` wakes a waiting task at once on PostgreSQL (``LISTEN`` on one channel):
the worker listens on the jobs channel (a job scheduled due now is picked up as soon as it
commits instead of at the next poll), the budget on its own (slots given back wake the
processes that wait for them). A listener holds one connection of the pool while it
listens; when it cannot listen (SQLite, or the connection was lost) its user polls, and tries
to listen again every so often.

What every part's table descriptions and statements share (:class:`UTCDateTime`, the
``tenant``/``id``/timestamp/lease columns, :func:`dialect_insert`, :func:`where_given`,
:func:`from_row`, ...) is in :mod:`zohokit.db._tables`, re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .._files import private_dir, private_file
from ..errors import ConfigurationError, StorageUnavailable
from ..settings import Settings, to_async_url
from . import _tables
from ._tables import *  # noqa: F403  (the shared table helpers, re-exported whole)

T = TypeVar("T")

__all__ = [
    "Listener",
    "Timeouts",
    "bounded",
    "create_engine",
    "is_sqlite",
    "safe_url",
    "storage_errors",
    "upgrade",
    "upgrade_async",
    "within",
]
__all__ += _tables.__all__

log = logging.getLogger("zohokit.db")

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"
#: Milliseconds a SQLite writer waits for another process's write to finish.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# An arbitrary constant: the PostgreSQL advisory lock that serializes concurrent migrations.
_PG_MIGRATION_LOCK = 0x7A6F686F
#: How long a process waits for a peer's migration before giving up.
MIGRATION_LOCK_WAIT_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for the database: to connect, per statement, for a pooled connection.

    ``sqlite_busy`` is how long a SQLite writer waits for another process's write: SQLite's
    only way to block, and longer by default because many processes legitimately queue on
    one file's write lock.
    """

    connect: float = 5.0
    statement: float = 5.0
    pool: float = 5.0
    sqlite_busy: float = SQLITE_BUSY_TIMEOUT_MS / 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        """``ZOHOKIT_DB_CONNECT_TIMEOUT_SECONDS``, ``..._STATEMENT_...``, ``..._POOL_...``."""
        return cls(
            connect=settings.zohokit_db_connect_timeout_seconds,
            statement=settings.zohokit_db_statement_timeout_seconds,
            pool=settings.zohokit_db_pool_timeout_seconds,
        )

    def __post_init__(self) -> None:
        for name in ("connect", "statement", "pool", "sqlite_busy"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the database {name} timeout must be positive")


#: What drivers raise when the database is away: refused or lost connections, timeouts.
#: (asyncpg raises ``ConnectionRefusedError`` and ``TimeoutError`` unwrapped on connect, and
#: its own errors, recognised by module so that importing zohokit does not import asyncpg.)
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    OSError,
    TimeoutError,
)


def _is_driver_error(exc: BaseException) -> bool:
    return isinstance(exc, _DRIVER_ERRORS) or type(exc).__module__.startswith("asyncpg")


def safe_url(url: str | URL) -> str:
    """A database URL with its password hidden, fit for a message."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


@contextlib.contextmanager
def storage_errors(
    url: str | URL, *, tenant: str | None = None, provider: str | None = None
) -> Iterator[None]:
    """Raise :class:`StorageUnavailable` ``from`` any driver error inside the block.

    Usable around awaits (``with storage_errors(engine.url): await ...``).
    """
    try:
        yield
    except StorageUnavailable:
        raise
    except Exception as exc:
        if not _is_driver_error(exc):
            raise
        shown = safe_url(url)
        raise StorageUnavailable(
            f"the database {shown} cannot be reached or did not answer in time"
            f" ({_which_wait(exc)}): check that it is running and reachable, and"
            " ZOHOKIT_DATABASE_URL",
            url=shown,
            tenant=tenant,
            provider=provider,
        ) from exc


def _which_wait(exc: BaseException) -> str:
    """The error's kind and, for one of our own bounds, which wait ran out and the setting
    that sets it: an operator told only "TimeoutError" cannot tell a slow statement from an
    exhausted pool. A driver's own text is left out, as it may quote a statement's values."""
    if isinstance(exc, sa_exc.TimeoutError):
        return (
            "TimeoutError: no pooled connection came free in time, ZOHOKIT_DB_POOL_TIMEOUT_SECONDS"
        )
    if isinstance(exc, TimeoutError) and str(exc).startswith(_NO_ANSWER):
        return f"TimeoutError: {exc}, ZOHOKIT_DB_STATEMENT_TIMEOUT_SECONDS"
    return type(exc).__name__


#: Abandoned statements finishing in the background (a reference keeps each task alive).
_ABANDONED: set[asyncio.Task[Any]] = set()


#: How :func:`within`'s timeout begins, so that :func:`storage_errors` can name the setting.
_NO_ANSWER = "no answer within"


def _forget(task: asyncio.Task[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def within(work: Coroutine[Any, Any, T], seconds: float) -> T:
    """Await ``work`` for at most ``seconds``; ``TimeoutError`` past that.

    ``work`` runs as its own task: when the database stops answering, the caller gets its
    error on time while the abandoned work's cleanup (a rollback on a connection that does
    not answer) finishes in the background under the driver's own timeouts.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        _ABANDONED.add(task)
        task.add_done_callback(_forget)
        raise TimeoutError(f"{_NO_ANSWER} {seconds:g} s")
    return task.result()


async def bounded(
    work: Coroutine[Any, Any, T],
    *,
    seconds: float,
    url: str | URL,
    tenant: str | None = None,
    provider: str | None = None,
) -> T:
    """:func:`within`, with driver errors and the timeout raised as
    :class:`StorageUnavailable`."""
    with storage_errors(url, tenant=tenant, provider=provider):
        return await within(work, seconds)


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(to_async_url(url)).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path | None:
    database = make_url(to_async_url(url)).database
    return Path(database) if database and database != ":memory:" else None


def _answer_every_stop(driver: Any) -> None:
    """Make an aiosqlite connection's ``stop()`` answer every caller, not only the first.

    Its worker thread ends at the first stop request it reads, so a second request queued
    behind it is never answered. SQLAlchemy asks twice when a statement is cancelled (as
    :func:`within` does past its bound) while the thread is still busy with it: it terminates
    the connection by force once the graceful close is cancelled in turn, and the close's own
    clean-up asks again. The task awaiting that second answer never ends, and the event
    loop's shutdown, which waits for it, hangs. Every later request now gets the first one's
    answer, which the thread gives when it reaches it.
    """
    first_stop = driver.stop
    asked: list[Any] = []

    def stop() -> Any:
        if not asked:
            asked.append(first_stop())
        return asked[0]

    driver.stop = stop


def _on_sqlite_connect(busy_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if callable(getattr(driver, "stop", None)):
            _answer_every_stop(driver)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def create_engine(url: str, *, timeouts: Timeouts | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (plain ``sqlite://``/``postgresql://`` URLs are mapped).

    ``timeouts`` (:class:`Timeouts`, defaults when omitted) bound connecting, each statement
    and the pool checkout. SQLite files are created owner-only (0600, in folders made 0700;
    SQLite gives its journal files the database's mode), with WAL mode and a busy timeout.
    """
    t = timeouts or Timeouts()
    async_url = to_async_url(url)
    if is_sqlite(async_url):
        path = _sqlite_path(async_url)
        if path is not None:
            private_file(path)
            # A file database has a queue pool; an in-memory one a single static connection.
            kwargs.setdefault("pool_timeout", t.pool)
        kwargs.setdefault("connect_args", {"timeout": t.sqlite_busy})
        engine = create_async_engine(async_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect(round(t.sqlite_busy * 1000)))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", t.pool)
    if make_url(async_url).get_backend_name() == "postgresql":
        kwargs.setdefault(
            "connect_args",
            {
                "timeout": t.connect,
                # Client side: a server that stops answering (frozen, cut off) is given up on.
                "command_timeout": t.statement,
                # Server side: a slow statement is cancelled by the server itself.
                "server_settings": {"statement_timeout": str(round(t.statement * 1000))},
            },
        )
    try:
        return create_async_engine(async_url, **kwargs)
    except ModuleNotFoundError as exc:
        if exc.name != "asyncpg":
            raise
        raise ConfigurationError(
            "a PostgreSQL database needs the postgres extra: pip install 'zohokit[postgres]'"
        ) from None


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade_on(connection: Connection, revision: str) -> None:
    command.upgrade(_alembic_config(connection), revision)


async def _take_migration_lock(conn: AsyncConnection) -> None:
    """One migrator at a time across the fleet: a PostgreSQL advisory lock, held until the
    migration transaction ends.

    Polled with ``pg_try_advisory_xact_lock`` rather than waited for in one statement: the
    statement timeout would cut a long wait behind a peer's migration short, and each try
    answers at once.
    """
    deadline = asyncio.get_running_loop().time() + MIGRATION_LOCK_WAIT_SECONDS
    while not (
        await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    ).scalar():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(
                f"another process held the migration lock for {MIGRATION_LOCK_WAIT_SECONDS:g} s"
            )
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    # SQLite has no advisory locks, and two processes creating the same tables at once would
    # fail; a lock file next to the database serializes them.
    path = _sqlite_path(url)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no concurrent-start protection
        yield
        return
    private_dir(path.parent)
    fd = os.open(f"{path}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


async def upgrade_async(target: str | AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` on a URL or an existing engine.

    A database that cannot be reached raises :class:`StorageUnavailable`.
    """
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        with storage_errors(engine.url):
            await _upgrade(engine, revision)
    finally:
        if isinstance(target, str):
            await engine.dispose()


async def _upgrade(engine: AsyncEngine, revision: str) -> None:
    url = engine.url.render_as_string(hide_password=False)
    if not is_sqlite(url):
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await _take_migration_lock(conn)
            await conn.run_sync(_upgrade_on, revision)
        return
    # The flock blocks; keep it off the event loop.
    lock = _sqlite_migration_lock(url)
    await asyncio.to_thread(lock.__enter__)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, revision)
    finally:
        lock.__exit__(None, None, None)


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations to the database at ``url`` (blocking; for scripts and the CLI)."""
    asyncio.run(upgrade_async(url, revision))


class Listener:
    """Calls ``on_wake()`` whenever anyone on this PostgreSQL notifies ``channel``."""

    def __init__(
        self, engine: AsyncEngine, channel: str, on_wake: Callable[[], None], *, timeout: float
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._on_wake = on_wake
        self._timeout = timeout
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    @property
    def listening(self) -> bool:
        """Whether notifications arrive now (else its user relies on polling)."""
        return self._driver is not None and not self._driver.is_closed()

    def _notified(self, *_args: object) -> None:
        self._on_wake()

    async def start(self) -> bool:
        """Listen, if this is PostgreSQL and it answers; ``True`` if listening now."""
        if self._engine.dialect.name != "postgresql" or self.listening:
            return self.listening
        await self.close()
        try:
            conn = self._engine.connect()
            await bounded(conn.start(), seconds=self._timeout, url=self._engine.url)
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await bounded(
                driver.add_listener(self._channel, self._notified),
                seconds=self._timeout,
                url=self._engine.url,
            )
        except Exception as exc:  # any failure means: poll, and try again later
            log.warning("listen_failed channel=%s error=%s", self._channel, type(exc).__name__)
            return False
        self._conn, self._driver = conn, driver
        return True

    async def close(self) -> None:
        """Stop listening and give the connection back."""
        conn, driver, self._conn, self._driver = self._conn, self._driver, None, None
        if conn is not None:
            try:
                # The connection goes back to the pool: it must not keep calling us.
                if driver is not None and not driver.is_closed():
                    await driver.remove_listener(self._channel, self._notified)
                await conn.close()
            except Exception:  # a lost connection has nothing left to close
                log.debug("listen_close_failed channel=%s", self._channel, exc_info=True)
