"""A rogue endpoint cannot hurt the service: its URL is checked, redirects are not followed,
an answer that never comes or never ends is cut off, and every failure lands in the log."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.events.receiver import Receiver
from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.tokens import generate_key
from zohokit.webhooks import Delivery, DeliveryPolicy, EndpointRefused, WebhookConfig, check_url

PUBLIC = "93.184.216.34"


async def _resolve(host: str) -> list[str]:
    """A name service for the tests: two names, one public and one internal."""
    table = {"hooks.example.com": [PUBLIC], "intranet.example.com": ["10.1.2.3", PUBLIC]}
    if host not in table:
        raise OSError(f"unknown host {host}")
    return table[host]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://hooks.example.com/x", "https://"),
        ("hooks.example.com/x", "https://"),
        ("https://user:pw@hooks.example.com/x", "no user:password"),
        ("http://localhost:8000/x", "this machine"),
        ("http://127.0.0.1/x", "internal address"),
        ("http://[::1]/x", "internal address"),
        ("http://[::ffff:10.0.0.1]/x", "internal address"),
        ("http://169.254.169.254/latest/meta-data", "internal address"),
        ("http://192.168.1.10/x", "internal address"),
        ("https://intranet.example.com/x", "10.1.2.3"),
        ("https://nowhere.example.com/x", "does not resolve"),
    ],
)
async def test_urls_that_would_reach_inside_are_refused_with_what_to_do(
    url: str, says: str
) -> None:
    with pytest.raises(EndpointRefused, match=says) as caught:
        await check_url(url, allow_private=False, resolve=_resolve)
    if "internal" in says or "machine" in says:
        assert "ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE" in caught.value.message


async def test_public_urls_pass_and_the_operator_may_allow_private_ones() -> None:
    assert await check_url("https://hooks.example.com/z", allow_private=False, resolve=_resolve)
    assert await check_url(f"http://{PUBLIC}/z", allow_private=False, resolve=_resolve)
    assert await check_url("http://127.0.0.1:9/z", allow_private=True, resolve=_resolve)
    with pytest.raises(EndpointRefused, match="https://"):
        await check_url("file:///etc/passwd", allow_private=True, resolve=_resolve)


async def test_adding_an_internal_endpoint_is_refused_outside_the_sandbox(
    zoho: Zoho,
) -> None:
    with pytest.raises(EndpointRefused, match="internal address"):
        await zoho.webhooks.add("http://10.0.0.8/hooks")
    with pytest.raises(EndpointRefused, match="not an event type"):
        await zoho.webhooks.add("http://93.184.216.34/hooks", event_types=["Booking Created"])
    assert await zoho.webhooks.endpoints() == []


@pytest.fixture
async def rogue_zoho(db_url: str, clock: ManualClock, receiver: Receiver) -> AsyncIterator[Zoho]:
    policy = DeliveryPolicy(timeout=0.3, max_response=4096, rng=random.Random(1))
    config = WebhookConfig(
        policy=policy, allow_private=True, transport=httpx.ASGITransport(app=receiver)
    )
    async with Zoho(
        database_url=db_url, encryption_keys=generate_key(), clock=clock, webhooks=config
    ) as root:
        yield root


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


async def _one_delivery(zoho: Zoho) -> Delivery:
    """Send one event to a new endpoint at the receiver, once; the delivery afterwards."""
    endpoint, _ = await zoho.webhooks.add("http://receiver.test/hook")
    await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
    await zoho.webhooks.run_due()
    [delivery] = await zoho.webhooks.deliveries(endpoint_id=endpoint.id)
    return delivery


async def test_a_redirect_is_a_failure_and_is_not_followed(
    rogue_zoho: Zoho, receiver: Receiver
) -> None:
    receiver.answer = lambda _request: "redirect"
    delivery = await _one_delivery(rogue_zoho)
    assert [r.path for r in receiver.requests] == ["/hook"]  # never /internal
    assert delivery.status == "pending"
    assert delivery.last_status_code == 307
    assert delivery.last_error == "HTTP 307 (redirects are not followed)"


async def test_an_answer_that_never_comes_costs_one_timeout(
    rogue_zoho: Zoho, receiver: Receiver
) -> None:
    receiver.answer = lambda _request: "hang"
    delivery = await _one_delivery(rogue_zoho)
    [attempt] = await rogue_zoho.webhooks.attempts(delivery.id)
    assert attempt.status_code is None
    assert attempt.error == "no answer within 0.3 s"


async def _endless_server() -> tuple[asyncio.Server, int]:
    """A real HTTP server on loopback whose 200 answer never ends."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port


async def test_an_endless_answer_is_read_only_up_to_the_bound(
    db_url: str, clock: ManualClock
) -> None:
    server, port = await _endless_server()
    policy = DeliveryPolicy(timeout=5.0, max_response=4096, rng=random.Random(1))
    config = WebhookConfig(policy=policy, allow_private=True)  # the real network stack
    try:
        async with Zoho(
            database_url=db_url, encryption_keys=generate_key(), clock=clock, webhooks=config
        ) as zoho:
            endpoint, _ = await zoho.webhooks.add(f"http://127.0.0.1:{port}/hook")
            await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
            done = await zoho.webhooks.run_due()
            [delivery] = await zoho.webhooks.deliveries(endpoint_id=endpoint.id)
    finally:
        server.close()
        await server.wait_closed()
    # Read to its end, the answer would have run into the 5 s timeout and failed.
    assert done.succeeded == 1
    assert delivery.status == "succeeded"
    assert delivery.last_status_code == 200
