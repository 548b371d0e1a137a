"""``--data``: an emulator that keeps its state in SQLite comes back with it after a restart,
even after SIGKILL; ``/_emulator/seed`` is all or nothing."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.fixtures.emulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    client_of,
    emulator_config,
    mint_access_token,
)
from tests.fixtures.processes import zohokit_process
from zohokit.cli import app
from zohokit.emulator import DataFileError, Emulator

LEAD = {"Last_Name": "Lovelace", "Company": "Analytical Engines", "Email": "ada@example.com"}
EVENT = {
    "title": "Weekly",
    "dateandtime": {
        "timezone": "Europe/Berlin",
        "start": "20300107T090000Z",
        "end": "20300107T100000Z",
    },
    "rrule": "FREQ=WEEKLY;COUNT=4",
}


async def write_some(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    """Two leads (one then deleted), a repeating event with one occurrence cut, a calendar
    left out of free/busy; returns what a reader should find afterwards."""
    created = await client.post(
        "/crm/v8/Leads",
        json={"data": [LEAD, {**LEAD, "Last_Name": "Hopper", "Email": "grace@example.com"}]},
        headers=auth,
    )
    ids = [row["details"]["id"] for row in created.json()["data"]]
    await client.delete(f"/crm/v8/Leads/{ids[1]}", headers=auth)
    made = await client.post(
        "/api/v1/calendars/primary/events",
        params={"eventdata": json.dumps(EVENT)},
        headers=auth,
    )
    event = made.json()["events"][0]
    cut = await client.request(
        "DELETE",
        f"/api/v1/calendars/primary/events/{event['uid']}",
        params={"eventdata": '{"recurrenceid": "20300114T090000Z"}'},
        headers={**auth, "etag": event["etag"]},
    )
    assert cut.status_code == 200, cut.text
    return {"kept": ids[0], "deleted": ids[1], "event": event["uid"]}


async def read_back(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    leads = await client.get("/crm/v8/Leads", params={"fields": "Last_Name,Email"}, headers=auth)
    deleted = await client.get("/crm/v8/Leads/deleted", headers=auth)
    events = await client.get(
        "/api/v1/calendars/primary/events",
        params={
            "range": '{"start": "20300101T000000Z", "end": "20300131T000000Z"}',
            "byinstance": "true",
        },
        headers=auth,
    )
    return {
        "status": leads.status_code,
        "leads": [(r["id"], r["Last_Name"]) for r in leads.json()["data"]],
        "deleted": [r["id"] for r in deleted.json()["data"]],
        "occurrences": [e["recurrenceid"] for e in events.json()["events"]],
    }


async def test_state_comes_back_after_a_restart(tmp_path: Path) -> None:
    data = str(tmp_path / "emulator.db")
    first = Emulator(emulator_config(data=data))
    async with client_of(first) as client:
        access = await mint_access_token(client)
        auth = {"Authorization": f"Zoho-oauthtoken {access}"}
        wrote = await write_some(client, auth)
        before = await read_back(client, auth)
        first.calendar.add_calendar("Side", include_infreebusy=False)
        first.save()
        stats = first.stats.snapshot()
    first.close()
    assert before["leads"] == [(wrote["kept"], "Lovelace")]
    assert before["occurrences"] == ["20300107T090000Z", "20300121T090000Z", "20300128T090000Z"]

    second = Emulator(emulator_config(data=data))
    async with client_of(second) as client:
        # The same access token still works: tokens came back, not just records.
        assert await read_back(client, auth) == before
        assert second.stats.snapshot()["crm_requests"] >= stats["crm_requests"]
        assert second.stats.snapshot()["access_tokens_minted"] == 1
        side = [c for c in second.calendar.calendars() if c.name == "Side"]
        assert [c.include_infreebusy for c in side] == [False]
        # New ids keep growing past the old ones, and new event uids do not repeat.
        created = await client.post(
            "/crm/v8/Leads", json={"data": [{**LEAD, "Email": "x@example.com"}]}, headers=auth
        )
        assert int(created.json()["data"][0]["details"]["id"]) > int(wrote["deleted"])
        assert second.calendar.add_calendar("Another") not in {c.uid for c in side}
    second.close()


async def test_a_client_given_on_restart_joins_the_saved_ones(tmp_path: Path) -> None:
    data = str(tmp_path / "emulator.db")
    Emulator(emulator_config(data=data)).close()
    second = Emulator(
        emulator_config(
            data=data, client_id="other", client_secret="other-secret", refresh_token="1000.o.o"
        )
    )
    assert {CLIENT_ID, "other"} <= set(second.accounts.clients)
    assert {REFRESH_TOKEN, "1000.o.o"} <= set(second.accounts.refresh_tokens)
    second.close()
    # A third start with no credentials given comes back as the last one was started.
    third = Emulator(
        emulator_config(data=data, client_id=None, client_secret=None, refresh_token=None)
    )
    assert third.config.client_id == "other"
    assert third.config.refresh_token == "1000.o.o"
    third.close()


def test_without_data_nothing_is_kept() -> None:
    emu = Emulator(emulator_config())
    assert emu.journal.durable is False
    emu.crm.seed("Leads", [LEAD])
    assert Emulator(emulator_config()).crm.count("Leads") == 0


def test_the_data_file_is_private_and_a_foreign_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "emulator.db"
    Emulator(emulator_config(data=str(data))).close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all, just text" * 100)
    with pytest.raises(DataFileError, match=r"junk\.db"):
        Emulator(emulator_config(data=str(junk)))
    result = CliRunner().invoke(app, ["emulator", "--port", "0", "--data", str(junk)])
    assert result.exit_code == 2, result.output
    assert "--data" in result.output


async def test_reset_empties_the_data_file(tmp_path: Path) -> None:
    data = str(tmp_path / "emulator.db")
    emu = Emulator(emulator_config(data=data))
    emu.crm.seed("Leads", [LEAD])
    async with client_of(emu) as client:
        assert (await client.post("/_emulator/reset")).status_code == 200
    emu.close()
    again = Emulator(emulator_config(data=data))
    assert again.crm.count("Leads") == 0
    assert REFRESH_TOKEN in again.accounts.refresh_tokens  # the configured grant is back
    again.close()


@pytest.mark.parametrize("durable", [False, True])
async def test_a_seed_with_one_bad_item_leaves_nothing_behind(
    tmp_path: Path, durable: bool
) -> None:
    data = str(tmp_path / "emulator.db") if durable else None
    emu = Emulator(emulator_config(data=data))
    before_uids = {c.uid for c in emu.calendar.calendars()}
    bad = {
        "clients": [{"client_id": "new-client", "client_secret": "s"}],
        "refresh_tokens": [{"client_id": "new-client", "token": "1000.new.token"}],
        "calendars": [{"name": "Team"}],
        "records": {"Leads": [LEAD]},
        "events": {"primary": [EVENT, {"title": "no dateandtime"}]},
    }
    async with client_of(emu) as client:
        answer = await client.post("/_emulator/seed", json=bad)
        assert answer.status_code == 400, answer.text
        assert "dateandtime" in answer.json()["message"]
        assert "new-client" not in emu.accounts.clients
        assert "1000.new.token" not in emu.accounts.refresh_tokens
        assert {c.uid for c in emu.calendar.calendars()} == before_uids
        assert emu.crm.count("Leads") == 0
        assert emu.calendar.events(emu.calendar.primary_uid) == []
        good = await client.post("/_emulator/seed", json={"records": {"Leads": [LEAD]}})
        assert good.status_code == 200, good.text
        # Ids carry on as if the failed seed never ran.
        assert emu.crm.count("Leads") == 1
    emu.close()
    if durable:
        again = Emulator(emulator_config(data=data))
        assert again.crm.count("Leads") == 1
        assert "new-client" not in again.accounts.clients
        again.close()


# --- as a process, killed with SIGKILL ---------------------------------------------------------


@contextmanager
def emulator_process(data: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``zohokit emulator --data`` on a free port; yields the process and its URL."""
    args = ("emulator", "--port", "0", "--data", str(data), "--client-id", CLIENT_ID)
    credentials = ("--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN)
    announce = {"url": r"listening on (http://\S+)"}
    with zohokit_process(*args, *credentials, announce=announce) as (proc, found):
        yield proc, found["url"]


async def test_sigkill_loses_nothing_that_was_answered(tmp_path: Path) -> None:
    data = tmp_path / "emulator.db"
    with emulator_process(data) as (proc, url):
        async with httpx.AsyncClient(base_url=url) as client:
            access = await mint_access_token(client)
            auth = {"Authorization": f"Zoho-oauthtoken {access}"}
            await write_some(client, auth)
            before = await read_back(client, auth)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with emulator_process(data) as (_, url):
        async with httpx.AsyncClient(base_url=url) as client:
            assert await read_back(client, auth) == before
            assert before["deleted"]
            assert before["leads"]
