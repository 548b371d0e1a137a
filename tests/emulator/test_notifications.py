"""The Notification API (``actions/watch``): channels are enabled, listed, updated and
disabled as Zoho does it, expire on the emulator's clock with each version's limits, and a
record change reaches ``notify_url`` with Zoho's payload, over loopback or in process, with
faults that drop, duplicate and delay notifications."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import client_of, emulator_config, mint_access_token
from zohokit.emulator import Emulator, EmulatorServer

NOTIFY = "http://app.test/zoho/notifications?tenant=acme"


class Inbox:
    """An ASGI app that keeps every JSON body posted to it and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(json.loads(raw))
        self.paths.append(scope["path"] + "?" + scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def inbox(emulator: Emulator) -> Inbox:
    """Notifications delivered in process to an :class:`Inbox`."""
    box = Inbox()
    emulator.notify_transport = httpx.ASGITransport(app=box)
    return box


def watch(
    channel_id: str = "1000", events: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "watch": [
            {
                "channel_id": channel_id,
                "events": events or ["Leads.all"],
                "notify_url": NOTIFY,
                "token": "secret-token",
                **extra,
            }
        ]
    }


def in_days(emulator: Emulator, days: float) -> str:
    return (emulator.clock.utcnow() + timedelta(days=days)).isoformat(timespec="seconds")


async def test_enable_list_update_and_disable(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    enabled = await emu_client.post(
        "/crm/v8/actions/watch",
        json=watch(events=["Leads.all", "Contacts.create"]),
        headers=auth_headers,
    )
    assert enabled.status_code == 201
    result = enabled.json()["watch"][0]
    assert result["code"] == "SUCCESS"
    assert {e["resource_name"] for e in result["details"]["events"]} == {"Leads", "Contacts"}

    listed = (await emu_client.get("/crm/v8/actions/watch", headers=auth_headers)).json()
    by_module = {w["resource_name"]: w for w in listed["watch"]}
    assert by_module["Leads"]["events"] == ["Leads.create", "Leads.edit", "Leads.delete"]
    assert by_module["Contacts"]["events"] == ["Contacts.create"]
    assert by_module["Leads"]["token"] == "secret-token"
    assert listed["info"]["count"] == 2

    # PATCH keeps what it is not given; _delete_events takes events away.
    patched = await emu_client.patch(
        "/crm/v8/actions/watch",
        json={
            "watch": [{"channel_id": "1000", "events": ["Leads.delete"], "_delete_events": True}]
        },
        headers=auth_headers,
    )
    assert patched.status_code == 200
    leads = (
        await emu_client.get(
            "/crm/v8/actions/watch", params={"module": "Leads"}, headers=auth_headers
        )
    ).json()["watch"]
    assert leads[0]["events"] == ["Leads.create", "Leads.edit"]
    assert leads[0]["notify_url"] == NOTIFY

    # PUT replaces the channel: Contacts is gone.
    replaced = await emu_client.put(
        "/crm/v8/actions/watch", json=watch(events=["Deals.edit"]), headers=auth_headers
    )
    assert replaced.status_code == 200
    names = [
        w["resource_name"]
        for w in (await emu_client.get("/crm/v8/actions/watch", headers=auth_headers)).json()[
            "watch"
        ]
    ]
    assert names == ["Deals"]

    gone = await emu_client.delete(
        "/crm/v8/actions/watch", params={"channel_ids": "1000"}, headers=auth_headers
    )
    assert gone.json()["watch"][0]["message"] == "Successfully un-subscribed from actions-watch"
    assert (await emu_client.get("/crm/v8/actions/watch", headers=auth_headers)).status_code == 204


@pytest.mark.parametrize(
    ("version", "days", "lives_days"),
    [
        ("v2", 0.9, 0.9),  # within a day: kept
        ("v3", 2, 1 / 24),  # past v2/v3's one day: the default hour
        ("v4", 6, 6),  # within a week from v4 on
        ("v8", 8, 1 / 24),  # past a week: the default hour
        ("v8", None, 1 / 24),  # none given: one hour
    ],
)
async def test_channel_expiry_follows_each_versions_limits(
    emu_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    version: str,
    days: float | None,
    lives_days: float,
) -> None:
    extra = {} if days is None else {"channel_expiry": in_days(emulator, days)}
    answer = await emu_client.post(
        f"/crm/{version}/actions/watch", json=watch(**extra), headers=auth_headers
    )
    expiry = datetime.fromisoformat(
        answer.json()["watch"][0]["details"]["events"][0]["channel_expiry"]
    )
    expected = emulator.clock.utcnow() + timedelta(days=lives_days)
    assert abs((expiry - expected).total_seconds()) <= 2


async def test_an_expired_channel_is_not_listed_and_not_notified(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, inbox: Inbox
) -> None:
    await emu_client.post("/crm/v8/actions/watch", json=watch(), headers=auth_headers)
    emulator.clock.advance(3601)
    auth_headers = {"Authorization": f"Zoho-oauthtoken {await mint_access_token(emu_client)}"}
    assert (await emu_client.get("/crm/v8/actions/watch", headers=auth_headers)).status_code == 204
    await emu_client.post(
        "/crm/v8/Leads", json={"data": [{"Last_Name": "Late"}]}, headers=auth_headers
    )
    await emulator.watch.drain()
    assert inbox.bodies == []
    # Enabled again (how a channel is renewed), it is told of changes again.
    await emu_client.post("/crm/v8/actions/watch", json=watch(), headers=auth_headers)
    await emu_client.post(
        "/crm/v8/Leads", json={"data": [{"Last_Name": "Back"}]}, headers=auth_headers
    )
    await emulator.watch.drain()
    assert [b["operation"] for b in inbox.bodies] == ["insert"]


async def test_a_change_is_posted_with_zohos_payload(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, inbox: Inbox
) -> None:
    await emu_client.post(
        "/crm/v8/actions/watch",
        json=watch(return_affected_field_values=True),
        headers=auth_headers,
    )
    made = await emu_client.post(
        "/crm/v8/Leads",
        json={"data": [{"Last_Name": "Ada"}, {"Last_Name": "Grace"}]},
        headers=auth_headers,
    )
    ids = [row["details"]["id"] for row in made.json()["data"]]
    emulator.crm.edit("Leads", ids[0], {"Company": "Engines"})
    emulator.crm.delete("Leads", ids[1])
    await emulator.watch.drain()
    insert, update, delete = inbox.bodies
    assert insert["ids"] == ids  # one request, one notification
    assert insert["operation"] == "insert"
    assert insert["module"] == "Leads"
    assert insert["channel_id"] == "1000"
    assert insert["token"] == "secret-token"
    assert insert["query_params"] == {"tenant": "acme"}
    assert insert["resource_uri"].endswith("/crm/v2/Leads")
    assert isinstance(insert["server_time"], int)
    assert update["operation"] == "update"
    assert update["affected_fields"] == [{ids[0]: ["Company"]}]
    assert update["affected_values"] == [{"record_id": ids[0], "values": {"Company": "Engines"}}]
    assert delete["operation"] == "delete"
    assert delete["ids"] == [ids[1]]
    assert inbox.paths[0] == "/zoho/notifications?tenant=acme"


async def test_only_the_watched_operations_are_notified(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, inbox: Inbox
) -> None:
    await emu_client.post(
        "/crm/v8/actions/watch", json=watch(events=["Leads.edit"]), headers=auth_headers
    )
    made = await emu_client.post(
        "/crm/v8/Leads", json={"data": [{"Last_Name": "A"}]}, headers=auth_headers
    )
    emulator.crm.edit("Leads", made.json()["data"][0]["details"]["id"], {"Company": "B"})
    emulator.crm.seed("Contacts", [{"Last_Name": "C"}])
    await emulator.watch.drain()
    assert [b["operation"] for b in inbox.bodies] == ["update"]


async def test_faults_drop_and_duplicate_notifications(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, inbox: Inbox
) -> None:
    await emu_client.post("/crm/v8/actions/watch", json=watch(), headers=auth_headers)
    set_faults = await emu_client.post(
        "/_emulator/faults", json={"notifications": {"drop_rate": 1.0}}
    )
    assert set_faults.json()["notifications"]["drop_rate"] == 1.0
    emulator.crm.seed("Leads", [{"Last_Name": "Lost"}])
    await emu_client.post(
        "/_emulator/faults", json={"notifications": {"duplicate_rate": 1.0, "delay_ms": 20}}
    )
    emulator.crm.seed("Leads", [{"Last_Name": "Twice"}])
    await emulator.watch.drain()
    assert len(inbox.bodies) == 2
    assert inbox.bodies[0] == inbox.bodies[1]
    stats = (await emu_client.get("/_emulator/stats")).json()
    assert stats["notifications_dropped"] == 1
    assert stats["notifications_duplicated"] == 1
    assert stats["notifications_sent"] == 2
    bad = await emu_client.post("/_emulator/faults", json={"notifications": {"drop_rate": 2}})
    assert bad.status_code == 400
    assert "drop_rate" in bad.json()["message"]


@pytest.mark.parametrize(
    ("item", "code", "api_name"),
    [
        ({"events": ["Leads.all"], "notify_url": NOTIFY}, "MANDATORY_NOT_FOUND", "channel_id"),
        ({"channel_id": "1", "notify_url": NOTIFY}, "MANDATORY_NOT_FOUND", "events"),
        ({"channel_id": "1", "events": ["Leads.all"]}, "MANDATORY_NOT_FOUND", "notify_url"),
        (
            {"channel_id": "1", "events": ["Nope.all"], "notify_url": NOTIFY},
            "INVALID_DATA",
            "events",
        ),
        (
            {"channel_id": "1", "events": ["Leads.read"], "notify_url": NOTIFY},
            "INVALID_DATA",
            "events",
        ),
        (
            {"channel_id": "abc", "events": ["Leads.all"], "notify_url": NOTIFY},
            "INVALID_DATA",
            "channel_id",
        ),
        (
            {"channel_id": "1", "events": ["Leads.all"], "notify_url": NOTIFY, "token": "x" * 51},
            "INVALID_DATA",
            "token",
        ),
        (
            {
                "channel_id": "1",
                "events": ["Leads.all"],
                "notify_url": NOTIFY,
                "channel_expiry": "soon",
            },
            "INVALID_DATA",
            "channel_expiry",
        ),
    ],
)
async def test_bad_channels_are_refused_naming_the_key(
    emu_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    item: dict[str, Any],
    code: str,
    api_name: str,
) -> None:
    answer = await emu_client.post(
        "/crm/v8/actions/watch", json={"watch": [item]}, headers=auth_headers
    )
    assert answer.status_code == 400
    error = answer.json()["watch"][0]
    assert (error["code"], error["details"]["api_name"]) == (code, api_name)


async def test_disable_needs_channel_ids_and_an_unknown_id_is_an_error(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    missing = await emu_client.delete("/crm/v8/actions/watch", headers=auth_headers)
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    unknown = await emu_client.delete(
        "/crm/v8/actions/watch", params={"channel_ids": "42"}, headers=auth_headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["watch"][0]["details"]["channel_id"] == "42"


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A plain HTTP server on a loopback port that keeps what is posted to it."""
    bodies: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()


async def test_notifications_cross_loopback_from_a_served_emulator(
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, bodies = receiver
    with EmulatorServer(emulator_config()) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            token = await mint_access_token(client)
            auth = {"Authorization": f"Zoho-oauthtoken {token}"}
            item = {"channel_id": "7", "events": ["Contacts.create"], "notify_url": url}
            assert (
                await client.post("/crm/v8/actions/watch", json={"watch": [item]}, headers=auth)
            ).status_code == 201
            # A change made from this thread, outside any request, is sent from the server's loop.
            server.emulator.crm.seed("Contacts", [{"Last_Name": "Loopback"}])
            for _ in range(200):
                if bodies:
                    break
                await asyncio.sleep(0.01)
    assert [b["operation"] for b in bodies] == ["insert"]
    assert bodies[0]["channel_id"] == "7"
    assert bodies[0]["token"] is None


async def test_channels_survive_a_restart_with_a_data_file(tmp_path: Any) -> None:
    config = emulator_config(data=str(tmp_path / "emu.db"))
    first = Emulator(config)
    async with client_of(first) as client:
        auth = {"Authorization": f"Zoho-oauthtoken {await mint_access_token(client)}"}
        await client.post("/crm/v8/actions/watch", json=watch(), headers=auth)
    first.close()
    second = Emulator(emulator_config(data=str(tmp_path / "emu.db")))
    try:
        assert [e.module for e in second.watch.live()] == ["Leads"]
    finally:
        second.close()


def test_the_channel_expiry_is_an_aware_time(emulator: Emulator) -> None:
    assert emulator.clock.utcnow().tzinfo is UTC
