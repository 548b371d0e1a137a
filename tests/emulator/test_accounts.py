"""The emulated accounts server: grants, Zoho's error conventions and token limits."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.emulator import Emulator

REFRESH = {
    "grant_type": "refresh_token",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


async def test_refresh_with_form_body_answers_like_zoho(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await emu_client.post("/oauth/v2/token", data=REFRESH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    body = answer.json()
    assert body["access_token"].startswith("1000.")
    assert body["api_domain"] == emulator.base_url
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body  # Zoho never rotates refresh tokens
    assert "expires_in_sec" not in body
    stats = (await emu_client.get("/_emulator/stats")).json()
    assert stats["token_requests"] == 1
    assert stats["token_refresh_requests"] == 1


async def test_parameters_in_query_multipart_or_basic_auth(emu_client: httpx.AsyncClient) -> None:
    by_query = await emu_client.post("/oauth/v2/token", params=REFRESH)
    assert "access_token" in by_query.json()
    by_multipart = await emu_client.post(
        "/oauth/v2/token", files={k: (None, v) for k, v in REFRESH.items()}
    )
    assert "access_token" in by_multipart.json()
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    by_basic = await emu_client.post(
        "/oauth/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert "access_token" in by_basic.json()


async def test_errors_come_back_as_200_with_an_error_body(emu_client: httpx.AsyncClient) -> None:
    cases = {
        "invalid_code": {**REFRESH, "refresh_token": "1000.nope.nope"},
        "invalid_client": {**REFRESH, "client_id": "someone-else"},
        "invalid_client_secret": {**REFRESH, "client_secret": "wrong"},
        "unsupported_grant_type": {**REFRESH, "grant_type": "password"},
    }
    for error, form in cases.items():
        answer = await emu_client.post("/oauth/v2/token", data=form)
        assert answer.status_code == 200, error
        assert answer.json() == {"error": error}


async def test_eleventh_token_in_ten_minutes_is_access_denied(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    for _ in range(10):
        assert "access_token" in (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()
    denied = await emu_client.post("/oauth/v2/token", data=REFRESH)
    assert denied.status_code == 400
    assert denied.json()["error"] == "Access Denied"
    assert "too many requests" in denied.json()["error_description"]
    emulator.clock.advance(601)
    assert "access_token" in (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()


async def test_sixteenth_token_evicts_the_oldest(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.config.access_tokens_per_window = 100
    tokens = [
        (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()["access_token"]
        for _ in range(16)
    ]
    first = await emu_client.get(
        "/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {tokens[0]}"}
    )
    assert first.status_code == 401
    assert first.json()["code"] == "INVALID_OAUTHTOKEN"
    second = await emu_client.get(
        "/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {tokens[1]}"}
    )
    assert second.status_code == 200
    assert (await emu_client.get("/_emulator/stats")).json()["access_tokens_evicted"] == 1


async def test_expired_token_is_rejected(emu_client: httpx.AsyncClient, emulator: Emulator) -> None:
    token = (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()["access_token"]
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    assert (await emu_client.get("/crm/v8/org", headers=headers)).status_code == 200
    emulator.clock.advance(3601)
    expired = await emu_client.get("/crm/v8/org", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "INVALID_TOKEN"


async def test_consent_code_exchange_and_single_use(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    redirect = "https://app.example.com/oauth/zoho/callback"
    consent = await emu_client.get(
        "/oauth/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "ZohoCRM.modules.ALL",
            "access_type": "offline",
            "prompt": "consent",
            "state": "s-123",
        },
    )
    assert consent.status_code == 302
    target = urlsplit(consent.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == redirect
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["state"] == "s-123"
    assert query["location"] == "us"
    assert query["accounts-server"] == emulator.base_url
    exchange = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect,
        "code": query["code"],
    }
    first = (await emu_client.post("/oauth/v2/token", data=exchange)).json()
    assert first["refresh_token"].startswith("1000.")
    assert first["scope"] == "ZohoCRM.modules.ALL"
    again = await emu_client.post("/oauth/v2/token", data=exchange)
    assert again.json() == {"error": "invalid_code"}
    # The new refresh token works on its own.
    refreshed = await emu_client.post(
        "/oauth/v2/token", data={**REFRESH, "refresh_token": first["refresh_token"]}
    )
    assert "access_token" in refreshed.json()


async def test_expired_code_and_wrong_redirect_are_refused(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    async def code_for(redirect: str) -> str:
        consent = await emu_client.get(
            "/oauth/v2/auth",
            params={
                "client_id": CLIENT_ID,
                "response_type": "code",
                "redirect_uri": redirect,
                "access_type": "offline",
            },
        )
        return parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]

    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    code = await code_for("https://a.example/cb")
    wrong = await emu_client.post(
        "/oauth/v2/token", data={**form, "code": code, "redirect_uri": "https://b.example/cb"}
    )
    assert wrong.json() == {"error": "invalid_redirect_uri"}
    code = await code_for("https://a.example/cb")
    emulator.clock.advance(emulator.config.grant_code_ttl_seconds + 1)
    late = await emu_client.post(
        "/oauth/v2/token", data={**form, "code": code, "redirect_uri": "https://a.example/cb"}
    )
    assert late.json() == {"error": "invalid_code"}


async def test_denied_consent_redirects_with_access_denied(emu_client: httpx.AsyncClient) -> None:
    await emu_client.post("/_emulator/faults", json={"consent": "deny"})
    consent = await emu_client.get(
        "/oauth/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": "https://a.example/cb",
            "state": "xyz",
        },
    )
    query = parse_qs(urlsplit(consent.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz"]
    assert "code" not in query


async def test_unknown_client_gets_an_error_page_not_a_redirect(
    emu_client: httpx.AsyncClient,
) -> None:
    page = await emu_client.get(
        "/oauth/v2/auth",
        params={"client_id": "nobody", "response_type": "code", "redirect_uri": "https://a/cb"},
    )
    assert page.status_code == 400
    assert "Invalid Client" in page.text


async def test_twenty_first_refresh_token_evicts_the_oldest(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    # The configured one is the first; 20 more push it out.
    for _ in range(20):
        emulator.accounts.grant_refresh_token(CLIENT_ID)
    answer = await emu_client.post("/oauth/v2/token", data=REFRESH)
    assert answer.json() == {"error": "invalid_code"}


async def test_revoke_kills_the_refresh_token_and_its_access_tokens(
    emu_client: httpx.AsyncClient,
) -> None:
    token = (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()["access_token"]
    revoked = await emu_client.post("/oauth/v2/token/revoke", data={"token": REFRESH_TOKEN})
    assert revoked.json() == {"status": "success"}
    assert (await emu_client.post("/oauth/v2/token", data=REFRESH)).json() == {
        "error": "invalid_code"
    }
    use = await emu_client.get("/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert use.status_code == 401
    again = await emu_client.post("/oauth/v2/token/revoke", params={"token": REFRESH_TOKEN})
    assert again.status_code == 400


async def test_forced_throttle_answers_access_denied(emu_client: httpx.AsyncClient) -> None:
    await emu_client.post("/_emulator/faults", json={"token_throttle": True})
    answer = await emu_client.post("/oauth/v2/token", data=REFRESH)
    assert answer.json()["error"] == "Access Denied"
    await emu_client.post("/_emulator/faults", json={"token_throttle": False})
    assert "access_token" in (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()


async def test_token_ttl_is_configurable(emu_client: httpx.AsyncClient, emulator: Emulator) -> None:
    await emu_client.post("/_emulator/config", json={"token_ttl": 60})
    assert (await emu_client.post("/oauth/v2/token", data=REFRESH)).json()["expires_in"] == 60
    bad = await emu_client.post("/_emulator/config", json={"client_secret": "x"})
    assert bad.status_code == 400
    assert "client_secret" in bad.json()["message"]


async def test_adopting_refresh_tokens_from_an_earlier_run(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    earlier = {**REFRESH, "refresh_token": "1000.from.lastrun"}
    assert (await emu_client.post("/oauth/v2/token", data=earlier)).json() == {
        "error": "invalid_code"
    }
    await emu_client.post("/_emulator/config", json={"adopt_unknown_refresh_tokens": True})
    minted = (await emu_client.post("/oauth/v2/token", data=earlier)).json()
    assert "access_token" in minted
    # Still only for a registered client with its secret.
    stranger = {**earlier, "client_id": "nobody"}
    assert (await emu_client.post("/oauth/v2/token", data=stranger)).json() == {
        "error": "invalid_client"
    }
    bad = await emu_client.post("/_emulator/config", json={"adopt_unknown_refresh_tokens": 1})
    assert bad.status_code == 400
