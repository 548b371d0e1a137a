"""The CLI against ``make run``'s sandbox: one printed line, nothing else to set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fixtures.processes import zohokit_process

#: Where pip put the ``zohokit`` script of this environment (a fresh shell finds it on PATH).
BIN = Path(sys.executable).parent


def _fresh_env(home: Path) -> dict[str, str]:
    """A user's shell on a new machine: a fresh HOME, no zohokit or Zoho variable, no XDG
    folder override (platformdirs would follow one)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ZOHO", "XDG_")) and name != "VIRTUAL_ENV"
    }
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", COLUMNS="300")
    return env


def _in_shell(line: str, command: str, *, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run ``line`` and then ``command`` in one POSIX shell, as a user would: the exit code
    and everything printed."""
    done = subprocess.run(
        ["/bin/sh", "-c", f"{line}\n{command}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _shell(line: str, command: str, *, env: dict[str, str], cwd: Path) -> str:
    """``_in_shell`` that must succeed; its output."""
    code, output = _in_shell(line, command, env=env, cwd=cwd)
    assert code == 0, f"{command}: {output}"
    return output


def test_the_line_make_run_prints_points_the_cli_at_the_sandbox(tmp_path: Path) -> None:
    home, project, elsewhere = tmp_path / "home", tmp_path / "clone", tmp_path / "elsewhere"
    for folder in (home, project, elsewhere):
        folder.mkdir()
    env = _fresh_env(home)
    # What `make run` starts, from the clone, with its default data folder.
    args = ("serve", "--sandbox", "--host", "127.0.0.1", "--port", "0")
    announce = {"url": r"sandbox on (http://\S+)", "line": r"CLI\s+(export ZOHOKIT_SANDBOX=\S+)"}
    with zohokit_process(*args, announce=announce, ready="/healthz", env=env, cwd=project) as (
        _,
        found,
    ):
        line = found["line"]
        sandbox = project / ".zohokit" / "sandbox"
        assert line == f"export ZOHOKIT_SANDBOX={sandbox.resolve()}"

        # Run from another folder: the line alone finds the sandbox, not the working folder.
        listed = _shell(line, "zohokit tokens list", env=env, cwd=elsewhere)
        assert "demo" in listed
        assert "zoho_crm" in listed
        assert "zoho_calendar" in listed
        assert "healthy" in listed

        start = (datetime.now(UTC) + timedelta(days=2)).date()
        slots = json.loads(
            _shell(
                line,
                f"zohokit availability demo --start {start} --end {start + timedelta(days=6)} "
                "--json",
                env=env,
                cwd=elsewhere,
            )
        )
        assert slots, "a week of the demo schedule offers slots"

        rows = elsewhere / "contacts.csv"
        rows.write_text("Email,Last_Name\nada@example.com,Lovelace\ngrace@example.com,Hopper\n")
        report = elsewhere / "report.json"
        push = (
            f"zohokit sync push {rows} --tenant demo --module Contacts --key Email "
            f"--report {report} --quiet"
        )
        _shell(line, push, env=env, cwd=elsewhere)
        first = json.loads(report.read_text())
        assert (first["created"], first["failed"]) == (2, 0), first
        # The second push finds its ledger in the sandbox's database: nothing to send.
        _shell(line, push, env=env, cwd=elsewhere)
        again = json.loads(report.read_text())
        assert (again["created"], again["unchanged"]) == (0, 2), again

        # Connecting "real Zoho" while the line is set would land in the sandbox: said so.
        setup = "zohokit setup --no-input --browser --client-id 1000.X --client-secret s"
        assert "unset ZOHOKIT_SANDBOX" in _shell(line, setup, env=env, cwd=elsewhere)

    # One key, the sandbox's own: none written beside it, nothing in the user's data folder.
    assert not (sandbox / "encryption.key").exists()
    assert not (home / ".local" / "share" / "zohokit").exists()


def test_a_sandbox_variable_naming_no_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    line = f"export ZOHOKIT_SANDBOX={tmp_path / 'nothing-here'}"
    code, message = _in_shell(line, "zohokit tokens list", env=_fresh_env(tmp_path), cwd=tmp_path)
    assert code != 0
    assert "holds no sandbox.json" in message
    assert "zohokit serve --sandbox" in message
    assert "Traceback" not in message
