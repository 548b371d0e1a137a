"""The webhooks API: endpoints and deliveries managed over HTTP with a key for every tenant;
a tenant's own key is refused, a refused URL is a 422 that says why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.support import ACME_KEY, GLOBAL_KEY, SERVICE_URL, key, settings_for
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app

ADMIN = key(GLOBAL_KEY)


async def test_endpoints_and_deliveries_over_http(tmp_path: Path, emulator: Emulator) -> None:
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    service = create_app(
        settings_for(tmp_path, zohokit_webhooks_allow_private=True), transport=transport
    )
    async with (
        service.router.lifespan_context(service),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service), base_url=SERVICE_URL
        ) as client,
    ):
        await _scenario(service, client)


async def _scenario(service: FastAPI, client: httpx.AsyncClient) -> None:
    # Nothing listens on port 9: each attempt fails and is logged.
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["booking.created"]}
    assert (await client.post("/api/webhooks/endpoints", json=body)).status_code == 401
    refused = await client.post("/api/webhooks/endpoints", json=body, headers=key(ACME_KEY))
    assert refused.status_code == 403
    made = await client.post("/api/webhooks/endpoints", json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_")
    listed = (await client.get("/api/webhooks/endpoints", headers=ADMIN)).json()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]

    zoho = service.state.zohokit.zoho
    event_id = await zoho.emit("booking.created", "acme", {"booking_id": "b1"})
    await zoho.webhooks.run_due()
    [delivery] = (await client.get("/api/webhooks/deliveries", headers=ADMIN)).json()
    assert (delivery["event_id"], delivery["status"]) == (event_id, "pending")
    detail = (await client.get(f"/api/webhooks/deliveries/{delivery['id']}", headers=ADMIN)).json()
    assert [a["attempt"] for a in detail["log"]] == [1]
    assert detail["log"][0]["error"].startswith("ConnectError")
    again = await client.post(f"/api/webhooks/deliveries/{delivery['id']}/redeliver", headers=ADMIN)
    assert again.json()["status"] == "pending"
    failed = await client.get("/api/webhooks/deliveries?status=failed", headers=ADMIN)
    assert failed.json() == []

    url = f"/api/webhooks/endpoints/{endpoint['id']}"
    paused = await client.patch(url, json={"enabled": False}, headers=ADMIN)
    assert paused.json()["enabled"] is False
    rotated = await client.post(f"{url}/rotate-secret", json={}, headers=ADMIN)
    assert rotated.json()["secret"] != endpoint["secret"]
    assert (await client.get(url, headers=ADMIN)).json()["previous_secret_until"] is not None
    assert (await client.delete(url, headers=ADMIN)).json()["removed"] is True
    gone = await client.get(url, headers=ADMIN)
    assert gone.status_code == 404
    assert endpoint["id"] in gone.json()["message"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"url": "http://10.0.0.5/hook"}, "ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE"),
        ({"url": "ftp://example.com/hook"}, "https://"),
        ({"url": "https://93.184.216.34/h", "event_types": ["Nope"]}, "not an event type"),
    ],
)
async def test_a_refused_endpoint_is_a_422_that_says_why(
    client: httpx.AsyncClient, body: dict[str, object], says: str
) -> None:
    answer = await client.post("/api/webhooks/endpoints", json=body, headers=ADMIN)
    assert answer.status_code == 422
    assert says in answer.json()["message"]
