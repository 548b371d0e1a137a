"""Review findings: mistyped ``zohokit availability`` / ``bookings`` / ``schedule`` arguments
end in a message naming the option, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from zohokit.cli import app
from zohokit.tokens import generate_key


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str, BaseException | None]:
    env = {
        "ZOHOKIT_DATA_DIR": str(tmp_path),
        "ZOHOKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'zohokit.db'}",
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
    }
    result = CliRunner().invoke(app, list(args), env=env)
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exc


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("availability", "acme", "--start", "2031-13-01", "--end", "2031-03-04"), "--start"),
        (("availability", "acme", "--start", "2031-03-01", "--end", "next week"), "--end"),
        (("bookings", "create", "acme", "--start", "tomorrow", "--email", "a@x.com"), "--start"),
        (
            ("bookings", "create", "acme", "--start", "2031-03-04T10:00Z", "--email", "bo"),
            "--email",
        ),
        (("bookings", "list", "--status", "done"), "--status"),
    ],
)
def test_a_bad_argument_names_the_option(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    code, output, exc = _invoke(tmp_path, *args)
    assert exc is None, repr(exc)
    assert code == 2
    assert named in output


def test_a_schedule_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "schedule.toml"
    path.write_bytes('time_zone = "UTC"\n# caf\xe9\n'.encode("latin-1"))
    code, output, exc = _invoke(tmp_path, "schedule", "set", "acme", "--file", str(path))
    assert exc is None, repr(exc)
    assert code == 1
    assert "UTF-8" in output
