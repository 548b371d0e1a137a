"""With PostgreSQL stopped or frozen, ``zohokit tokens list``/``status`` and ``zohokit sync
status`` print one line that says what to check, and exit non-zero: no traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.postgres import PostgresOutage
from zohokit.cli import app
from zohokit.db import upgrade_async
from zohokit.tokens import generate_key

pytestmark = pytest.mark.postgres
runner = CliRunner()
COMMANDS = [["tokens", "list"], ["tokens", "status", "acme"], ["sync", "status"]]


@pytest.fixture
def database_url(
    postgres_outage: PostgresOutage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    url = postgres_outage.url(postgres_outage.cluster.create_database())
    # The schema is built first, with the default bounds: the migrations can outlast the
    # one-second statement bound below on a busy machine, and that is not what is tested here.
    asyncio.run(upgrade_async(url))
    for name, value in {
        "ZOHOKIT_DATABASE_URL": url,
        "ZOHOKIT_DATA_DIR": str(tmp_path / "data"),
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
        "ZOHOKIT_DB_CONNECT_TIMEOUT_SECONDS": "1",
        "ZOHOKIT_DB_STATEMENT_TIMEOUT_SECONDS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return url


def _one_line_failure(args: list[str]) -> str:
    result = runner.invoke(app, args, catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0, result.output
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_the_commands_work_while_the_database_is_up(database_url: str) -> None:
    for args in COMMANDS[:1] + COMMANDS[2:]:
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_stopped_database_is_one_line_and_a_failed_exit(
    args: list[str], database_url: str, postgres_outage: PostgresOutage
) -> None:
    postgres_outage.stop()
    line = _one_line_failure(args)
    assert line.startswith("error: the database postgresql")
    assert "ZOHOKIT_DATABASE_URL" in line
    assert "ConnectionRefusedError" in line or "OSError" in line


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_frozen_database_is_one_line_and_a_failed_exit(
    args: list[str], database_url: str, postgres_outage: PostgresOutage
) -> None:
    postgres_outage.freeze()
    line = _one_line_failure(args)
    assert line.startswith("error: the database postgresql")
    assert "did not answer in time" in line
