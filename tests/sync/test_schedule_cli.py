"""``zohokit sync schedule`` as a user types it, against the emulator over loopback: add,
list (``--json``), run-now, remove; clear errors for a bad interval, an unknown tenant and a
misspelt module; the schedules in ``zohokit worker status``; ``zohokit worker --once`` runs
what is due."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.fixtures.emulator import user_env
from tests.sync.conftest import contact
from zohokit.cli import app
from zohokit.emulator import EmulatorServer


def test_schedule_commands(tmp_path: Path, emulator_server: EmulatorServer) -> None:
    runner = CliRunner()
    env = user_env(emulator_server, tmp_path / "home")
    rows = tmp_path / "contacts.jsonl"
    rows.write_text("".join(json.dumps(contact(n)) + "\n" for n in range(3)), encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'module = "Contacts"\nkey = "Email"\n[fields]\nemail = "Email"\nlast = "Last_Name"\n'
    )

    def zk(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    push = ["sync", "schedule", "add", "push", "contacts", str(rows), "--map", str(mapping)]
    said = zk(*push, "--every", "15", code=2)
    assert "--every" in said
    assert "give a number and a unit" in said
    said = zk(*push, "--every", "15m", "--tenant", "acem", code=1)
    assert "unknown tenant 'acem'" in said
    pull = ["sync", "schedule", "add", "pull", "changes", "--every", "1h"]
    out = str(tmp_path / "changes-{time}.jsonl")
    said = zk(*pull, "--module", "Contactz", "--out", out, code=1)
    assert "did you mean Contacts?" in said

    assert "every 15m" in zk(*push, "--every", "15m")
    assert "every 1h" in zk(*pull, "--module", "Contacts", "--out", out)
    listed = json.loads(zk("sync", "schedule", "list", "--json"))
    assert [(s["tenant"], s["name"], s["direction"], s["every"]) for s in listed] == [
        ("default", "changes", "pull", "1h"),
        ("default", "contacts", "push", "15m"),
    ]
    assert all(s["next_run_at"] and s["last_status"] is None for s in listed)
    table = zk("sync", "schedule", "list")
    assert "contacts.jsonl -> Contacts" in table

    # Both are due, for one tenant: one runs, the other finds the tenant busy and runs next.
    assert "ran 3 job(s)" in zk("worker", "--once", "--kind", "sync.scheduled")
    assert len(emulator_server.emulator.crm.records("Contacts")) == 3
    status = json.loads(zk("worker", "status", "--json"))
    [kind] = [s for s in status if s["kind"] == "sync.scheduled"]
    assert {s["name"]: s["last_status"] for s in kind["schedules"]} == {
        "changes": "completed",
        "contacts": "completed",
    }
    assert "sync schedules" in zk("worker", "status")

    assert "is due now" in zk("sync", "schedule", "run-now", "contacts")
    assert "ran 1 job(s)" in zk("worker", "--once", "--kind", "sync.scheduled")
    assert "no schedule 'nope'" in zk("sync", "schedule", "run-now", "nope", code=1)
    assert "removed" in zk("sync", "schedule", "remove", "contacts")
    assert "has no schedule" in zk("sync", "schedule", "remove", "contacts", code=1)
    assert [s["name"] for s in json.loads(zk("sync", "schedule", "list", "--json"))] == ["changes"]
