"""The ``zohokit`` command itself: version, help."""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.testing import CliRunner

import zohokit
from zohokit.cli import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"zohokit {zohokit.__version__}\n"


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


TYPE_PLACEHOLDER = re.compile(r"<(str|bool|int|float|path|datetime|int range|float range)>")


def test_no_help_shows_type_placeholders() -> None:
    paths = _command_paths()
    assert ["tokens", "revoke"] in paths  # the walk found nested commands
    assert ["sync", "push"] in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert not TYPE_PLACEHOLDER.search(result.output), (path, result.output)


def test_flags_show_no_value_and_options_a_word() -> None:
    result = CliRunner().invoke(app, ["tokens", "revoke", "--help"], env={"COLUMNS": "200"})
    assert re.search(r"--yes\s+-y\s+Do not ask", result.output), result.output
    assert re.search(r"--provider\s+-p\s+TEXT\s+zoho_crm or zoho_calendar", result.output)


def test_help_text_keeps_its_square_brackets() -> None:
    result = CliRunner().invoke(app, ["sync", "push", "--help"], env={"COLUMNS": "200"})
    assert "TOML mapping: module, key, [fields]." in result.output
