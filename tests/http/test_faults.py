"""The request path under Zoho's failures, against the emulator's fault injection.

Each test configures faults the way a user of the emulator would (``POST /_emulator/faults``
semantics through ``emulator.faults.configure``) and checks what a caller of the services sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID
from tests.http.support import CREDENTIALS, zoho_for
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, EmulatorServer, create_app
from zohokit.errors import RateLimited, ServerError, TransportError, ZohoError
from zohokit.http import ZohoHTTP, tally_requests

LEADS = [{"Last_Name": f"L{i}", "Email": f"l{i}@example.com"} for i in range(3)]


def faults(emulator: Emulator, **rule: Any) -> None:
    emulator.faults.configure({"rules": [rule]})


async def test_5xx_is_retried_until_zoho_answers(crm: ZohoCRMService, emulator: Emulator) -> None:
    emulator.crm.seed("Leads", LEADS)
    faults(emulator, route="crm", error_rate=1.0, count=2)
    found = [r async for r in crm.list_records("Leads", fields=["Email"])]
    assert len(found) == 3
    assert emulator.stats.snapshot()["faults_injected"] == 2


async def test_tally_counts_every_attempt_and_zoho_credits(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    faults(emulator, route="crm", error_rate=1.0, count=2)
    with tally_requests() as tally:
        await crm.modules()
    assert (tally.requests, tally.credits) == (3, 3)  # two failures and the answer
    emulator.faults.configure({"rules": []})
    rows = [{"Last_Name": f"T{i}", "Email": f"t{i}@example.com"} for i in range(125)]
    with tally_requests() as tally:
        await crm.upsert_records("Leads", rows, duplicate_check_fields=["Email"])
    # Two calls (100 + 25 records); Zoho charges a credit per 10 records written.
    assert (tally.requests, tally.credits) == (2, 13)
    with tally_requests() as outer:
        await crm.modules()
    assert outer.requests == 1
    assert tally.requests == 2  # a finished tally stops counting


async def test_429_is_retried(crm: ZohoCRMService, emulator: Emulator) -> None:
    emulator.crm.seed("Leads", LEADS)
    faults(emulator, route="crm", throttle_rate=1.0, count=2)
    assert len([r async for r in crm.list_records("Leads", fields=["Email"])]) == 3


async def test_429_that_never_ends_is_rate_limited(crm: ZohoCRMService, emulator: Emulator) -> None:
    faults(emulator, route="crm", throttle_rate=1.0)
    with pytest.raises(RateLimited) as caught:
        await crm.modules()
    assert caught.value.status == 429
    assert caught.value.code == "TOO_MANY_REQUESTS"
    assert caught.value.tenant == "default"
    assert emulator.stats.snapshot()["faults_injected"] == 4  # first try + 3 retries


async def test_html_gateway_page_is_retried_then_a_server_error(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    faults(emulator, route="crm", html_rate=1.0, count=1)
    assert await crm.modules()
    faults(emulator, route="crm", html_rate=1.0)
    with pytest.raises(ServerError) as caught:
        await crm.modules()
    assert caught.value.status == 502


async def test_an_insert_whose_answer_is_lost_is_not_sent_twice(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    # Zoho stores the records, then the answer is a 500: resending would duplicate them.
    faults(emulator, route="crm", methods=["POST"], error_rate=1.0, when="after", count=1)
    results = await crm.insert_records("Leads", LEADS)
    assert [r.ok for r in results] == [False, False, False]
    assert {r.code for r in results} == {"INTERNAL_ERROR"}
    assert len(emulator.crm.records("Leads")) == 3  # stored once, never twice


async def test_an_upsert_whose_answer_is_lost_is_resent_safely(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    faults(emulator, route="crm", methods=["POST"], error_rate=1.0, when="after", count=1)
    results = await crm.upsert_records("Leads", LEADS, duplicate_check_fields=["Email"])
    assert all(r.ok for r in results)
    assert {r.action for r in results} == {"update"}  # the lost first try had inserted them
    assert len(emulator.crm.records("Leads")) == 3


async def test_a_401_from_an_evicted_token_is_recovered_once(
    crm: ZohoCRMService, emulator: Emulator, emu_client: httpx.AsyncClient
) -> None:
    # Other processes of the same client mint 15 more tokens (past Zoho's 10-per-10-minutes
    # window, which the emulator relaxes here) and so evict ours, the oldest.
    emulator.config.access_tokens_per_window = 100
    await crm.modules()  # the token service now caches a token
    before = emulator.stats.snapshot()
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CREDENTIALS["client_secret"],
        "refresh_token": CREDENTIALS["refresh_token"],
    }
    for _ in range(emulator.config.max_live_access_tokens):
        await emu_client.post("/oauth/v2/token", data=form)
    assert emulator.stats.snapshot()["access_tokens_evicted"] > before["access_tokens_evicted"]
    assert await crm.modules()  # 401 INVALID_OAUTHTOKEN, one refresh, one retry
    after = emulator.stats.snapshot()
    # 15 refreshes by the others, exactly one by us.
    assert after["token_refresh_requests"] - before["token_refresh_requests"] == 16


async def test_in_flight_requests_are_capped_per_tenant(tmp_path: Path, emulator: Emulator) -> None:
    # Each answer takes long enough that three batches are in flight together even when a
    # busy machine is slow to send them (at 20 ms, one run saw only two at once).
    emulator.config.latency_ms = 500
    transport = httpx.ASGITransport(app=create_app(emulator))
    async with zoho_for(
        tmp_path / "t.db", transport=transport, accounts_url=emulator.base_url, max_in_flight=3
    ) as zoho:
        results = await zoho.crm("default", CREDENTIALS).upsert_records(
            "Leads", [{"Last_Name": f"L{i}", "Email": f"c{i}@example.com"} for i in range(400)]
        )  # four batches of 100 for three places
    assert all(r.ok for r in results)
    stats = emulator.stats.snapshot()
    assert stats["max_concurrency_seen"] == 3
    assert stats["rejected_429"] == 0


# --- over real sockets: dropped connections and timeouts ------------------------------------


async def test_a_dropped_connection_is_retried_for_reads(
    served: tuple[EmulatorServer, ZohoHTTP],
) -> None:
    server, http = served
    crm = ZohoCRMService(CREDENTIALS, http=http)
    server.emulator.crm.seed("Leads", LEADS)
    faults(server.emulator, route="crm", drop_rate=1.0, count=1)
    assert len([r async for r in crm.list_records("Leads", fields=["Email"])]) == 3
    assert server.emulator.stats.snapshot()["faults_injected"] == 1


async def test_a_dropped_insert_is_reported_not_resent(
    served: tuple[EmulatorServer, ZohoHTTP],
) -> None:
    server, http = served
    crm = ZohoCRMService(CREDENTIALS, http=http)
    faults(server.emulator, route="crm", methods=["POST"], drop_rate=1.0, when="after", count=1)
    results = await crm.insert_records("Leads", LEADS)
    assert {r.code for r in results} == {"NO_ANSWER"}
    assert all(isinstance(r.error, TransportError) for r in results)
    assert len(server.emulator.crm.records("Leads")) == 3


async def test_a_read_timeout_is_retried_for_reads(
    served: tuple[EmulatorServer, ZohoHTTP],
) -> None:
    server, http = served  # the client's read timeout is 2 s
    crm = ZohoCRMService(CREDENTIALS, http=http)
    faults(server.emulator, route="crm", stall_rate=1.0, stall_ms=3000, count=1)
    assert await crm.modules()


async def test_a_read_timeout_on_an_insert_is_not_resent(
    served: tuple[EmulatorServer, ZohoHTTP],
) -> None:
    server, http = served
    crm = ZohoCRMService(CREDENTIALS, http=http)
    faults(server.emulator, route="crm", methods=["POST"], stall_rate=1.0, stall_ms=3000)
    results = await crm.insert_records("Leads", LEADS)
    assert {r.code for r in results} == {"NO_ANSWER"}
    assert server.emulator.stats.snapshot()["faults_injected"] == 1  # sent exactly once


async def test_nothing_listening_is_a_zohokit_error(tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"
    async with zoho_for(tmp_path / "t.db", accounts_url=dead, api_url=dead) as zoho:
        # The token service cannot reach the accounts server either: a zohokit error (a
        # token error), never a raw httpx exception.
        with pytest.raises(ZohoError):
            await zoho.crm("default", CREDENTIALS).modules()
