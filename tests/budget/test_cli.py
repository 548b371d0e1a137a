"""What an operator sees and sets: ``zohokit budget status`` (table and ``--json``),
``zohokit budget set``, and an org's edition read from Zoho's ``/org``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.budget.conftest import TENANT, Roots, read, until
from tests.fixtures.cli_env import cli_environment
from tests.scheduling.support import CIPHER_KEY
from zohokit.cli import app
from zohokit.emulator import Emulator


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    """The CLI on the test's database, as a user's environment configures it."""
    cli_environment(
        monkeypatch,
        tmp_path,
        {"ZOHOKIT_DATABASE_URL": db_url, "ZOHOKIT_ENCRYPTION_KEYS": CIPHER_KEY, "COLUMNS": "250"},
    )
    return CliRunner()


async def zohokit(cli: CliRunner, *args: str) -> Result:
    """``zohokit ARGS`` (in a thread: the command runs its own event loop)."""
    return await asyncio.to_thread(cli.invoke, app, list(args))


# The reads must still be in flight when the command has started and read the database: on
# a busy machine that took more than 2 s once, and the reads had given their slots back.
@pytest.mark.zoho_emulator(latency_ms=6000)
async def test_status_shows_what_the_fleet_holds_and_spent(
    roots: Roots, cli: CliRunner, emulator: Emulator
) -> None:
    root = await roots()
    calls = asyncio.gather(*(read(root) for _ in range(3)))  # 3 slots held, 3 credits spent
    await until(lambda: emulator.stats.in_flight == 3)

    shown = await zohokit(cli, "budget", "status", TENANT, "--json")
    await calls

    assert shown.exit_code == 0, shown.output
    (state,) = json.loads(shown.output)
    assert state["tenant"] == TENANT
    assert (state["edition"], state["source"], state["concurrency"]) == ("standard", "default", 10)
    assert state["slots_in_use"]["interactive"] == 3
    assert state["processes_holding"] == 1
    assert state["credits_spent"]["interactive"] >= 3  # a chunk is taken ahead of spending
    table = await zohokit(cli, "budget", "status")
    assert TENANT in table.output
    assert "standard (default)" in table.output
    missing = await zohokit(cli, "budget", "status", "nobody")
    assert missing.exit_code == 1
    assert "no budget kept for tenant 'nobody'" in missing.output


async def test_set_changes_the_limits_for_the_fleet_and_names_what_is_wrong(
    roots: Roots, cli: CliRunner
) -> None:
    done = await zohokit(cli, "budget", "set", "acme", "--edition", "enterprise", "--users", "5")
    assert done.exit_code == 0, done.output
    root = await roots()
    assert root.budget is not None
    (state,) = await root.budget.status("acme")
    assert (state.edition, state.source, state.concurrency) == ("enterprise", "set", 20)
    assert state.daily_credits == 55_000

    narrowed = await zohokit(
        cli, "budget", "set", "acme", "--concurrency", "12", "--batch-share", "0.5"
    )
    assert narrowed.exit_code == 0, narrowed.output
    (state,) = await root.budget.status("acme")
    assert (state.concurrency, state.batch_slots, state.daily_credits) == (12, 6, 55_000)

    wrong = await zohokit(cli, "budget", "set", "acme", "--edition", "platinum")
    assert wrong.exit_code == 1
    assert "unknown Zoho edition 'platinum'" in wrong.output
    assert "enterprise" in wrong.output
    share = await zohokit(cli, "budget", "set", "acme", "--batch-share", "1.5")
    assert share.exit_code == 1
    assert "between 0 and 1" in share.output


async def test_an_orgs_edition_is_read_from_zoho_once_for_the_fleet(roots: Roots) -> None:
    first, second = await roots(), await roots()
    assert first.budget is not None
    assert second.budget is not None

    await first.read_edition(TENANT)  # the emulator's org: Enterprise, 10 user licences

    (state,) = await second.budget.status(TENANT)
    assert (state.edition, state.source) == ("enterprise", "org")
    assert (state.concurrency, state.heavy_concurrency) == (20, 10)
    assert state.daily_credits == 50_000 + 1_000 * 10
