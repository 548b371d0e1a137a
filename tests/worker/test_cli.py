"""``zohokit worker`` as a real process (runs due jobs, stops on SIGTERM), ``zohokit worker
status``, and the same loop inside the service (``create_app(worker=True)``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.cli_env import cli_environment
from tests.server.support import settings_for
from zohokit import Settings, Zoho
from zohokit.cli import app
from zohokit.server import create_app
from zohokit.tokens import generate_key
from zohokit.worker._housekeeping import PRUNE_RUNS


def _env(folder: Path) -> dict[str, str]:
    return {
        "ZOHOKIT_DATABASE_URL": f"sqlite:///{folder / 'zohokit.db'}",
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
    }


async def _schedule_prune(env: dict[str, str]) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        zohokit_database_url=env["ZOHOKIT_DATABASE_URL"],
        zohokit_encryption_keys=env["ZOHOKIT_ENCRYPTION_KEYS"],
    )
    async with Zoho.from_settings(settings) as zoho:
        await zoho.jobs.schedule(PRUNE_RUNS, "all")


def test_the_worker_process_runs_due_jobs_and_stops_on_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path)
    asyncio.run(_schedule_prune(env))
    proc = subprocess.Popen(
        [sys.executable, "-m", "zohokit", "worker", "--poll", "0.1"],
        env={**os.environ, **env, "COLUMNS": "300"},
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        cli_environment(monkeypatch, tmp_path, env)
        runner = CliRunner()
        deadline = time.monotonic() + 30
        while True:
            answer = runner.invoke(app, ["worker", "status", "--json"])
            assert answer.exit_code == 0, answer.output
            [status] = [s for s in json.loads(answer.output) if s["kind"] == PRUNE_RUNS]
            if status["last_run"] is not None and status["last_run"]["outcome"] == "ok":
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        # Ran, and scheduled itself a day later (by the worker's clock).
        assert (status["due"], status["scheduled"], status["failed"]) == (0, 1, 0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "running: " in err
    assert PRUNE_RUNS in err
    assert "stopped" in err
    table = runner.invoke(app, ["worker", "status"])
    assert table.exit_code == 0
    assert PRUNE_RUNS in table.output
    assert " ok" in table.output


def test_worker_status_names_an_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_environment(
        monkeypatch,
        tmp_path,
        {
            "ZOHOKIT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
            "ZOHOKIT_DB_CONNECT_TIMEOUT_SECONDS": "1",
        },
    )
    answer = CliRunner().invoke(app, ["worker", "status"])
    assert answer.exit_code == 1
    assert "127.0.0.1:1" in answer.output
    assert "cannot be reached" in answer.output


async def test_the_service_runs_the_worker_in_its_lifespan(tmp_path: Path) -> None:
    service = create_app(settings_for(tmp_path), worker=True)
    async with service.router.lifespan_context(service):
        zoho: Zoho = service.state.zohokit.zoho
        await zoho.jobs.schedule(PRUNE_RUNS, "all")
        for _ in range(200):
            runs = await zoho.jobs.runs(kind=PRUNE_RUNS)
            if runs and runs[0].outcome == "ok":
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the service's worker did not run the job: {runs}")
    # Stopped with the app: nothing left running.
    assert all(r.outcome != "running" for r in runs)
