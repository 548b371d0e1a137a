"""The ``zohokit`` command itself: version, help."""

from __future__ import annotations

from typer.testing import CliRunner

import zohokit
from zohokit.cli import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"zohokit {zohokit.__version__}\n"
