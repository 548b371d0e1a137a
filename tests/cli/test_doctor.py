"""``zohokit doctor`` against the emulator over loopback: a working install passes every
check, and each broken part fails with what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures.emulator import user_env
from zohokit.cli import app
from zohokit.emulator import EmulatorServer


@pytest.fixture
def env(
    emulator_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    values = user_env(emulator_server, tmp_path / "data")
    del values["ZOHOKIT_DATABASE_URL"]  # the default: a file in the data folder
    return values


def zk(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def doctor(env: dict[str, str]) -> tuple[int, dict[str, dict[str, Any]]]:
    code, out = zk(env, "doctor", "--json")
    return code, {check["name"]: check for check in json.loads(out)}


def test_a_working_install_passes_every_check(env: dict[str, str]) -> None:
    assert zk(env, "db", "upgrade")[0] == 0
    assert zk(env, "tokens", "import-env")[0] == 0
    code, checks = doctor(env)
    assert code == 0, checks
    assert set(checks) == {
        "settings",
        "database",
        "encryption key",
        "accounts server",
        "token default/zoho_crm",
        "token default/zoho_calendar",
    }
    assert all(check["ok"] for check in checks.values())


def test_a_fresh_machine_is_told_to_upgrade_and_set_a_key(env: dict[str, str]) -> None:
    del env["ZOHOKIT_ENCRYPTION_KEYS"]
    code, checks = doctor(env)
    assert code == 1
    assert checks["settings"]["ok"]
    assert not checks["database"]["ok"]
    assert checks["database"]["fix"] == "run `zohokit db upgrade`"
    assert not checks["encryption key"]["ok"]
    assert "zohokit tokens gen-key" in checks["encryption key"]["fix"]
    assert not checks["tokens"]["ok"]  # not checked until the rest works
    assert not (Path(env["ZOHOKIT_DATA_DIR"]) / "encryption.key").exists()  # doctor made none


def test_an_unreachable_accounts_server_is_named(env: dict[str, str]) -> None:
    zk(env, "db", "upgrade")
    env["ZOHO_ACCOUNTS_URL"] = "http://127.0.0.1:9"
    code, checks = doctor(env)
    assert code == 1
    assert checks["database"]["ok"]
    assert not checks["accounts server"]["ok"]
    assert "http://127.0.0.1:9" in checks["accounts server"]["detail"]
    assert "ZOHO_ACCOUNTS_URL" in checks["accounts server"]["fix"]


def test_a_tenant_whose_grant_zoho_refuses_must_connect_again(env: dict[str, str]) -> None:
    zk(env, "db", "upgrade")
    zk(env, "tokens", "import-env", "--provider", "zoho_crm")
    zk(
        {**env, "ZOHO_REFRESH_TOKEN": "1000.not-a-grant"},
        "tokens",
        "import-env",
        "--tenant",
        "gone",
        "--provider",
        "zoho_crm",
    )
    code, checks = doctor(env)
    assert code == 1
    assert checks["token default/zoho_crm"]["ok"]
    broken = checks["token gone/zoho_crm"]
    assert not broken["ok"]
    assert "connect the tenant again" in broken["fix"]
    assert "1000.not-a-grant" not in json.dumps(checks)  # no secret in the report


def test_a_bad_setting_is_named(env: dict[str, str]) -> None:
    env["ZOHOKIT_MAX_IN_FLIGHT"] = "0"
    code, checks = doctor(env)
    assert code == 1
    [problem] = [c for c in checks.values() if not c["ok"]]
    assert problem["detail"].startswith("ZOHOKIT_MAX_IN_FLIGHT:")
