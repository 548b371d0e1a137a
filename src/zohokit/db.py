"""The database: async engine creation and migrations (Alembic, shipped inside the package).

SQLite is the default (one file, WAL journal so readers never block the writer, and a busy
timeout so concurrent writers from several processes wait instead of failing). PostgreSQL
works with the same code. :func:`upgrade` applies the migrations; the token service and the
CLI call it on start, and it is safe to run from many processes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from ._files import private_dir, private_file
from .errors import ConfigurationError
from .settings import to_async_url

__all__ = ["UTCDateTime", "create_engine", "is_sqlite", "upgrade", "upgrade_async"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Milliseconds a SQLite writer waits for another process's write to finish.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# An arbitrary constant: the PostgreSQL advisory lock that serializes concurrent migrations.
_PG_MIGRATION_LOCK = 0x7A6F686F


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive).

    Every table of zohokit uses it, so that a time read back compares equal to the time
    written whichever database is behind the engine.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (their zone is a guess); store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(to_async_url(url)).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path | None:
    database = make_url(to_async_url(url)).database
    return Path(database) if database and database != ":memory:" else None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (plain ``sqlite://``/``postgresql://`` URLs are mapped).

    SQLite files are created owner-only (0600, in folders made 0700; SQLite gives its
    journal files the database's mode), with WAL mode and a busy timeout.
    """
    async_url = to_async_url(url)
    if is_sqlite(async_url):
        path = _sqlite_path(async_url)
        if path is not None:
            private_file(path)
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_async_engine(async_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
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
    if connection.dialect.name == "postgresql":
        # Held until the migration transaction ends: one migrator at a time across the fleet.
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), revision)


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
    """Apply the migrations up to ``revision`` on a URL or an existing engine."""
    engine = create_engine(target) if isinstance(target, str) else target
    url = engine.url.render_as_string(hide_password=False)
    try:
        if is_sqlite(url):
            # The flock blocks; keep it off the event loop.
            lock = _sqlite_migration_lock(url)
            await asyncio.to_thread(lock.__enter__)
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(_upgrade_on, revision)
            finally:
                lock.__exit__(None, None, None)
        else:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade_on, revision)
    finally:
        if isinstance(target, str):
            await engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations to the database at ``url`` (blocking; for scripts and the CLI)."""
    asyncio.run(upgrade_async(url, revision))
