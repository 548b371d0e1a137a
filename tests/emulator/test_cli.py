"""``zohokit emulator`` as a user types it: options it cannot use end in a message naming the
option to fix, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from zohokit.cli import app

# An address nothing can listen on: a command that gets past its options stops at the bind
# with exit code 1 ("Cannot listen") instead of serving until interrupted.
UNBINDABLE = ["--host", "256.256.256.256", "--port", "0"]


def _emulator(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["emulator", *args, *UNBINDABLE])
    # A traceback would show as an exception other than the SystemExit of a clean exit.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


@pytest.mark.parametrize("given", ["missing", "list", "not json"])
def test_a_bad_faults_option_names_the_option(tmp_path: Path, given: str) -> None:
    path = tmp_path / "faults.json"
    if given == "list":
        path.write_text('[{"route": "crm"}]')
    elif given == "not json":
        path.write_text("{route: crm")
    code, output = _emulator("--faults", str(path), "--error-rate", "0.1")
    assert code == 2, output
    assert "--faults" in output


def test_a_good_faults_file_gets_past_the_options(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text('{"rules": [{"route": "crm", "error_rate": 0.5}]}')
    code, output = _emulator("--faults", str(path), "--error-rate", "0.1")
    assert code == 1, output
    assert "Cannot listen" in output
