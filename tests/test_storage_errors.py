"""What a user sees when the database is slow: the error names the wait that ran out and the
setting that bounds it, nothing the caller was told failed is written, and a program whose
statement was cut off still ends."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from zohokit import StorageUnavailable
from zohokit.db import bounded, create_engine


async def _table(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine


def _locked(path: Path) -> sqlite3.Connection:
    """Another process's connection holding the write lock: SQLite makes a writer wait for
    it up to its busy timeout, far longer than the statement bound."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def _run_to_the_end(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """``asyncio.run(main())`` as a script or a CLI command runs it (cancelling what is left
    at the end and waiting for it), in a thread so that a hang fails the test at once."""
    ended: list[Any] = []
    runner = threading.Thread(target=lambda: ended.append(asyncio.run(main())), daemon=True)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "the program never ended"
    return ended[0]


def test_a_statement_past_its_bound_names_the_setting_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "z.db"

    async def main() -> int:
        engine = await _table(path)
        other = _locked(path)

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))

        with pytest.raises(StorageUnavailable) as caught:
            await bounded(write(), seconds=0.3, url=engine.url)
        said = str(caught.value)
        assert "no answer within 0.3 s" in said
        assert "ZOHOKIT_DB_STATEMENT_TIMEOUT_SECONDS" in said
        other.execute("ROLLBACK")
        other.close()
        async with engine.begin() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
        await engine.dispose()
        return int(rows)

    assert _run_to_the_end(main) == 0  # the caller was told it failed, and it is not there


def test_a_connection_closed_while_its_statement_waits_lets_the_program_end(
    tmp_path: Path,
) -> None:
    """What SQLAlchemy does to a connection whose statement a bound cut off, in the order a
    shutdown can give it: a graceful close queued behind the waiting statement, then a stop
    by force, then the graceful close cancelled. Every part of it must end."""
    path = tmp_path / "z.db"

    async def main() -> set[asyncio.Future[Any]]:
        engine = await _table(path)
        other = _locked(path)
        conn = await engine.connect()
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        waiting = asyncio.ensure_future(driver.execute("INSERT INTO t VALUES (1)"))
        await asyncio.sleep(0.05)
        closing = asyncio.ensure_future(driver.close())
        await asyncio.sleep(0.05)
        driver.stop()
        closing.cancel()
        await asyncio.sleep(0.05)
        other.execute("ROLLBACK")
        other.close()
        _, pending = await asyncio.wait({waiting, closing}, timeout=5)
        await conn.invalidate()
        await engine.dispose()
        return pending

    assert _run_to_the_end(main) == set()
