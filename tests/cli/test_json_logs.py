"""``ZOHOKIT_LOG_FORMAT=json`` as an operator sets it: a real ``zohokit`` process against the
emulator over loopback logs one JSON line per Zoho call on stderr, with no secret in it,
while its own output on stdout stays what the command prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.emulator import CLIENT_SECRET, REFRESH_TOKEN, user_env
from zohokit.emulator import EmulatorServer

SCHEDULE = """
time_zone = "UTC"
duration_minutes = 60

[weekly_hours]
tuesday = ["09:00-12:00"]

[zoho]
calendar_id = "{calendar}"
"""


def zohokit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zohokit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_a_cli_command_logs_each_zoho_call_as_json_without_secrets(
    tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    env = user_env(emulator_server, tmp_path, ZOHOKIT_LOG_FORMAT="json")
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(SCHEDULE.format(calendar=emulator_server.emulator.calendar.primary_uid))
    zohokit(env, "schedule", "set", "acme", "--file", str(schedule))
    window = ["--start", "2099-03-03", "--end", "2099-03-03", "--duration", "60", "--json"]
    done = zohokit(env, "availability", "acme", *window)
    assert len(json.loads(done.stdout)) == 3  # the command's own output is untouched
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    calls = [line for line in lines if line.get("event") == "zoho.call"]
    # The token refresh is a call to the accounts server; the rest are the tenant's Calendar.
    assert {(c["tenant"], c["provider"]) for c in calls} == {
        ("acme", "accounts"),
        ("acme", "calendar"),
    }, done.stderr
    calls = [c for c in calls if c["provider"] == "calendar"]
    assert {c["operation"] for c in calls} <= {"events.list", "freebusy", "calendars.get"}
    assert all(c["request_id"] and c["status"] == "200" for c in calls)
    tokens = set(emulator_server.emulator.accounts.access_tokens)
    assert tokens
    for secret in (*tokens, REFRESH_TOKEN, CLIENT_SECRET, env["ZOHOKIT_ENCRYPTION_KEYS"]):
        assert secret not in done.stderr
