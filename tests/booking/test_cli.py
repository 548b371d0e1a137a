"""``zohokit schedule``, ``availability`` and ``bookings`` as a user runs them, against the
emulator over loopback, plus the migration chain they rely on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.cli import app
from zohokit.db import MIGRATIONS_DIR
from zohokit.emulator import EmulatorServer
from zohokit.tokens import generate_key

SCHEDULE_TOML = """
time_zone = "Asia/Kolkata"
duration_minutes = 60

[weekly_hours]
tuesday = ["09:30-12:30"]

[zoho]
calendar_id = "{calendar}"
"""


def test_the_migrations_have_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def env_for(server: EmulatorServer, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env.update(
        ZOHO_CLIENT_ID=CLIENT_ID,
        ZOHO_CLIENT_SECRET=CLIENT_SECRET,
        ZOHO_REFRESH_TOKEN=REFRESH_TOKEN,
        ZOHO_ACCOUNTS_URL=server.url,
        ZOHO_API_URL=server.url,
        ZOHO_CALENDAR_URL=server.url,
        ZOHOKIT_DATABASE_URL=f"sqlite:///{folder / 'zohokit.db'}",
        ZOHOKIT_ENCRYPTION_KEYS=generate_key(),
        ZOHOKIT_DATA_DIR=str(folder),
    )
    return env


def test_schedule_availability_and_bookings_commands(
    tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    runner = CliRunner()
    env = env_for(emulator_server, tmp_path)

    def zk(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text('time_zone = "Asia/Kolkata"\n[weekly_hours]\ntuesday = ["12:00-09:00"]\n')
    refused = runner.invoke(app, ["schedule", "set", "acme", "--file", str(bad)], env=env)
    assert refused.exit_code == 1
    assert "weekly_hours.tuesday[0]" in refused.output

    good = tmp_path / "schedule.toml"
    calendar = emulator_server.emulator.calendar.primary_uid
    good.write_text(SCHEDULE_TOML.format(calendar=calendar))
    zk("schedule", "set", "acme", "--file", str(good))
    shown = json.loads(zk("schedule", "show", "acme"))
    assert shown["time_zone"] == "Asia/Kolkata"
    assert shown["zoho"] == {"calendar_id": calendar}

    # Tuesday 2099-03-03 09:30-12:30 in Kolkata is 04:00-07:00 UTC: three hour slots.
    window = ["--start", "2099-03-03", "--end", "2099-03-03", "--duration", "60"]
    slots = json.loads(zk("availability", "acme", *window, "--json"))
    assert [s["start"] for s in slots] == [
        "2099-03-03T04:00:00+00:00",
        "2099-03-03T05:00:00+00:00",
        "2099-03-03T06:00:00+00:00",
    ]
    in_berlin = json.loads(zk("availability", "acme", *window, "--tz", "Europe/Berlin", "--json"))
    assert in_berlin[0]["local_start"] == "2099-03-03T05:00:00+01:00"

    made = json.loads(
        zk(
            "bookings",
            "create",
            "acme",
            "--start",
            slots[0]["start"],
            "--email",
            "a@x.io",
            "--json",
        )
    )
    assert made[0]["status"] == "complete"
    again = runner.invoke(
        app,
        ["bookings", "create", "acme", "--start", slots[0]["start"], "--email", "b@x.io"],
        env=env,
    )
    assert again.exit_code == 1
    assert "SlotTaken" in again.output
    assert len(json.loads(zk("availability", "acme", *window, "--json"))) == 2

    listed = json.loads(zk("bookings", "list", "--tenant", "acme", "--json"))
    assert [b["id"] for b in listed] == [made[0]["id"]]
    assert "complete" in zk("bookings", "list")
    cancelled = json.loads(zk("bookings", "cancel", "acme", made[0]["id"], "--json"))
    assert cancelled[0]["status"] == "cancelled"
    assert json.loads(zk("bookings", "retry", "--json")) == []
