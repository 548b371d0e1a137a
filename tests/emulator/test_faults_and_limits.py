"""Faults, latency, Zoho's CRM limits and the control routes, as a client sees them."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.fixtures.emulator import REFRESH_TOKEN, mint_access_token
from zohokit.emulator import Emulator, EmulatorServer, FaultConfigError, Faults


async def test_concurrency_limit_answers_429(
    emu_client: httpx.AsyncClient, emulator: Emulator, auth_headers: dict[str, str]
) -> None:
    emulator.config.latency_ms = 50
    emulator.config.concurrency_limit = 3
    answers = await asyncio.gather(
        *(emu_client.get("/crm/v8/org", headers=auth_headers) for _ in range(6))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 200, 429, 429, 429]
    rejected = next(a for a in answers if a.status_code == 429)
    assert rejected.json()["code"] == "TOO_MANY_REQUESTS"
    stats = (await emu_client.get("/_emulator/stats")).json()
    assert stats["max_concurrency_seen"] == 3
    assert stats["rejected_429"] == 3
    assert stats["crm_requests"] == 6


async def test_daily_credits_run_out_with_429_and_headers_warn_first(
    emu_client: httpx.AsyncClient, emulator: Emulator, auth_headers: dict[str, str]
) -> None:
    emulator.config.daily_credits = 4
    first = await emu_client.get("/crm/v8/org", headers=auth_headers)
    assert "x-api-credits-remaining" not in first.headers
    second = await emu_client.get("/crm/v8/org", headers=auth_headers)
    assert second.headers["x-api-credits-remaining"] == "2"
    for _ in range(2):
        assert (await emu_client.get("/crm/v8/org", headers=auth_headers)).status_code == 200
    assert (await emu_client.get("/crm/v8/org", headers=auth_headers)).status_code == 429
    # Zoho's window rolls: a day after they were spent, the credits are back.
    emulator.clock.advance(86_400 + 60)
    fresh = {"Authorization": f"Zoho-oauthtoken {await mint_access_token(emu_client)}"}
    assert (await emu_client.get("/crm/v8/org", headers=fresh)).status_code == 200


async def test_crm_answers_carry_zoho_headers(
    emu_client: httpx.AsyncClient, emulator: Emulator, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get("/crm/v8/org", headers=auth_headers)
    assert answer.headers["server"] == "ZGS"
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    assert "x-accesstoken-reset" in answer.headers
    assert answer.headers["cache-control"].startswith("no-store")


async def test_error_and_html_faults_are_deterministic_for_a_seed(emulator: Emulator) -> None:
    def rolls(seed: int) -> list[str | None]:
        faults = Faults(seed)
        faults.configure({"rules": [{"route": "crm", "error_rate": 0.3, "html_rate": 0.2}]})
        out = []
        for _ in range(200):
            decision = faults.decide("crm", "GET", "/crm/v8/Leads")
            out.append(decision.action if decision else None)
        return out

    assert rolls(7) == rolls(7)
    assert rolls(7) != rolls(8)
    sample = rolls(7)
    assert 40 <= sample.count("error") <= 80
    assert 20 <= sample.count("html") <= 60


async def test_html_error_page_and_5xx(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    await emu_client.post(
        "/_emulator/faults", json={"rules": [{"route": "crm", "html_rate": 1, "count": 1}]}
    )
    page = await emu_client.get("/crm/v8/org", headers=auth_headers)
    assert page.status_code == 502
    assert page.headers["content-type"].startswith("text/html")
    assert (await emu_client.get("/crm/v8/org", headers=auth_headers)).status_code == 200
    await emu_client.post(
        "/_emulator/faults",
        json={"rules": [{"route": "/crm/v8/org", "error_rate": 1, "error_status": 503}]},
    )
    assert (await emu_client.get("/crm/v8/org", headers=auth_headers)).status_code == 503
    assert (await emu_client.get("/_emulator/stats")).json()["faults_injected"] == 2


async def test_fault_after_commit_keeps_the_write(
    emu_client: httpx.AsyncClient, emulator: Emulator, auth_headers: dict[str, str]
) -> None:
    await emu_client.post(
        "/_emulator/faults",
        json={"rules": [{"route": "crm", "methods": ["POST"], "error_rate": 1, "when": "after"}]},
    )
    answer = await emu_client.post(
        "/crm/v8/Leads", headers=auth_headers, json={"data": [{"Last_Name": "After"}]}
    )
    assert answer.status_code == 500
    assert [r["Last_Name"] for r in emulator.crm.records("Leads")] == ["After"]
    await emu_client.post(
        "/_emulator/faults",
        json={"rules": [{"route": "crm", "methods": ["POST"], "error_rate": 1, "when": "before"}]},
    )
    await emu_client.post(
        "/crm/v8/Leads", headers=auth_headers, json={"data": [{"Last_Name": "Before"}]}
    )
    assert [r["Last_Name"] for r in emulator.crm.records("Leads")] == ["After"]


def test_bad_fault_rules_name_the_field_to_fix() -> None:
    faults = Faults(0)
    with pytest.raises(FaultConfigError, match=r"rules\[0\]\.error_rate"):
        faults.configure({"rules": [{"error_rate": -1}]})
    with pytest.raises(FaultConfigError, match="more than 1"):
        faults.configure({"rules": [{"error_rate": 0.7, "drop_rate": 0.7}]})
    with pytest.raises(FaultConfigError, match="route"):
        faults.configure({"rules": [{"route": "nowhere"}]})
    with pytest.raises(FaultConfigError, match="unknown field"):
        faults.configure({"rules": [{"eror_rate": 1}]})


async def test_bad_fault_payload_is_a_400(emu_client: httpx.AsyncClient) -> None:
    answer = await emu_client.post("/_emulator/faults", json={"rules": [{"when": "later"}]})
    assert answer.status_code == 400
    assert "when" in answer.json()["message"]


def _refresh(url: str) -> str:
    form = {
        "grant_type": "refresh_token",
        "client_id": "test-client",
        "client_secret": "test-secret",
        "refresh_token": REFRESH_TOKEN,
    }
    token: str = httpx.post(f"{url}/oauth/v2/token", data=form).json()["access_token"]
    return token


def test_dropped_connection_over_loopback(emulator_server: EmulatorServer) -> None:
    url = emulator_server.url
    headers = {"Authorization": f"Zoho-oauthtoken {_refresh(url)}"}
    httpx.post(f"{url}/_emulator/faults", json={"rules": [{"route": "crm", "drop_rate": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{url}/crm/v8/org", headers=headers)
    httpx.delete(f"{url}/_emulator/faults")
    assert httpx.get(f"{url}/crm/v8/org", headers=headers).status_code == 200


def test_stall_makes_a_client_time_out(emulator_server: EmulatorServer) -> None:
    url = emulator_server.url
    headers = {"Authorization": f"Zoho-oauthtoken {_refresh(url)}"}
    httpx.post(
        f"{url}/_emulator/faults",
        json={"rules": [{"route": "crm", "stall_rate": 1, "stall_ms": 2000, "count": 1}]},
    )
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{url}/crm/v8/org", headers=headers, timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_latency_flag_slows_every_zoho_call(emulator_server: EmulatorServer) -> None:
    url = emulator_server.url
    headers = {"Authorization": f"Zoho-oauthtoken {_refresh(url)}"}
    httpx.post(f"{url}/_emulator/config", json={"latency_ms": 120})
    started = time.monotonic()
    assert httpx.get(f"{url}/crm/v8/org", headers=headers).status_code == 200
    assert time.monotonic() - started >= 0.12


def test_a_latency_rule_with_a_count_slows_that_many_calls(
    emulator_server: EmulatorServer,
) -> None:
    url = emulator_server.url
    headers = {"Authorization": f"Zoho-oauthtoken {_refresh(url)}"}

    def call() -> float:
        started = time.monotonic()
        assert httpx.get(f"{url}/crm/v8/org", headers=headers, timeout=30).status_code == 200
        return time.monotonic() - started

    httpx.post(
        f"{url}/_emulator/faults", json={"rules": [{"route": "crm", "latency_ms": 400, "count": 1}]}
    )
    assert call() >= 0.4
    assert httpx.get(f"{url}/_emulator/faults").json()["rules"][0]["count"] == 0  # struck once
    # A rule that struck its count stays quiet, its latency too.
    httpx.post(
        f"{url}/_emulator/faults",
        json={"rules": [{"route": "crm", "latency_ms": 20_000, "count": 0}]},
    )
    assert call() < 20


async def test_reset_forgets_tokens_records_and_counters(
    emu_client: httpx.AsyncClient, emulator: Emulator, auth_headers: dict[str, str]
) -> None:
    await emu_client.post(
        "/crm/v8/Leads", headers=auth_headers, json={"data": [{"Last_Name": "Gone"}]}
    )
    await emu_client.post("/_emulator/reset")
    assert emulator.crm.records("Leads") == []
    assert (await emu_client.get("/_emulator/stats")).json()["crm_requests"] == 0
    assert (await emu_client.get("/crm/v8/org", headers=auth_headers)).status_code == 401


async def test_seed_adds_clients_tokens_and_records(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await emu_client.post(
        "/_emulator/seed",
        json={
            "clients": [{"client_id": "c2", "client_secret": "s2"}],
            "refresh_tokens": [{"client_id": "c2", "token": "1000.r2.r2"}],
            "records": {"Leads": [{"Last_Name": "Seeded", "Email": "s@example.com"}]},
        },
    )
    assert answer.status_code == 200
    assert len(answer.json()["records"]["Leads"]) == 1
    assert emulator.crm.count("Leads") == 1
    minted = await emu_client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "c2",
            "client_secret": "s2",
            "refresh_token": "1000.r2.r2",
        },
    )
    assert "access_token" in minted.json()
    bad = await emu_client.post(
        "/_emulator/seed", json={"refresh_tokens": [{"client_id": "nobody"}]}
    )
    assert bad.status_code == 400
    assert "nobody" in bad.json()["message"]
