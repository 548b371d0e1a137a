"""A refresh failure caused by the CLI in another process shows on the tenant page and the
overview that a real ``zohokit serve`` process serves: cooldown, its end, the error with its
time, and the refused call in the fleet's call history, read from the shared database (Zoho
is the emulator over loopback, throttling the refresh)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from tests.server.support import (
    GLOBAL_KEY,
    grant_test_tokens,
    key,
    login,
    start_serve,
    stop_serve,
    wait_ready,
)
from zohokit.emulator import EmulatorServer
from zohokit.tokens import generate_key

pytestmark = pytest.mark.slow


async def test_a_cli_refresh_failure_shows_on_the_served_page(
    emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env.update(
        ZOHOKIT_DATABASE_URL=f"sqlite:///{tmp_path / 'fleet.db'}",
        ZOHOKIT_ENCRYPTION_KEYS=generate_key(),
        ZOHOKIT_API_KEYS=GLOBAL_KEY,
        ZOHOKIT_SESSION_SECRET="fleet-session-secret",
        ZOHOKIT_DATA_DIR=str(tmp_path),
        ZOHO_ACCOUNTS_URL=emulator_server.url,
        ZOHO_CLIENT_ID=CLIENT_ID,
        ZOHO_CLIENT_SECRET=CLIENT_SECRET,
    )
    proc, url = start_serve(env)
    try:
        await asyncio.to_thread(wait_ready, url)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            made = await http.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
            assert made.status_code == 201
            await grant_test_tokens(env, "acme", emulator_server.url)
            await login(http, GLOBAL_KEY)
            before = (await http.get("/admin/tenants/acme")).text
            assert 'data-state="healthy"' in before

            emulator_server.emulator.faults.configure({"token_throttle": True})
            cli = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "zohokit", "tokens", "refresh", "acme"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert cli.returncode == 1, cli.stdout + cli.stderr

            page = (await http.get("/admin/tenants/acme")).text
            overview = (await http.get("/admin")).text
    finally:
        stop_serve(proc)
    crm = page.split('data-provider="zoho_calendar"')[0]
    assert 'data-state="cooldown">cooldown<' in crm
    assert re.search(r'data-fact="cooldown"><span class="warning"><time', crm)
    assert re.search(r'data-fact="last-error"><span class="error">throttled: [^<]+</span>', crm)
    assert "1 failures in a row" in crm
    # The overview counts it too: the tenant in cooldown, and the CLI's refused refresh in
    # the call history (the serve process itself never called Zoho).
    assert 'id="health-cooldown" data-count="1"' in overview
    assert re.search(r'id="traffic-calls">1<', overview)
    assert re.search(r'id="traffic-errors">1<', overview)
