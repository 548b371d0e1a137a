"""The bulk-job callback route: with a public URL, a bulk job of the service's root is woken
by Zoho's callback through ``POST /zoho/bulk-callback/{key}/{secret}``, and only with the
job's own secret."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.http.support import CREDENTIALS
from tests.server.support import SERVICE_URL
from zohokit.crm import BulkPolicy
from zohokit.emulator import Emulator


async def test_zohos_callback_wakes_the_job_and_a_forged_one_is_refused(
    app: FastAPI, client: httpx.AsyncClient, emulator: Emulator
) -> None:
    zoho = app.state.zohokit.zoho
    assert zoho.bulk_callbacks.base_url == f"{SERVICE_URL}/zoho/bulk-callback"
    forged = await client.post("/zoho/bulk-callback/abc/def", json={"state": "COMPLETED"})
    assert forged.status_code == 404
    emulator.crm.seed("Leads", [{"Last_Name": f"L{n}"} for n in range(5)])
    jobs = emulator.crm.bulk
    jobs.queued_after, jobs.started_after = 0.01, 0.02
    jobs.callback_transport = httpx.ASGITransport(app=app)  # Zoho reaches the service
    crm = zoho.crm("default", CREDENTIALS)
    # Polls a minute apart: the test's time is only enough if the callback wakes the wait.
    policy = BulkPolicy(first_delay=60, max_delay=60, timeout=120)
    got = [r async for r in crm.bulk_read("Leads", ["Last_Name"], policy=policy)]
    await jobs.drain()
    assert len(got) == 5
    [(url, _, status)] = jobs.callbacks
    assert url.startswith(f"{SERVICE_URL}/zoho/bulk-callback/")
    assert status == 200
