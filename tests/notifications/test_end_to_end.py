"""The whole loop against the emulator, on SQLite and PostgreSQL: a record edited in Zoho
reaches the user's handler and the outbox within 2 seconds, a duplicated notification gives
one event, and with 20% of notifications dropped every change still reaches the ledger
within one reconcile interval."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.notifications.conftest import NOTIFY_URL, TENANT, Loop
from zohokit.notifications import RECONCILE_INTERVAL
from zohokit.notifications._tables import notification_inbox, sync_remote
from zohokit.worker import Worker


async def remote_times(loop: Loop, module: str) -> dict[str, str]:
    """What ``sync_remote`` holds per record id: the Modified_Time the ledger took in."""
    t = sync_remote.c
    async with loop.zoho.engine.connect() as conn:
        rows = await conn.execute(
            select(t.record_id, t.modified_time).where(t.tenant == TENANT, t.module == module)
        )
        return {r.record_id: r.modified_time.isoformat(timespec="seconds") for r in rows}


async def test_an_edit_in_zoho_reaches_the_handler_and_the_outbox_within_two_seconds(
    loop: Loop,
) -> None:
    [lead] = loop.emulator.crm.seed("Leads", [{"Last_Name": "Lovelace", "Company": "Old"}])
    channel = await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    assert channel.status == "active"
    loop.advance(1)
    started = asyncio.get_running_loop().time()
    loop.emulator.crm.edit("Leads", lead, {"Company": "Analytical Engines"})

    async def arrived() -> None:
        while not (loop.changes and await loop.events(lead)):  # noqa: ASYNC110 - polls the DB
            await asyncio.sleep(0.01)

    await asyncio.wait_for(arrived(), timeout=2.0)
    assert asyncio.get_running_loop().time() - started < 2.0
    [change] = loop.changes
    assert (change.tenant, change.module, change.op) == (TENANT, "Leads", "updated")
    assert change.id == lead
    assert change.record is not None
    assert change.record["Company"] == "Analytical Engines"
    assert change.changed_fields == ("Company",)
    [event] = await loop.events(lead)
    assert event["operation"] == "updated"
    assert event["changed_fields"] == ["Company"]
    assert event["source"] == "notification"


async def test_a_duplicated_notification_gives_one_event(loop: Loop) -> None:
    await loop.zoho.notifications.enable(TENANT, "Contacts", notify_url=NOTIFY_URL)
    loop.emulator.faults.configure({"notifications": {"duplicate_rate": 1.0}})
    [contact] = loop.emulator.crm.seed("Contacts", [{"Last_Name": "Hopper"}])
    await loop.settle()
    assert loop.emulator.stats.counts["notifications_sent"] == 2  # both copies arrived
    async with loop.zoho.engine.connect() as conn:
        stored = (await conn.execute(select(notification_inbox.c.id))).all()
    assert len(stored) == 1
    assert [c.id for c in loop.changes] == [contact]
    assert [e["operation"] for e in await loop.events(contact)] == ["created"]
    # Processing again, or the reconcile pull seeing the same version, adds nothing.
    assert await loop.zoho.notifications.process(TENANT) == 0
    await loop.zoho.notifications.reconcile(TENANT, "Contacts")
    assert len(await loop.events(contact)) == 1
    assert len(loop.changes) == 1


async def test_with_a_fifth_of_notifications_dropped_every_change_reaches_the_ledger(
    loop: Loop,
) -> None:
    await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    ids = loop.emulator.crm.seed("Leads", [{"Last_Name": f"Lead {n}"} for n in range(10)])
    loop.emulator.faults.configure({"notifications": {"drop_rate": 0.2}})
    for round_ in range(6):
        loop.advance(1)  # Zoho's times have whole seconds: one edit per record per second
        for n, lead in enumerate(ids):
            loop.emulator.crm.edit("Leads", lead, {"Company": f"round {round_} lead {n}"})
    await loop.settle()
    assert loop.emulator.stats.counts["notifications_dropped"] > 0
    zoho_times = {r["id"]: r["Modified_Time"] for r in loop.emulator.crm.records("Leads")}
    before = await remote_times(loop, "Leads")
    # One reconcile interval later, the worker has run the reconcile pull once.
    loop.advance(RECONCILE_INTERVAL.total_seconds())
    assert await Worker(loop.zoho, kinds=["notifications.reconcile"]).run_due() == 1
    after = await remote_times(loop, "Leads")
    assert after == zoho_times
    # The reconcile pull delivered exactly what the dropped notifications left behind.
    missed = {i for i in ids if before.get(i) != zoho_times[i]}
    reconciled = {c.id for c in loop.changes if c.source == "reconcile"}
    assert reconciled == missed
    # Every record's last version was delivered once, by one path or the other.
    for lead in ids:
        last = [
            e
            for e in await loop.events(lead)
            if e["modified_time"].startswith(zoho_times[lead][:19])
        ]
        assert len(last) == 1, (lead, last)
