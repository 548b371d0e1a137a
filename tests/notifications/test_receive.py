"""``POST /zoho/notifications``: the channel id and token are checked, each notification is
stored once, and bad input gets a clear 4xx naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.notifications.conftest import NOTIFY_URL, TENANT, Loop
from zohokit.notifications import InvalidNotification, dedupe_key, parse
from zohokit.notifications._tables import notification_inbox


def note(channel_id: str, token: str | None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "server_time": 1750102639787,
        "query_params": {},
        "module": "Leads",
        "resource_uri": "https://www.zohoapis.com/crm/v2/Leads",
        "ids": ["6756839000000575405"],
        "affected_fields": [{"6756839000000575405": ["Company"]}],
        "operation": "update",
        "channel_id": channel_id,
        "token": token,
    }
    body.update(changes)
    return body


async def token_of(loop: Loop, channel_id: str) -> str:
    [entry] = [e for e in loop.emulator.watch.entries.values() if e.channel_id == channel_id]
    assert entry.token is not None
    return entry.token


async def inbox_size(loop: Loop) -> int:
    async with loop.zoho.engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(notification_inbox))).scalar_one()
        )


async def test_a_notification_is_stored_once(loop: Loop) -> None:
    channel = await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    body = note(channel.channel_id, await token_of(loop, channel.channel_id))
    first = await loop.service.post("/zoho/notifications", json=body)
    second = await loop.service.post("/zoho/notifications", json=body)
    assert (first.status_code, first.json()) == (200, {"stored": True})
    assert (second.status_code, second.json()) == (200, {"stored": False})
    assert await inbox_size(loop) == 1
    # Another notification of the same record is another row.
    later = await loop.service.post(
        "/zoho/notifications", json={**body, "server_time": 1750102640000}
    )
    assert later.json() == {"stored": True}
    assert await inbox_size(loop) == 2


async def test_a_wrong_token_or_unknown_channel_is_refused(loop: Loop) -> None:
    channel = await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    token = await token_of(loop, channel.channel_id)
    for body in (
        note(channel.channel_id, token[:-1] + ("x" if token[-1] != "x" else "y")),
        note(channel.channel_id, None),
        note("123456789012345678", token),
    ):
        answer = await loop.service.post("/zoho/notifications", json=body)
        assert answer.status_code == 403, body
        assert answer.json()["error"] == "forbidden"
        assert token not in answer.text
    wrong_module = await loop.service.post(
        "/zoho/notifications", json=note(channel.channel_id, token, module="Deals")
    )
    assert wrong_module.status_code == 403
    assert "watches Leads" in wrong_module.json()["message"]
    assert await inbox_size(loop) == 0


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"channel_id": "abc"}, "channel_id"),
        ({"operation": "upsert"}, "operation"),
        ({"ids": []}, "ids"),
        ({"ids": ["12", "not-an-id"]}, "ids"),
        ({"module": ""}, "module"),
        ({"server_time": "yesterday"}, "server_time"),
        ({"token": 5}, "token"),
        ({"affected_fields": {"a": 1}}, "affected_fields"),
    ],
)
async def test_bad_bodies_get_a_400_naming_the_key(
    loop: Loop, change: dict[str, Any], names: str
) -> None:
    answer = await loop.service.post("/zoho/notifications", json={**note("1", "t"), **change})
    assert answer.status_code == 400
    assert names in answer.json()["message"]


async def test_a_body_that_is_not_json_or_too_large_is_refused(loop: Loop) -> None:
    not_json = await loop.service.post(
        "/zoho/notifications", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert "JSON" in not_json.json()["message"]
    huge = await loop.service.post("/zoho/notifications", content=b"x" * (300 * 1024))
    assert huge.status_code == 413


def test_copies_share_a_dedupe_key_and_other_notifications_do_not() -> None:
    one = parse(note("1", "t"))
    assert dedupe_key(one) == dedupe_key(parse(note("1", "other token")))
    assert dedupe_key(one) == dedupe_key(parse(note("1", "t", ids=["6756839000000575405"])))
    assert dedupe_key(one) != dedupe_key(parse(note("1", "t", operation="delete")))
    assert dedupe_key(one) != dedupe_key(parse(note("2", "t")))
    with pytest.raises(InvalidNotification, match="must be a JSON object"):
        parse(["not", "an", "object"])
