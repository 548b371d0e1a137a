"""Channels per tenant and module: enabled with a token of their own (sealed at rest),
renewed before they expire across 14 simulated days with no gap, disabled; the job handlers
run as the worker runs them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.notifications.conftest import NOTIFY_URL, TENANT, Loop
from zohokit.errors import ConfigurationError
from zohokit.jobs import Job, JobContext
from zohokit.notifications import DEFAULT_LIFETIME, inbox_job, reconcile_job
from zohokit.notifications._tables import notification_channels
from zohokit.worker import Worker

DAY = 86_400.0


def context(loop: Loop, kind: str, key: str, **job: Any) -> JobContext[Any]:
    """What the worker hands a handler for one job."""
    now = loop.zoho.clock()
    claimed = Job(0, kind, key, job.get("tenant"), job.get("payload", {}), 1, now)
    return JobContext(loop.zoho, claimed, now)


def live_at_zoho(loop: Loop, channel_id: str) -> list[str]:
    return [e.module for e in loop.emulator.watch.live(channel_id=channel_id)]


async def test_enable_keeps_one_channel_per_module_with_a_sealed_token(loop: Loop) -> None:
    first = await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    again = await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    other = await loop.zoho.notifications.enable("globex", "Leads", notify_url=NOTIFY_URL)
    assert first.channel_id == again.channel_id != other.channel_id
    assert len(first.channel_id) == 18
    assert first.channel_id.isdigit()
    [entry] = [e for e in loop.emulator.watch.entries.values() if e.channel_id == first.channel_id]
    assert entry.token is not None
    assert len(entry.token) >= 32
    async with loop.zoho.engine.connect() as conn:
        stored = (await conn.execute(select(notification_channels.c.token))).scalars().all()
    assert entry.token not in stored  # sealed, never in clear
    assert entry.token not in repr(first)
    assert [c.module for c in await loop.zoho.notifications.channels(TENANT)] == ["Leads"]


async def test_bad_enable_arguments_name_what_to_fix(loop: Loop) -> None:
    with pytest.raises(ConfigurationError, match="operations must be some of create"):
        await loop.zoho.notifications.enable(
            TENANT, "Leads", notify_url=NOTIFY_URL, operations=["update"]
        )
    with pytest.raises(ConfigurationError, match="notify_url must be an http"):
        await loop.zoho.notifications.enable(TENANT, "Leads", notify_url="service.test/hook")


async def test_disable_stops_the_channel_at_zoho_and_here(loop: Loop) -> None:
    channel = await loop.zoho.notifications.enable(TENANT, "Deals", notify_url=NOTIFY_URL)
    assert await loop.zoho.notifications.disable(TENANT, "Deals") is True
    assert live_at_zoho(loop, channel.channel_id) == []
    [row] = await loop.zoho.notifications.channels(TENANT)
    assert row.status == "disabled"
    assert await loop.zoho.notifications.disable(TENANT, "Deals") is False
    # A notification for a disabled channel is refused.
    answer = await loop.service.post(
        "/zoho/notifications",
        json={
            "channel_id": channel.channel_id,
            "token": "anything",
            "module": "Deals",
            "operation": "insert",
            "ids": ["1"],
            "server_time": 1,
        },
    )
    assert answer.status_code == 403


async def test_channels_are_renewed_across_14_simulated_days_with_no_gap(loop: Loop) -> None:
    channel = await loop.zoho.notifications.enable(TENANT, "Contacts", notify_url=NOTIFY_URL)
    assert channel.expires_at is not None
    granted = channel.expires_at - loop.zoho.clock()
    assert abs(granted.total_seconds() - DEFAULT_LIFETIME.total_seconds()) < 5
    renewals = 0
    step = DAY / 4
    worker = Worker(loop.zoho, kinds=["notifications.renew"])
    for _ in range(int(14 * DAY / step)):
        loop.advance(step)
        # At every moment of the fortnight Zoho holds the channel live.
        assert live_at_zoho(loop, channel.channel_id) == ["Contacts"]
        before = (await loop.zoho.notifications.channels(TENANT))[0].expires_at
        await worker.run_due()
        after = (await loop.zoho.notifications.channels(TENANT))[0].expires_at
        assert before is not None
        assert after is not None
        renewals += after > before
        assert live_at_zoho(loop, channel.channel_id) == ["Contacts"]
    assert renewals == 2  # a six-day channel renewed a day early: on days 5 and 10
    # And it still delivers: a contact created now reaches the handler.
    [contact] = loop.emulator.crm.seed("Contacts", [{"Last_Name": "Fortnight"}])
    await loop.settle()
    assert [c.id for c in loop.changes] == [contact]


async def test_the_inbox_and_reconcile_jobs_run_as_the_worker_runs_them(loop: Loop) -> None:
    await loop.zoho.notifications.enable(TENANT, "Leads", notify_url=NOTIFY_URL)
    loop.emulator.faults.configure({"notifications": {"drop_rate": 1.0}})
    [lead] = loop.emulator.crm.seed("Leads", [{"Last_Name": "Dropped"}])
    await loop.settle()
    now = loop.zoho.clock()
    assert await inbox_job(context(loop, "notifications.inbox", TENANT, tenant=TENANT)) is None
    assert await inbox_job(context(loop, "notifications.inbox", "all")) is not None
    assert loop.changes == []
    job = context(loop, "notifications.reconcile", f"{TENANT}:Leads", tenant=TENANT)
    again = await reconcile_job(job)
    assert again is not None
    assert again > now
    assert [(c.id, c.source) for c in loop.changes] == [(lead, "reconcile")]
    # Once the channel is disabled, the reconcile job is finished.
    await loop.zoho.notifications.disable(TENANT, "Leads")
    assert await reconcile_job(job) is None
