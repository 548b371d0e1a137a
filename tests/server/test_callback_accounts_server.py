"""Every ``accounts-server`` a callback names is parsed and checked before use: a value that
is not exactly a Zoho accounts server (or the configured emulator) gets 400, never a 500, and
nothing is sent anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.server.support import GLOBAL_KEY, SERVICE_URL, key, settings_for, start_connect
from zohokit.datacenters import trusted_accounts_server
from zohokit.emulator import Emulator
from zohokit.emulator import create_app as create_emulator_app
from zohokit.server import create_app

#: Refused whatever is configured: control characters, odd schemes, user-info, ports, paths,
#: look-alike hosts, unparseable URLs.
HOSTILE = [
    "https://accounts.zoho.eu\t",
    "https://accounts.zoho\t.eu",
    "https://accounts.zoho.eu\r\nX-Injected: 1",
    "https://accounts.zoho.eu\n",
    "https://accounts.zoho.eu\x00",
    "https://accounts.zoho.eu\x7f",
    " https://accounts.zoho.eu",
    "https://accounts.zoho.eu\u00a0",
    "https://accounts.zoho.eu%09",
    "http://accounts.zoho.eu",
    "ftp://accounts.zoho.eu",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "data:text/plain,x",
    "//accounts.zoho.eu",
    "https://user@accounts.zoho.eu",
    "https://user:pw@accounts.zoho.eu",
    "https://accounts.zoho.eu@evil.example",
    "https://accounts.zoho.eu:443",
    "https://accounts.zoho.eu:8443",
    "https://accounts.zoho.eu:abc",
    "https://accounts.zoho.eu/oauth/v2/token",
    "https://accounts.zoho.eu/../evil",
    "https://accounts.zoho.eu?x=1",
    "https://accounts.zoho.eu#frag",
    "https://[::1",
    "https://[::1]:8443",
    "https://evil.example",
    "https://accounts.zoho.eu.evil.example",
    "https://accounts.zoho.eu.",
    "https://127.0.0.1",
    "http://emulator.test\t",
    "http://user@emulator.test",
    "http://emulator.test:8080",
    "http://emulator.test/oauth/v2/token",
    "https://emulator.test",
]


@pytest.fixture(params=["without-ZOHO_ACCOUNTS_URL", "with-ZOHO_ACCOUNTS_URL"])
async def service(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with and without the emulator configured as the accounts server."""
    override = None if request.param.startswith("without") else "http://emulator.test"
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    app = create_app(settings_for(tmp_path, zoho_accounts_url=override), transport=transport)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SERVICE_URL) as http,
    ):
        created = await http.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
        assert created.status_code == 201
        yield http


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[1:-1][:40] for v in HOSTILE])
async def test_the_callback_refuses_a_hostile_accounts_server(
    service: httpx.AsyncClient, emulator: Emulator, value: str
) -> None:
    consent = await start_connect(service, "acme", "zoho_crm")
    state = parse_qs(urlsplit(consent).query)["state"][0]
    answer = await service.get(
        "/oauth/zoho/callback",
        params={"state": state, "code": "1000.code.x", "accounts-server": value},
    )
    assert answer.status_code == 400, answer.text
    assert "Nothing was sent" in answer.text
    assert emulator.stats.counts["token_code_requests"] == 0
    status = (await service.get("/api/tenants/acme/status", headers=key(GLOBAL_KEY))).json()
    assert all(p["state"] == "not_connected" for p in status)


@pytest.mark.parametrize(
    ("given", "override", "called"),
    [
        ("https://accounts.zoho.eu", None, "https://accounts.zoho.eu"),
        ("https://accounts.zoho.eu/", None, "https://accounts.zoho.eu"),
        ("https://ACCOUNTS.ZOHO.EU", None, "https://accounts.zoho.eu"),
        ("accounts.zoho.com.au", None, "https://accounts.zoho.com.au"),
        ("http://emulator.test", "http://emulator.test/", "http://emulator.test"),
        ("http://emulator.test/", "http://emulator.test", "http://emulator.test"),
    ],
)
def test_an_allowed_accounts_server_is_called_by_its_table_url(
    given: str, override: str | None, called: str
) -> None:
    assert trusted_accounts_server(given, override) == called


@pytest.mark.parametrize("value", HOSTILE)
def test_the_rule_refuses_every_hostile_value(value: str) -> None:
    assert trusted_accounts_server(value, "http://emulator.test") is None
