"""``zohokit sync`` as a user runs it: a real subprocess against the emulator over loopback,
killed with SIGKILL half-way and run again."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures.emulator import (
    emulator_config,
    user_env,
)
from tests.sync.conftest import contact
from zohokit.emulator import EmulatorServer
from zohokit.sync import Ledger

ROWS = 4000


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def sync_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "zohokit", "sync", *args]


MAPPING_TOML = """
module = "Contacts"
key = "Email"
[fields]
email = "Email"
first = "First_Name"
last = "Last_Name"
phone = "Phone"
"""


def push_args(source: Path, mapping: Path) -> list[str]:
    return sync_cmd(
        "push", str(source), "--tenant", "acme", "--module", "Contacts", "--key", "Email",
        "--map", str(mapping), "--quiet",
    )  # fmt: skip


def final_state(server: EmulatorServer, folder: Path) -> tuple[object, ...]:
    """What a user could observe: the CRM's records and the ledger, ids aside."""
    records = server.emulator.crm.records("Contacts")
    crm = sorted((r["Email"], r["First_Name"], r["Last_Name"], r["Phone"]) for r in records)

    async def read() -> list[tuple[str, str, str | None, bool]]:
        ledger = await Ledger.open(f"sqlite:///{folder / 'zohokit.db'}")
        try:
            entries = await ledger.all_entries("acme", "Contacts")
        finally:
            await ledger.close()
        ids = {r["Email"]: r["id"] for r in records}
        return [
            (e.external_id, e.status, e.content_hash, ids.get(e.external_id) == e.zoho_id)
            for e in entries
        ]

    return len(records), crm, asyncio.run(read())


def test_a_push_killed_half_way_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    write_csv(source, [contact(n) for n in range(ROWS)])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TOML)

    with EmulatorServer(emulator_config(latency_ms=120.0)) as killed_server:
        env = user_env(killed_server, tmp_path / "killed")
        proc = subprocess.Popen(
            push_args(source, mapping), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        # A cheap count: copying thousands of records per poll would slow the emulator's
        # thread and let the push finish before the kill.
        while killed_server.emulator.crm.count("Contacts") < ROWS // 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()  # reaps it and closes its pipes
        assert proc.returncode == -signal.SIGKILL
        written = len(killed_server.emulator.crm.records("Contacts"))
        assert ROWS // 2 <= written < ROWS
        rerun = subprocess.run(push_args(source, mapping), env=env, capture_output=True)
        assert rerun.returncode == 0, rerun.stderr.decode()
        interrupted = final_state(killed_server, tmp_path / "killed")

    with EmulatorServer(emulator_config()) as clean_server:
        env = user_env(clean_server, tmp_path / "clean")
        clean = subprocess.run(push_args(source, mapping), env=env, capture_output=True)
        assert clean.returncode == 0, clean.stderr.decode()
        uninterrupted = final_state(clean_server, tmp_path / "clean")

    assert interrupted == uninterrupted
    count, _, ledger_rows = interrupted
    assert count == ROWS
    assert len(ledger_rows) == ROWS
    assert {(status, same_id) for _, status, _, same_id in ledger_rows} == {("synced", True)}


def test_push_pull_and_status_from_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "contacts.jsonl"
    source.write_text("".join(json.dumps(contact(n)) + "\n" for n in range(30)))
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING_TOML)
    with EmulatorServer(emulator_config()) as server:
        env = user_env(server, tmp_path / "state")
        pushed = subprocess.run(
            [*push_args(source, mapping), "--report", str(tmp_path / "push.json")],
            env=env,
            capture_output=True,
            text=True,
        )
        assert pushed.returncode == 0, pushed.stderr
        report = json.loads((tmp_path / "push.json").read_text())
        # Two calls: the module's field metadata, then one upsert of the 30 rows.
        assert (report["created"], report["api_calls"], report["status"]) == (30, 2, "completed")

        server.emulator.clock.advance(5)
        (record_id,) = server.emulator.crm.seed("Contacts", [{"Last_Name": "Added in Zoho"}])
        out = tmp_path / "changes.jsonl"
        pulled = subprocess.run(
            sync_cmd("pull", "--tenant", "acme", "--module", "Contacts", "--out", str(out)),
            env=env,
            capture_output=True,
            text=True,
        )
        assert pulled.returncode == 0, pulled.stderr
        (line,) = out.read_text().splitlines()
        assert json.loads(line)["id"] == record_id

        status = subprocess.run(
            sync_cmd("status", "--tenant", "acme", "--json"),
            env=env,
            capture_output=True,
            text=True,
        )
        assert status.returncode == 0, status.stderr
        listed = json.loads(status.stdout)
        assert [r["direction"] for r in listed["runs"]] == ["pull", "push"]
        assert listed["ledger"] == [
            {"tenant": "acme", "module": "Contacts", "status": "synced", "rows": 30}
        ]
        table = subprocess.run(sync_cmd("status"), env=env, capture_output=True, text=True)
        assert "Contacts" in table.stdout
        assert "synced" in table.stdout


def test_a_bad_mapping_is_refused_naming_the_key(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    write_csv(source, [contact(1)])
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[fields]\nemail = "Email"\nlast = 7\n')
    result = subprocess.run(
        sync_cmd(
            "push", str(source), "--module", "Contacts", "--key", "Email", "--map", str(mapping)
        ),
        capture_output=True,
        text=True,
        env={**os.environ, "ZOHOKIT_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "fields.last" in result.stderr


def test_dry_run_checks_and_plans_with_no_write_then_status_says_with_errors(
    tmp_path: Path,
) -> None:
    source = tmp_path / "leads.csv"
    rows = [{"Email": f"l{n}@example.com", "Last_Name": f"L{n}", "Email_Opt_Out": "no"}
            for n in range(5)]  # fmt: skip
    rows[3]["Email_Opt_Out"] = "maybe"
    write_csv(source, rows)
    push = sync_cmd("push", str(source), "--module", "Leads", "--key", "Email", "--quiet")
    with EmulatorServer(emulator_config()) as server:
        env = {**user_env(server, tmp_path / "state"), "COLUMNS": "200"}
        planned = subprocess.run([*push, "--dry-run"], env=env, capture_output=True, text=True)
        stats = httpx.get(f"{server.url}/_emulator/stats").json()
        assert stats["crm_write_requests"] == 0
        assert stats["crm_get_requests"] >= 1  # the field metadata was read
        assert planned.returncode == 2, planned.stderr  # a row would be refused
        assert "dry run: push Leads for default (nothing sent)" in planned.stderr
        assert "to create" in planned.stderr
        assert "l0@example.com" in planned.stderr
        assert "row 4" in planned.stderr
        assert "Email_Opt_Out" in planned.stderr
        assert "true or false" in planned.stderr
        assert "'maybe'" in planned.stderr

        pushed = subprocess.run(push, env=env, capture_output=True, text=True)
        assert pushed.returncode == 2
        assert "completed with errors" in pushed.stderr
        assert server.emulator.stats.snapshot()["crm_write_requests"] == 1
        assert len(server.emulator.crm.records("Leads")) == 4

        status = subprocess.run(sync_cmd("status"), env=env, capture_output=True, text=True)
        assert "completed with errors" in status.stdout  # the dry run is not listed
        assert status.stdout.count("push") == 1
        as_json = subprocess.run(
            sync_cmd("status", "--json"), env=env, capture_output=True, text=True
        )
        (run,) = json.loads(as_json.stdout)["runs"]
        assert (run["status"], run["invalid"], run["created"]) == ("completed_with_errors", 1, 4)
        assert run["problems"] == [
            {"row": 4, "field": "Email_Opt_Out", "expected": "true or false", "got": "'maybe'"}
        ]


def test_a_lowercase_email_header_is_refused_with_the_files_columns(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    write_csv(source, [{"email": "a@example.com", "Last_Name": "A"}])
    with EmulatorServer(emulator_config()) as server:
        env = {**user_env(server, tmp_path / "state"), "COLUMNS": "300"}
        pushed = subprocess.run(
            sync_cmd("push", str(source), "-m", "Contacts", "-k", "Email", "-q"),
            env=env,
            capture_output=True,
            text=True,
        )
        misspelt = subprocess.run(
            sync_cmd("push", str(source), "-m", "Contactz", "-k", "email", "-q"),
            env=env,
            capture_output=True,
            text=True,
        )
        assert server.emulator.stats.snapshot()["crm_write_requests"] == 0
    assert pushed.returncode == 1
    message = " ".join(pushed.stderr.split())
    assert "no column 'Email' for the key Email" in message
    assert "the file's columns: 'email', 'Last_Name'" in message
    assert "did you mean 'email'?" in message
    assert misspelt.returncode == 1
    assert "did you mean Contacts?" in " ".join(misspelt.stderr.split())
