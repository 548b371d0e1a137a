"""Review findings: source files and ``zohokit sync`` arguments a user gets wrong must end in
a message naming what to fix, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from zohokit.cli import app
from zohokit.sync import MappingError, SourceError, load_mapping, read_rows
from zohokit.tokens import generate_key


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "ZOHOKIT_DATA_DIR": str(tmp_path),
        "ZOHOKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'zohokit.db'}",
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
    }


def test_a_jsonl_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Windows tools (Notepad, PowerShell's Out-File) start UTF-8 files with a BOM; the CSV
    # reader already skips it.
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"email": "a@x.com"}\n{"email": "b@x.com"}\n')
    assert [r["email"] for r in read_rows(path)] == ["a@x.com", "b@x.com"]


@pytest.mark.parametrize("name", ["rows.csv", "rows.jsonl"])
def test_a_file_that_is_not_utf8_names_the_file_and_the_encoding(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    body = "email\n\xe9t\xe9@x.com\n" if name.endswith(".csv") else '{"email": "\xe9@x.com"}\n'
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(SourceError, match=r"rows\.(csv|jsonl).*UTF-8"):
        list(read_rows(path))


def test_a_mapping_file_that_cannot_be_read_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"nope\.toml"):
        load_mapping(tmp_path / "nope.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('module = "Contacts"\nkey = "Email"\n# caf\xe9\n'.encode("latin-1"))
    with pytest.raises(MappingError, match=r"latin\.toml"):
        load_mapping(latin)


def _push(tmp_path: Path, *args: str) -> tuple[int, str, BaseException | None]:
    source = tmp_path / "rows.csv"
    if not source.exists():
        source.write_text("email,last\na@x.com,Doe\n")
    result = CliRunner().invoke(
        app,
        ["sync", "push", str(source), "-m", "Contacts", "-k", "Email", "-q", *args],
        env=_env(tmp_path),
    )
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exc


def test_push_with_a_missing_mapping_file_says_so(tmp_path: Path) -> None:
    code, output, exc = _push(tmp_path, "--map", str(tmp_path / "nope.toml"))
    assert exc is None
    assert code == 2
    # The error panel wraps a long path across its lines (under pytest-xdist the temporary
    # folder's path is longer): read the panel's text without its borders and line breaks.
    assert str(tmp_path / "nope.toml") in "".join(output.replace("│", "").split())


def test_push_with_max_attempts_below_one_says_so(tmp_path: Path) -> None:
    code, output, exc = _push(tmp_path, "--max-attempts", "0")
    assert exc is None
    assert code == 2
    assert "max-attempts" in output


def test_push_of_a_non_utf8_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_bytes("email\n\xe9t\xe9@x.com\n".encode("latin-1"))
    code, output, exc = _push(tmp_path)
    assert exc is None
    assert code == 1
    assert "UTF-8" in output


def test_pull_into_a_folder_that_does_not_exist_says_so(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "changes.jsonl"
    result = CliRunner().invoke(app, ["sync", "pull", "-o", str(out)], env=_env(tmp_path))
    assert not result.exception or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "changes.jsonl" in result.output


def test_push_report_into_a_folder_that_does_not_exist_says_so(tmp_path: Path) -> None:
    # The run itself succeeded (nothing to send); only the report cannot be written.
    (tmp_path / "rows.csv").write_text("email\n")
    code, output, exc = _push(tmp_path, "--report", str(tmp_path / "missing" / "report.json"))
    assert exc is None
    assert code == 1
    assert "report.json" in output


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("Email,Last_Name,Email\na@x.com,Lee,b@x.com\n")
    with pytest.raises(SourceError, match=r"contacts\.csv:1: column\(s\) 'Email' appear twice"):
        list(read_rows(source))


def test_a_csv_row_with_more_cells_than_columns_names_its_line(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("Email,Last_Name\na@x.com,Lee\nb@x.com,Diaz, Jr.\n")
    rows = read_rows(source)
    assert next(rows) == {"Email": "a@x.com", "Last_Name": "Lee"}
    with pytest.raises(SourceError, match=r"contacts\.csv:3: 3 cells for 2 columns"):
        next(rows)
