"""``zohokit tokens`` and ``zohokit db`` against the emulator over loopback and a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.cli_env import cli_environment
from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.cli import app
from zohokit.emulator import EmulatorServer
from zohokit.tokens import generate_key

runner = CliRunner()


@pytest.fixture
def env(
    emulator_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    values = {
        "ZOHO_CLIENT_ID": CLIENT_ID,
        "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
        "ZOHO_REFRESH_TOKEN": REFRESH_TOKEN,
        "ZOHO_ACCOUNTS_URL": emulator_server.url,
        "ZOHOKIT_DATA_DIR": str(tmp_path / "data"),
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
    }
    return cli_environment(monkeypatch, tmp_path, values)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_list_status_refresh_revoke(
    env: dict[str, str], emulator_server: EmulatorServer
) -> None:
    assert "up to date" in invoke("db", "upgrade")
    assert "no tokens stored" in invoke("tokens", "list")
    out = invoke("tokens", "import-env", "--provider", "zoho_crm")
    assert "default" in out
    assert "env" in out
    hidden = invoke("tokens", "refresh", "default")
    shown = invoke("tokens", "refresh", "default", "--show")
    token = shown.strip().splitlines()[-1]
    assert token in emulator_server.emulator.accounts.access_tokens
    assert token not in hidden
    status = invoke("tokens", "status", "default")
    assert "healthy" in status
    assert REFRESH_TOKEN not in status
    assert CLIENT_SECRET not in status
    assert token not in status
    assert "default" in invoke("tokens", "list", "--provider", "zoho_crm")
    assert "revoked at Zoho" in invoke("tokens", "revoke", "default", "--yes")
    assert REFRESH_TOKEN not in emulator_server.emulator.accounts.refresh_tokens


def test_rotate_key_keeps_tokens_readable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("tokens", "import-env", "--provider", "zoho_crm")
    old = env["ZOHOKIT_ENCRYPTION_KEYS"]
    new = generate_key()
    monkeypatch.setenv("ZOHOKIT_ENCRYPTION_KEYS", f"{new},{old}")
    assert "re-encrypted 1 row" in invoke("tokens", "rotate-key")
    monkeypatch.setenv("ZOHOKIT_ENCRYPTION_KEYS", new)
    assert "healthy" in invoke("tokens", "refresh", "default")


def test_missing_configuration_is_reported_with_variable_names(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"):
        monkeypatch.delenv(name)
    result = runner.invoke(app, ["tokens", "refresh", "default", "--provider", "zoho_calendar"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "ZOHO_CLIENT_ID or ZOHO_CALENDAR_CLIENT_ID" in flat


def test_unknown_provider_is_a_usage_error(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["tokens", "list", "--provider", "zoho_books"])
    assert result.exit_code == 2


def test_a_bad_setting_is_named_without_a_traceback_or_its_value(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))},
        "ZOHOKIT_DATA_DIR": str(tmp_path),
        "ZOHOKIT_LEASE_SECONDS": "s3cr3t-not-a-number",
    }
    done = subprocess.run(
        [sys.executable, "-m", "zohokit", "tokens", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "invalid setting ZOHOKIT_LEASE_SECONDS" in done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cr3t" not in done.stderr + done.stdout


def test_list_and_status_print_json_without_secrets(env: dict[str, str]) -> None:
    assert json.loads(invoke("tokens", "list", "--json")) == []
    invoke("tokens", "import-env", "--provider", "zoho_crm")
    invoke("tokens", "refresh", "default")
    [listed] = json.loads(invoke("tokens", "list", "--json"))
    status = json.loads(invoke("tokens", "status", "default", "--json"))
    assert listed == status
    assert status["tenant"] == "default"
    assert status["provider"] == "zoho_crm"
    assert status["state"] == "healthy"  # the admin page's word, not the column's "active"
    assert status["has_refresh_token"] is True
    assert datetime.fromisoformat(status["expires_at"]).tzinfo is not None
    # The last failure: its columns and the one line the table shows (none yet).
    assert (status["last_failure_kind"], status["last_error"]) == (None, None)
    assert REFRESH_TOKEN not in json.dumps(status)
    missing = runner.invoke(app, ["tokens", "status", "nobody", "--json"])
    assert missing.exit_code == 1
    assert json.loads(missing.stdout) is None


@pytest.mark.zoho_emulator(token_ttl=120)
def test_a_token_close_to_its_expiry_is_expiring_as_on_the_console(env: dict[str, str]) -> None:
    invoke("tokens", "import-env", "--provider", "zoho_crm")
    table = invoke("tokens", "refresh", "default")  # Zoho hands out a 2-minute token
    assert "expiring" in table
    assert "healthy" not in table
    assert json.loads(invoke("tokens", "status", "default", "--json"))["state"] == "expiring"
