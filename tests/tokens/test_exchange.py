"""The library's code exchange: one allow-list for the callback's accounts server, and a
reconnect revokes the refresh token it replaces."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit.emulator import Emulator
from zohokit.errors import NeedsReauthorization, UntrustedAccountsServer
from zohokit.settings import EnvCredentials

from .conftest import ServiceFactory

pytestmark = pytest.mark.usefixtures("emulator")
CLIENT = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
REDIRECT = "https://app.example.com/callback"


async def _code(emu_client: httpx.AsyncClient) -> str:
    consent = await emu_client.get(
        "/oauth/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "ZohoCRM.modules.ALL",
            "access_type": "offline",
        },
    )
    return parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]


async def test_a_foreign_accounts_server_is_refused_even_with_an_override_set(
    make_service: ServiceFactory, emulator: Emulator, emu_client: httpx.AsyncClient
) -> None:
    # The fixture's service has ZOHO_ACCOUNTS_URL (the emulator) set: the library used to
    # skip the check then; now only that exact origin or Zoho's own servers pass.
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    before = emulator.stats.snapshot()["token_code_requests"]
    for foreign in (
        "https://accounts.evil.example",
        "http://accounts.zoho.com",
        "https://accounts.zoho.com:8443",
        emulator.base_url.replace("http://", "https://"),
    ):
        with pytest.raises(UntrustedAccountsServer) as info:
            await service.exchange_code(
                "acme",
                "zoho_crm",
                code=await _code(emu_client),
                credentials=CLIENT,
                accounts_server=foreign,
                redirect_uri=REDIRECT,
            )
        assert foreign not in str(info.value)  # a stranger's text is not echoed
    assert emulator.stats.snapshot()["token_code_requests"] == before
    assert await service.status("acme", "zoho_crm") is None
    # The override's own origin and Zoho's servers pass (Zoho's are then reached through
    # the override, as every token call is).
    for allowed in (emulator.base_url, "https://accounts.zoho.eu"):
        access = await service.exchange_code(
            "acme",
            "zoho_crm",
            code=await _code(emu_client),
            credentials=CLIENT,
            accounts_server=allowed,
            redirect_uri=REDIRECT,
        )
        assert access.token in emulator.accounts.access_tokens


async def test_reconnecting_revokes_the_refresh_token_it_replaces(
    make_service: ServiceFactory, emulator: Emulator, emu_client: httpx.AsyncClient
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    first = set(emulator.accounts.refresh_tokens)
    await service.exchange_code(
        "acme", "zoho_crm", code=await _code(emu_client), credentials=CLIENT, redirect_uri=REDIRECT
    )
    old = set(emulator.accounts.refresh_tokens) - first
    assert len(old) == 1
    await service.exchange_code(
        "acme", "zoho_crm", code=await _code(emu_client), credentials=CLIENT, redirect_uri=REDIRECT
    )
    assert old.isdisjoint(emulator.accounts.refresh_tokens)  # dead at Zoho
    assert emulator.stats.snapshot()["token_revoke_requests"] == 1
    # The new grant works for the next refresh.
    assert await service.force_refresh("acme", "zoho_crm")


async def test_a_refused_code_raises_with_zohos_reason(
    make_service: ServiceFactory, emu_client: httpx.AsyncClient
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    with pytest.raises(NeedsReauthorization) as info:
        await service.exchange_code(
            "acme", "zoho_crm", code="1000.not.a.code", credentials=CLIENT, redirect_uri=REDIRECT
        )
    assert info.value.reason == "invalid_code"
    assert await service.status("acme", "zoho_crm") is None
