"""``zohokit notifications`` as a user runs it, against the emulator over loopback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.fixtures.emulator import emulator_config, user_env
from zohokit.cli import app
from zohokit.emulator import EmulatorServer


def test_enable_list_and_disable(tmp_path: Path) -> None:
    runner = CliRunner()
    with EmulatorServer(emulator_config()) as server:
        env = user_env(server, tmp_path, ZOHOKIT_PUBLIC_URL="http://127.0.0.1:9/")
        enabled = runner.invoke(
            app, ["notifications", "enable", "-t", "acme", "-m", "Contacts"], env=env
        )
        assert enabled.exit_code == 0, enabled.output
        assert "posts to http://127.0.0.1:9/zoho/notifications" in enabled.output
        [entry] = server.emulator.watch.live()
        assert (entry.module, entry.notify_url) == (
            "Contacts",
            "http://127.0.0.1:9/zoho/notifications",
        )
        assert entry.operations == {"create", "edit", "delete"}

        listed = runner.invoke(app, ["notifications", "list", "--json"], env=env)
        [channel] = json.loads(listed.output)
        assert channel["channel_id"] == entry.channel_id
        assert channel["status"] == "active"
        assert channel["events"] == ["Contacts.create", "Contacts.edit", "Contacts.delete"]
        assert entry.token not in listed.output

        disabled = runner.invoke(
            app, ["notifications", "disable", "-t", "acme", "-m", "Contacts"], env=env
        )
        assert disabled.exit_code == 0, disabled.output
        assert server.emulator.watch.live() == []
        again = runner.invoke(
            app, ["notifications", "disable", "-t", "acme", "-m", "Contacts"], env=env
        )
        assert again.exit_code == 1
        assert "no active notification channel" in again.output


def test_enable_without_a_public_url_names_the_setting(tmp_path: Path) -> None:
    with EmulatorServer(emulator_config()) as server:
        env = user_env(server, tmp_path)
        result = CliRunner().invoke(
            app, ["notifications", "enable", "-t", "acme", "-m", "Leads"], env=env
        )
    assert result.exit_code == 2
    assert "ZOHOKIT_PUBLIC_URL" in result.output
