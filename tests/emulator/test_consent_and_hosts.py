"""The emulated accounts server's consent rules (registered redirect URIs only, PKCE) and the
emulator's Host allow-list and secret-free configuration answer."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.emulator import Emulator, EmulatorConfig, EmulatorServer, create_app

REDIRECT = "https://app.example.com/callback"
VERIFIER = "v" * 20 + "-verifier-of-the-flow-that-drew-the-code-0123"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()[:-1]


async def _consent(client: httpx.AsyncClient, **extra: str) -> httpx.Response:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "access_type": "offline",
        **extra,
    }
    return await client.get("/oauth/v2/auth", params=params)


async def _code(client: httpx.AsyncClient, **extra: str) -> str:
    consent = await _consent(client, **extra)
    assert consent.status_code == 302, consent.text
    return parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]


async def _exchange(client: httpx.AsyncClient, code: str, **extra: str) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        "code": code,
        **extra,
    }
    body: dict[str, str] = (await client.post("/oauth/v2/token", data=form)).json()
    return body


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/steal",
        "https://app.example.com/callback/../other",
        "https://app.example.com/callback?x=1",
        "http://app.example.com/callback",  # the same URI over plain HTTP is another URI
    ],
)
async def test_consent_refuses_a_redirect_uri_that_is_not_registered(
    emu_client: httpx.AsyncClient, redirect_uri: str
) -> None:
    answer = await _consent(emu_client, redirect_uri=redirect_uri, state="s")
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "Invalid Redirect Uri" in answer.text


async def test_a_client_without_registered_redirect_uris_gets_no_redirect() -> None:
    emu = Emulator(EmulatorConfig(client_id="c", client_secret="s", base_url="http://e.test"))
    transport = httpx.ASGITransport(app=create_app(emu))
    async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as client:
        answer = await client.get(
            "/oauth/v2/auth",
            params={"client_id": "c", "response_type": "code", "redirect_uri": REDIRECT},
        )
    assert answer.status_code == 400
    assert "Invalid Redirect Uri" in answer.text


async def test_an_s256_code_needs_the_verifier_of_its_flow(emu_client: httpx.AsyncClient) -> None:
    challenge = {"code_challenge": _s256(VERIFIER), "code_challenge_method": "S256"}
    missing = await _exchange(emu_client, await _code(emu_client, **challenge))
    assert missing == {"error": "invalid_code"}
    other = await _exchange(
        emu_client, await _code(emu_client, **challenge), code_verifier="another-flow-" + "x" * 40
    )
    assert other == {"error": "invalid_code"}
    good = await _exchange(emu_client, await _code(emu_client, **challenge), code_verifier=VERIFIER)
    assert good["refresh_token"].startswith("1000.")


async def test_a_plain_challenge_is_compared_as_is(emu_client: httpx.AsyncClient) -> None:
    code = await _code(emu_client, code_challenge=VERIFIER)  # Zoho's default method is plain
    assert "access_token" in await _exchange(emu_client, code, code_verifier=VERIFIER)


async def test_an_unknown_challenge_method_is_an_error_page(emu_client: httpx.AsyncClient) -> None:
    answer = await _consent(emu_client, code_challenge="abc", code_challenge_method="S512")
    assert answer.status_code == 400
    assert "code_challenge_method" in answer.text


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "[2001:db8::1]"]
)
async def test_a_foreign_host_is_refused(emu_client: httpx.AsyncClient, host: str) -> None:
    for path in ("/_emulator/config", "/_emulator/stats", "/crm/v8/org", "/oauth/v2/auth"):
        answer = await emu_client.get(path, headers={"Host": host})
        assert answer.status_code == 403, path
        assert "Host" in answer.json()["message"]
    reset = await emu_client.post("/_emulator/reset", headers={"Host": host})
    assert reset.status_code == 403


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8765",
        "127.0.0.1:8765",
        "[::1]:8765",
        "app.localhost",
        "emulator.test",
    ],
)
async def test_loopback_names_and_the_base_url_are_answered(
    emu_client: httpx.AsyncClient, host: str
) -> None:
    answer = await emu_client.get("/_emulator/config", headers={"Host": host})
    assert answer.status_code == 200


def test_an_allowed_host_is_answered_over_loopback() -> None:
    config = EmulatorConfig(allowed_hosts=("zoho-emulator",))
    with EmulatorServer(config) as server:
        allowed = httpx.get(f"{server.url}/_emulator/stats", headers={"Host": "zoho-emulator"})
        refused = httpx.get(f"{server.url}/_emulator/stats", headers={"Host": "evil.example"})
    assert allowed.status_code == 200
    assert refused.status_code == 403


async def test_the_config_answer_holds_no_secret(emu_client: httpx.AsyncClient) -> None:
    answer = await emu_client.get("/_emulator/config")
    assert answer.status_code == 200
    body = answer.json()
    assert body["client_id"] == CLIENT_ID
    assert "client_secret" not in body
    assert "refresh_token" not in body
    assert CLIENT_SECRET not in answer.text
    assert REFRESH_TOKEN not in answer.text
    changed = await emu_client.post("/_emulator/config", json={"token_ttl": 60})
    assert CLIENT_SECRET not in changed.text
    assert REFRESH_TOKEN not in changed.text
