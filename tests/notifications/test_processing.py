"""Processing the inbox: two processors (two roots on one database, as two workers) never
deliver a change twice, and a handler that fails leaves its notification to be processed
again, with the event written once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.notifications.conftest import NOTIFY_URL, TENANT, Loop
from zohokit.notifications import RecordChange
from zohokit.notifications._tables import notification_inbox


class Collector:
    """Stands in for the service's endpoint: keeps the bodies the emulator posts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(json.loads(raw))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def collected(loop: Loop, module: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records created in the emulator one by one; their notifications, not yet received."""
    collector = Collector()
    loop.emulator.notify_transport = httpx.ASGITransport(app=collector)
    for row in rows:
        loop.emulator.crm.seed(module, [row])
    await loop.emulator.watch.drain()
    return collector.bodies


async def test_two_processors_deliver_each_change_once(loop: Loop) -> None:
    await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    bodies = await collected(loop, "Leads", [{"Last_Name": f"L{n}"} for n in range(40)])
    for body in bodies:
        assert (await loop.zoho.notifications.receive(body)).stored
    other = loop.other_root()
    theirs: list[RecordChange] = []
    other.notifications.on_change(theirs.append)
    try:
        await asyncio.gather(
            loop.zoho.notifications.process(TENANT, limit=5),
            other.notifications.process(TENANT, limit=5),
        )
    finally:
        await other.aclose()
    delivered = [c.id for c in loop.changes] + [c.id for c in theirs]
    assert sorted(delivered) == sorted(i for b in bodies for i in b["ids"])
    events = await loop.events()
    assert len(events) == 40
    assert len({e["record_id"] for e in events}) == 40
    async with loop.zoho.engine.connect() as conn:
        pending = await conn.execute(
            select(notification_inbox.c.id).where(notification_inbox.c.processed_at.is_(None))
        )
        assert pending.all() == []


async def test_a_failing_handler_leaves_the_notification_to_be_processed_again(loop: Loop) -> None:
    await loop.zoho.notifications.enable(TENANT, "Contacts", notify_url=NOTIFY_URL)
    calls: list[str] = []

    def flaky(change: RecordChange) -> None:
        calls.append(change.id)
        if len(calls) == 1:
            raise RuntimeError("the user's database is down")

    loop.zoho.notifications.on_change(flaky)
    [body] = await collected(loop, "Contacts", [{"Last_Name": "Retry"}])
    await loop.zoho.notifications.receive(body)
    with pytest.raises(RuntimeError, match="database is down"):
        await loop.zoho.notifications.process(TENANT)
    assert await loop.events() == []
    async with loop.zoho.engine.connect() as conn:
        row = (await conn.execute(select(notification_inbox))).one()
    assert row.processed_at is None
    assert "database is down" in row.last_error
    assert await loop.zoho.notifications.process(TENANT) == 1
    assert calls == [body["ids"][0]] * 2  # at least once
    assert len(await loop.events()) == 1  # the event exactly once
    # Processed notifications are kept a week (a late copy is still told apart), then go.
    assert await loop.zoho.notifications.prune() == 0
    loop.advance(8 * 86_400)
    assert await loop.zoho.notifications.prune() == 1
