"""Webhook delivery end to end: a receiver that fails for five minutes gets every event,
each signature verifies with the Standard Webhooks reference library, and the delivery log
says what happened. Time is the test's clock; nothing sleeps."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from standardwebhooks import Webhook

from tests.events.receiver import Received, Receiver
from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.events import read_events
from zohokit.tokens import generate_key
from zohokit.webhooks import DELIVER, DeliveryPolicy, WebhookConfig
from zohokit.worker import Worker

URL = "http://receiver.test/hooks/zoho"
OUTAGE = timedelta(minutes=5)
#: One key for every root of a test, as a fleet shares ZOHOKIT_ENCRYPTION_KEYS.
KEY = generate_key()


@pytest.fixture
def clock() -> ManualClock:
    # The reference library checks each timestamp against the real time (5 minutes either
    # way): the simulated run is placed around now so that every timestamp it signs is
    # within that window when the test verifies it.
    return ManualClock(datetime.now(UTC) - timedelta(minutes=3))


def _root(db_url: str, clock: ManualClock, receiver: Receiver, **policy: object) -> Zoho:
    # A short cap keeps every signed timestamp near now (see ``clock``); a short timeout
    # makes an answer that never comes cost little real time.
    options: dict[str, object] = {"cap": 60.0, "timeout": 0.3, "rng": random.Random(13), **policy}
    return Zoho(
        database_url=db_url,
        encryption_keys=KEY,
        clock=clock,
        webhooks=WebhookConfig(
            policy=DeliveryPolicy(**options),  # type: ignore[arg-type]
            allow_private=True,
            transport=httpx.ASGITransport(app=receiver),
        ),
    )


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def zoho(db_url: str, clock: ManualClock, receiver: Receiver) -> AsyncIterator[Zoho]:
    async with _root(db_url, clock, receiver) as root:
        yield root


async def _run_until_settled(zoho: Zoho, clock: ManualClock, *, limit: int = 2000) -> int:
    """Delivery rounds, jumping the clock to each next due time, until nothing is pending."""
    rounds = 0
    while rounds < limit:
        done = await zoho.webhooks.run_due()
        rounds += 1
        if done.next_due is None:
            return rounds
        clock.now = max(clock.now, done.next_due)
    raise AssertionError(f"deliveries still pending after {limit} rounds")


async def test_a_receiver_down_for_five_minutes_gets_every_event_once_signed(
    zoho: Zoho, clock: ManualClock, receiver: Receiver
) -> None:
    back_at = clock() + OUTAGE
    lost_once: set[str] = set()
    unlucky: set[str] = set()  # events whose first answer after the outage is lost

    def answer(request: Received) -> int | str:
        if clock() < back_at:
            return 500
        event_id = request.headers["webhook-id"]
        if event_id in unlucky and event_id not in lost_once:
            # Processed, but the answer never arrives: the sender times out and sends again.
            lost_once.add(event_id)
            return "hang"
        return 200

    receiver.answer = answer
    endpoint, secret = await zoho.webhooks.add(URL, description="the app")
    emitted = []
    for n in range(20):
        emitted.append(await zoho.emit("booking.created", f"t{n % 3}", {"booking_id": f"b{n}"}))
        clock.advance(seconds=1)
    unlucky.update(emitted[::4])

    await _run_until_settled(zoho, clock)

    seen_after_outage = [r for r in receiver.requests if r.headers["webhook-id"] in lost_once]
    assert lost_once == unlucky
    assert len(receiver.requests) > len(emitted) * 2  # 500s first, then retries
    verifier = Webhook(secret)
    for request in receiver.requests:
        payload = verifier.verify(request.body, request.headers)
        assert payload["id"] == request.headers["webhook-id"]
    unique = dict.fromkeys(receiver.ids())
    assert sorted(unique) == sorted(emitted)
    assert len(seen_after_outage) >= 2 * len(lost_once)

    deliveries = await zoho.webhooks.deliveries(endpoint_id=endpoint.id, limit=100)
    assert {d.status for d in deliveries} == {"succeeded"}
    assert sorted(d.event_id for d in deliveries) == sorted(emitted)
    log = await zoho.webhooks.attempts(deliveries[0].id)
    assert [a.attempt for a in log] == list(range(1, len(log) + 1))
    assert log[0].status_code == 500
    assert log[0].error == "HTTP 500"
    assert log[-1].status_code == 200
    assert log[-1].error is None
    assert log[-1].attempted_at >= back_at


async def test_a_receiver_down_for_a_day_is_given_up_on_after_24_hours_then_redelivered(
    db_url: str, clock: ManualClock, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answer = lambda _request: 503
    given_up = REGISTRY.get_sample_value("zohokit_webhook_attempts_total", {"outcome": "failed"})
    async with _root(db_url, clock, receiver, cap=DeliveryPolicy().cap) as zoho:
        with caplog.at_level(logging.WARNING, logger="zohokit.webhooks"):
            await _given_up_then_redelivered(zoho, clock, receiver)
    after = REGISTRY.get_sample_value("zohokit_webhook_attempts_total", {"outcome": "failed"})
    assert (after or 0) - (given_up or 0) == 1
    [line] = [r.getMessage() for r in caplog.records if "webhook.gave_up" in r.getMessage()]
    assert "error=HTTP 503" in line
    assert "whsec_" not in caplog.text


async def _given_up_then_redelivered(zoho: Zoho, clock: ManualClock, receiver: Receiver) -> None:
    endpoint, _ = await zoho.webhooks.add(URL)
    await zoho.emit("sync.run.failed", "acme", {"run_id": "r1"})
    # Jump straight to each due time: a day of retries in a few dozen rounds.
    await _run_until_settled(zoho, clock)
    [delivery] = await zoho.webhooks.deliveries(endpoint_id=endpoint.id)
    assert delivery.status == "failed"
    log = await zoho.webhooks.attempts(delivery.id)
    assert log[-1].attempted_at - log[0].attempted_at >= timedelta(hours=24)
    assert {a.status_code for a in log} == {503}
    gaps = [b.attempted_at - a.attempted_at for a, b in itertools.pairwise(log)]
    assert gaps[0] < gaps[3] < gaps[6]  # backing off
    assert max(gaps) <= timedelta(hours=2.4)  # the 2-hour cap, jitter included
    assert len(log) < 40

    receiver.answer = lambda _request: 204
    again = await zoho.webhooks.redeliver(delivery.id)
    assert again.status == "pending"
    await _run_until_settled(zoho, clock)
    assert (await zoho.webhooks.delivery(delivery.id)).status == "succeeded"
    assert (await zoho.webhooks.attempts(delivery.id))[-1].status_code == 204


async def test_two_workers_send_each_event_once_when_the_receiver_is_up(
    db_url: str, clock: ManualClock, receiver: Receiver, zoho: Zoho
) -> None:
    await zoho.webhooks.add(URL)
    ids = [await zoho.emit("crm.record.changed", "acme", {"record_id": str(n)}) for n in range(40)]
    async with _root(db_url, clock, receiver) as other:
        await asyncio.gather(zoho.webhooks.run_due(), other.webhooks.run_due())
    assert sorted(receiver.ids()) == sorted(ids)


async def test_an_endpoint_gets_only_the_types_and_tenant_it_asked_for(
    zoho: Zoho, receiver: Receiver
) -> None:
    await zoho.webhooks.add(URL, event_types=["booking.cancelled"], tenant="acme")
    await zoho.emit("booking.cancelled", "acme", {"booking_id": "b1"})
    await zoho.emit("booking.cancelled", "beta", {"booking_id": "b2"})
    await zoho.emit("booking.created", "acme", {"booking_id": "b3"})
    await zoho.webhooks.run_due()
    assert [r.payload["data"] for r in receiver.requests] == [{"booking_id": "b1"}]


async def test_a_paused_endpoint_keeps_its_deliveries_and_gets_no_new_ones(
    zoho: Zoho, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.answer = lambda _request: 500
    endpoint, _ = await zoho.webhooks.add(URL)
    await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
    await zoho.webhooks.run_due()
    await zoho.webhooks.set_enabled(endpoint.id, False)
    await zoho.emit("booking.created", "acme", {"booking_id": "while paused"})
    clock.advance(minutes=10)
    await zoho.webhooks.run_due()
    assert len(receiver.requests) == 1
    receiver.answer = lambda _request: 200
    await zoho.webhooks.set_enabled(endpoint.id, True)
    await zoho.webhooks.run_due()
    assert [r.payload["data"] for r in receiver.requests[1:]] == [{"booking_id": "b1"}]


async def test_a_rotated_secret_signs_beside_the_new_one_until_it_expires(
    zoho: Zoho, clock: ManualClock, receiver: Receiver
) -> None:
    endpoint, old = await zoho.webhooks.add(URL)
    new = await zoho.webhooks.rotate_secret(endpoint.id, keep_previous=timedelta(minutes=2))
    assert new != old
    assert new.startswith("whsec_")
    await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
    await zoho.webhooks.run_due()
    [both] = receiver.requests
    assert len(both.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(both.body, both.headers)
    Webhook(old).verify(both.body, both.headers)

    clock.advance(minutes=3)
    await zoho.emit("booking.created", "acme", {"booking_id": "b2"})
    await zoho.webhooks.run_due()
    only_new = receiver.requests[-1]
    assert len(only_new.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(only_new.body, only_new.headers)
    assert "whsec" not in repr(await zoho.webhooks.get(endpoint.id))


async def test_two_workers_deliver_through_the_job_engine_across_an_outage(
    db_url: str, clock: ManualClock, receiver: Receiver, zoho: Zoho
) -> None:
    back_at = clock() + OUTAGE
    receiver.answer = lambda _request: 500 if clock() < back_at else 200
    _, secret = await zoho.webhooks.add(URL)
    emitted = [await zoho.emit("sync.run.completed", "acme", {"run": n}) for n in range(10)]
    async with _root(db_url, clock, receiver) as other:
        workers = [Worker(zoho, kinds=[DELIVER]), Worker(other, kinds=[DELIVER])]
        for _ in range(7 * 4):  # seven simulated minutes, 15 seconds at a time
            await asyncio.gather(*(w.run_due() for w in workers))
            clock.advance(seconds=15)
    assert sorted(dict.fromkeys(receiver.ids())) == sorted(emitted)
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert {d.status for d in await zoho.webhooks.deliveries()} == {"succeeded"}
    [kind] = [k for k in await zoho.jobs.status() if k.kind == DELIVER]
    assert kind.last_run is not None
    assert kind.last_run.outcome == "ok"
    assert kind.due + kind.scheduled == 1  # it runs again, for the next events


async def test_finished_deliveries_are_forgotten_after_30_days_pending_ones_kept(
    zoho: Zoho, clock: ManualClock, receiver: Receiver
) -> None:
    done_endpoint, _ = await zoho.webhooks.add(URL, event_types=["booking.created"])
    await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
    await zoho.webhooks.run_due()
    receiver.answer = lambda _request: 500
    failing, _ = await zoho.webhooks.add(URL, event_types=["sync.run.failed"])
    await zoho.emit("sync.run.failed", "acme", {"run_id": "r1"})
    await zoho.webhooks.run_due()
    clock.advance(days=31)
    assert await zoho.webhooks.prune() == 1
    assert await zoho.webhooks.deliveries(endpoint_id=done_endpoint.id) == []
    [kept] = await zoho.webhooks.deliveries(endpoint_id=failing.id)
    assert kept.status == "pending"
    assert [e.type for e in await read_events(zoho.engine)] == ["sync.run.failed"]
    assert len(await zoho.webhooks.attempts(kept.id)) == 1
