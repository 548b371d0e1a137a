"""``zohokit schedule``, ``availability`` and ``bookings`` as a user runs them, against the
emulator over loopback, and the messages a mistyped argument gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.emulator import user_env
from zohokit.cli import app
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


def test_schedule_availability_and_bookings_commands(
    tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    runner = CliRunner()
    env = user_env(emulator_server, tmp_path)

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
    span = ["--start", "2099-03-03T03:00:00Z", "--end", "2099-03-03T07:00:00Z"]
    why = json.loads(zk("schedule", "explain", "acme", *span, "--duration", "60", "--json"))
    assert [(v["start"][11:16], v["rule"]) for v in why] == [
        ("03:00", "working_hours"),  # 08:30 in Kolkata: before the 09:30 start
        ("04:00", "busy"),  # the booking just made
        ("05:00", None),
        ("06:00", None),
    ]
    assert "a booking" in why[1]["detail"]
    assert "working_hours" in zk("schedule", "explain", "acme", *span)

    listed = json.loads(zk("bookings", "list", "--tenant", "acme", "--json"))
    assert [b["id"] for b in listed] == [made[0]["id"]]
    assert "complete" in zk("bookings", "list")
    cancelled = json.loads(zk("bookings", "cancel", "acme", made[0]["id"], "--json"))
    assert cancelled[0]["status"] == "cancelled"
    assert json.loads(zk("bookings", "retry", "--json")) == []


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
        (("availability", "acme", "--start", "2031-03-04", "--end", "2031-03-01"), "is before"),
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
