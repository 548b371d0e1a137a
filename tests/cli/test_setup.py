"""``zohokit setup`` and ``zohokit tokens exchange`` against the emulator over loopback:
Self Client grant code -> stored refresh token -> a CRM call, and a grant missing a scope."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.fixtures.cli_env import cli_environment
from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit import Zoho
from zohokit.cli import app
from zohokit.settings import DEFAULT_SCOPES
from zohokit.testing import EmulatorHandle
from zohokit.tokens import generate_key

runner = CliRunner()
EVERY_SCOPE = ",".join(DEFAULT_SCOPES["zoho_crm"] + DEFAULT_SCOPES["zoho_calendar"])


@pytest.fixture
def env(
    emulator_server: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A user's environment with no OAuth client set, Zoho's hosts played by the emulator."""
    values = {
        "ZOHO_ACCOUNTS_URL": emulator_server.url,
        "ZOHO_API_URL": emulator_server.url,
        "ZOHOKIT_DATA_DIR": str(tmp_path / "data"),
        "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
    }
    unset = ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "ZOHO_DC")
    return cli_environment(monkeypatch, tmp_path, values, unset=(*unset, "ZOHOKIT_SCOPES"))


def self_client_code(emulator_server: EmulatorHandle, scopes: str) -> str:
    """What "Generate Code" on the API console's Self Client tab hands out."""
    answer = httpx.post(
        f"{emulator_server.url}/_emulator/self-client/code",
        json={"client_id": CLIENT_ID, "scopes": scopes},
    )
    assert answer.status_code == 200, answer.text
    code: str = answer.json()["code"]
    return code


def contacts_seen_by(env: dict[str, str], tenant: str) -> list[str]:
    """A CRM call by a new process's root, from nothing but the stored connection."""

    async def main() -> list[str]:
        async with Zoho(
            database_url=f"sqlite:///{env['ZOHOKIT_DATA_DIR']}/zohokit.db",
            encryption_keys=env["ZOHOKIT_ENCRYPTION_KEYS"],
            accounts_url=env["ZOHO_ACCOUNTS_URL"],
            api_url=env["ZOHO_API_URL"],
        ) as zoho:
            await zoho.crm(tenant).insert_records("Contacts", [{"Last_Name": "Lovelace"}])
            rows = zoho.crm(tenant).list_records("Contacts", fields=["Last_Name"])
            return [row["Last_Name"] async for row in rows]

    return asyncio.run(main())


def test_setup_with_flags_connects_a_tenant_from_a_self_client_code(
    env: dict[str, str], emulator_server: EmulatorHandle
) -> None:
    code = self_client_code(emulator_server, EVERY_SCOPE)
    args = ["setup", "--no-input", "--tenant", "acme", "--dc", "eu", "--code", code]
    args += ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "https://accounts.zoho.eu" in out
    assert "https://api-console.zoho.eu" in out
    assert "http://127.0.0.1:8000/oauth/zoho/callback" in out
    assert ",".join(DEFAULT_SCOPES["zoho_crm"]) in out
    assert "Zoho CRM answered" in out
    assert CLIENT_SECRET not in out
    assert "Lovelace" in contacts_seen_by(env, "acme")


def test_setup_asks_for_what_is_missing(
    env: dict[str, str], emulator_server: EmulatorHandle
) -> None:
    code = self_client_code(emulator_server, EVERY_SCOPE)
    answers = f"us\n{CLIENT_ID}\n{CLIENT_SECRET}\n{code}\n"
    result = runner.invoke(app, ["setup", "--tenant", "beta"], input=answers)
    assert result.exit_code == 0, result.output
    assert "Data centre" in result.output
    assert "Client Secret" in result.output
    assert CLIENT_SECRET not in result.output  # typed, never echoed
    assert "Lovelace" in contacts_seen_by(env, "beta")


def test_setup_without_a_code_prints_the_browser_flow(env: dict[str, str]) -> None:
    args = ["setup", "--no-input", "--browser", "--tenant", "acme", "--dc", "in"]
    args += ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    args += ["--public-url", "https://zoho.example.com/"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "https://zoho.example.com/oauth/zoho/callback" in out
    assert "https://zoho.example.com/connect/zoho?tenant=acme&provider=zoho_crm" in out
    assert f"ZOHO_DC=in ZOHO_CLIENT_ID={CLIENT_ID}" in out
    assert CLIENT_SECRET not in out


def test_tokens_exchange_stores_the_refresh_token_and_calls_crm(
    env: dict[str, str], emulator_server: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", CLIENT_SECRET)
    code = self_client_code(emulator_server, EVERY_SCOPE)
    result = runner.invoke(app, ["tokens", "exchange", code, "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme" in result.output
    assert "connect" in result.output
    assert "Zoho CRM answered" in result.output
    assert "Lovelace" in contacts_seen_by(env, "acme")
    # A grant code is single-use: the second exchange is refused, and says so.
    again = runner.invoke(app, ["tokens", "exchange", code, "--tenant", "acme"])
    assert again.exit_code == 1
    assert "invalid_code" in again.output


def test_a_grant_missing_a_scope_is_refused_and_names_it(
    env: dict[str, str], emulator_server: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", CLIENT_SECRET)
    narrow = ",".join(s for s in DEFAULT_SCOPES["zoho_crm"] if s != "ZohoCRM.coql.READ")
    before = set(emulator_server.emulator.accounts.refresh_tokens)
    code = self_client_code(emulator_server, narrow)
    result = runner.invoke(app, ["tokens", "exchange", code, "--tenant", "acme"])
    assert result.exit_code == 1
    out = " ".join(result.output.split())  # rich may wrap the long message
    assert "without ZohoCRM.coql.READ" in out
    assert "api-console.zoho.com" in out
    # Nothing stored, and the useless refresh token is not left live at Zoho.
    listed = runner.invoke(app, ["tokens", "list"])
    assert "no tokens stored" in listed.output
    assert set(emulator_server.emulator.accounts.refresh_tokens) == before


def test_zohokit_scopes_changes_what_is_required(
    env: dict[str, str], emulator_server: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrow = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL"
    monkeypatch.setenv("ZOHOKIT_SCOPES", narrow)
    code = self_client_code(emulator_server, narrow)
    args = ["setup", "--no-input", "--tenant", "acme", "--dc", "us", "--code", code]
    args += ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"zoho_crm: {narrow}" in result.output
    # Calendar, named nowhere in the list, keeps its defaults.
    assert f"zoho_calendar: {','.join(DEFAULT_SCOPES['zoho_calendar'])}" in result.output
