"""Editions: what ``/org`` says is the edition whose limits the emulator applies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.emulator import emulator_config, mint_access_token, run_cli_emulator
from zohokit.emulator import EDITIONS, Emulator, EmulatorConfig, create_app


async def _token(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {await mint_access_token(client)}"}


HOLD_MS = 400


async def _burst(
    client: httpx.AsyncClient, headers: dict[str, str], n: int, path: str
) -> list[int]:
    """Status codes of ``n`` requests sent at once, while the emulator holds each one.

    The hold is long (``HOLD_MS``) so that on a loaded machine the last request still arrives
    while the first ones are held: the burst must overlap for the limit to show.
    """
    answers = await asyncio.gather(*(client.get(path, headers=headers) for _ in range(n)))
    return sorted(a.status_code for a in answers)


def test_each_edition_has_zohos_published_limits() -> None:
    expected = {
        "free": (5, 5_000),
        "standard": (10, 52_500),
        "professional": (15, 55_000),
        "enterprise": (20, 60_000),
        "ultimate": (25, 70_000),
    }
    for name, (concurrency, credits) in expected.items():
        config = EmulatorConfig(edition=name)  # 10 user licences by default
        assert (config.concurrency_limit, config.daily_credits) == (concurrency, credits)
        assert config.heavy_concurrency_limit == 10
    assert EDITIONS["standard"].daily_credits(1_000) == 100_000  # Zoho's cap
    assert EDITIONS["ultimate"].daily_credits(10_000) == 20_050_000  # no cap
    with pytest.raises(ValueError, match="free, standard"):
        EmulatorConfig(edition="platinum")


def test_the_default_edition_is_consistent() -> None:
    config = EmulatorConfig()
    assert config.edition == "enterprise"
    assert config.concurrency_limit == EDITIONS["enterprise"].concurrency


@pytest.mark.parametrize("edition", ["free", "professional", "ultimate"])
async def test_a_client_reads_org_then_meets_exactly_that_concurrency_limit(edition: str) -> None:
    emulator = Emulator(emulator_config(edition=edition))
    transport = httpx.ASGITransport(app=create_app(emulator))
    async with httpx.AsyncClient(transport=transport, base_url=emulator.base_url) as client:
        headers = await _token(client)
        org = (await client.get("/crm/v8/org", headers=headers)).json()["org"][0]
        assert org["license_details"]["paid_type"] == edition
        assert org["license_details"]["paid"] is (edition != "free")
        limit = {"free": 5, "professional": 15, "ultimate": 25}[edition]

        emulator.config.latency_ms = HOLD_MS
        assert await _burst(client, headers, limit, "/crm/v8/org") == [200] * limit
        codes = await _burst(client, headers, limit + 2, "/crm/v8/org")
        assert codes == [200] * limit + [429, 429]


async def test_heavy_apis_have_their_own_limit_of_ten(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Q"}])
    emulator.config.latency_ms = HOLD_MS
    query = {"select_query": "select Last_Name from Leads where Last_Name is not null"}
    answers = await asyncio.gather(
        *(emu_client.post("/crm/v8/coql", json=query, headers=auth_headers) for _ in range(12))
    )
    assert sorted(a.status_code for a in answers) == [200] * 10 + [429, 429]


@pytest.fixture
def free_edition_cli(tmp_path: Path) -> Iterator[str]:
    """``zohokit emulator --edition free`` as a user starts it, in a subprocess."""
    with run_cli_emulator(
        tmp_path / "emulator.log", "--edition", "free", "--latency-ms", str(2 * HOLD_MS)
    ) as base:
        yield base


async def test_the_edition_option_changes_org_and_the_limits_together(
    free_edition_cli: str,
) -> None:
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=free_edition_cli, limits=limits, timeout=10) as client:
        headers = await _token(client)
        org = (await client.get("/crm/v2/org", headers=headers)).json()["org"][0]
        assert org["license_details"]["paid_type"] == "free"
        config = (await client.get("/_emulator/config")).json()
        assert (config["concurrency_limit"], config["daily_credits"]) == (5, 5_000)
        codes = await _burst(client, headers, 8, "/crm/v2/org")
        assert codes == [200] * 5 + [429] * 3
