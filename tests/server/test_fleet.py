"""Two real ``zohokit serve`` processes on one PostgreSQL hand out tokens for one tenant with
exactly one refresh at the emulator (counted by the emulator over loopback)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from tests.fixtures.postgres import PostgresCluster
from tests.server.support import GLOBAL_KEY, grant_test_tokens, key, start_serve, wait_ready
from zohokit.emulator import EmulatorServer
from zohokit.tokens import generate_key

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def fleet_env(
    postgres_cluster: PostgresCluster, emulator_server: EmulatorServer, tmp_path: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env.update(
        ZOHOKIT_DATABASE_URL=postgres_cluster.url(postgres_cluster.create_database()),
        ZOHOKIT_ENCRYPTION_KEYS=generate_key(),
        ZOHOKIT_API_KEYS=GLOBAL_KEY,
        ZOHOKIT_DATA_DIR=str(tmp_path),
        ZOHO_ACCOUNTS_URL=emulator_server.url,
        ZOHO_CLIENT_ID=CLIENT_ID,
        ZOHO_CLIENT_SECRET=CLIENT_SECRET,
    )
    return env


async def test_two_processes_one_refresh(
    fleet_env: dict[str, str], emulator_server: EmulatorServer
) -> None:
    procs: list[subprocess.Popen[str]] = []
    try:
        urls: list[str] = []
        for _ in range(2):
            proc, url = start_serve(fleet_env)
            procs.append(proc)
            urls.append(url)
        for url in urls:
            await asyncio.to_thread(wait_ready, url)
        async with httpx.AsyncClient(headers=key(GLOBAL_KEY), timeout=30) as http:
            created = await http.post(f"{urls[0]}/api/tenants", json={"tenant": "acme"})
            assert created.status_code == 201
            # The tenant's refresh token, as an operator would import it; no access token yet.
            await grant_test_tokens(fleet_env, "acme", emulator_server.url)
            before = emulator_server.emulator.stats.snapshot()["token_refresh_requests"]
            answers = await asyncio.gather(
                *(
                    http.get(f"{url}/api/tenants/acme/tokens/zoho_crm")
                    for _ in range(25)
                    for url in urls
                )
            )
        assert [a.status_code for a in answers] == [200] * 50
        assert len({a.json()["access_token"] for a in answers}) == 1
        after = emulator_server.emulator.stats.snapshot()["token_refresh_requests"]
        assert after - before == 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
