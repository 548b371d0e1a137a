"""The service's API in process against the emulator: the connect flow, the broker, tenants,
and each refusal the issue lists, each as its own test."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi import FastAPI

from tests.fixtures.emulator import REFRESH_TOKEN
from tests.server.support import (
    ACME_KEY,
    GLOBAL_KEY,
    OTHER_KEY,
    Clock,
    callback,
    connect,
    consent,
    grant_revoked_elsewhere,
    key,
    start_connect,
)
from zohokit.emulator import Emulator


async def create(client: httpx.AsyncClient, tenant: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/api/tenants", json={"tenant": tenant, **extra}, headers=key(GLOBAL_KEY)
    )


def stats(emulator: Emulator) -> dict[str, int]:
    return emulator.stats.snapshot()


# --- health and authentication ---------------------------------------------------------------


async def test_health_checks_need_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_missing_api_key_is_refused_everywhere_but_health(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/tenants",
        "/api/tenants/acme/tokens/zoho_crm",
        "/metrics",
        "/openapi.json",
        "/connect/zoho?tenant=acme&provider=zoho_crm",
    ):
        answer = await client.get(path)
        assert answer.status_code == 401, path
        # The connect link is opened in a browser, where logging in is the way in.
        expected = (
            "log in on the admin page or send an API key"
            if path.startswith("/connect/")
            else "an API key is required (Authorization: Bearer <key> or X-API-Key)"
        )
        assert answer.json() == {"error": "unauthorized", "message": expected}, path


async def test_wrong_api_key_is_refused(client: httpx.AsyncClient) -> None:
    await create(client, "acme")
    for headers in (key("not-a-key-0123456789abcdef"), {"Authorization": f"Bearer {GLOBAL_KEY}x"}):
        answer = await client.get("/api/tenants/acme/tokens/zoho_crm", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["message"] == "the API key is not valid"


async def test_bearer_and_header_keys_both_work(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/tenants", headers=key(GLOBAL_KEY))).status_code == 200
    bearer = {"Authorization": f"Bearer {GLOBAL_KEY}"}
    assert (await client.get("/api/tenants", headers=bearer)).status_code == 200


async def test_tenant_key_cannot_get_another_tenants_token(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    await create(client, "acme")
    await create(client, "other")
    assert (await connect(client, emu_client, "other", "zoho_crm")).status_code == 303
    refused = await client.get("/api/tenants/other/tokens/zoho_crm", headers=key(ACME_KEY))
    assert refused.status_code == 403
    assert "not valid for this tenant" in refused.json()["message"]
    # The rightful key gets it.
    allowed = await client.get("/api/tenants/other/tokens/zoho_crm", headers=key(OTHER_KEY))
    assert allowed.status_code == 200


async def test_tenant_key_sees_only_its_tenant_and_cannot_create(client: httpx.AsyncClient) -> None:
    await create(client, "acme")
    await create(client, "other")
    listed = (await client.get("/api/tenants", headers=key(ACME_KEY))).json()
    assert [t["tenant"] for t in listed] == ["acme"]
    denied = await client.post("/api/tenants", json={"tenant": "x"}, headers=key(ACME_KEY))
    assert denied.status_code == 403


# --- connect flow ---------------------------------------------------------------------------------


async def test_connect_redirects_to_zoho_with_offline_consent_and_state(
    client: httpx.AsyncClient,
) -> None:
    await create(client, "acme")
    url = await start_connect(client, "acme", "zoho_crm")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://emulator.test/oauth/v2/auth"
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["redirect_uri"] == "http://service.test/oauth/zoho/callback"
    assert len(query["state"]) >= 40
    assert "ZohoCRM.modules.ALL" in query["scope"]


async def test_connect_flow_stores_tokens_and_broker_serves_them(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme", name="Acme Inc", data_center="eu")
    done = await connect(client, emu_client, "acme", "zoho_crm")
    assert done.status_code == 303
    assert done.headers["location"].startswith("/admin/tenants?connected=acme")
    status = (await client.get("/api/tenants/acme/status", headers=key(ACME_KEY))).json()
    crm = next(p for p in status if p["provider"] == "zoho_crm")
    cal = next(p for p in status if p["provider"] == "zoho_calendar")
    assert (crm["state"], crm["source"]) == ("healthy", "connect")
    assert cal["state"] == "not_connected"
    token = (await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))).json()
    assert token["access_token"] in emulator.accounts.access_tokens
    assert token["api_domain"] == "http://emulator.test"
    assert token["expires_at"].endswith("Z")
    # The code exchange already minted it: no refresh was needed.
    assert stats(emulator)["token_refresh_requests"] == 0


async def test_forged_state_is_refused_without_exchanging_the_code(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme")
    real = await consent(emu_client, await start_connect(client, "acme", "zoho_crm"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(real).query).items()}
    query["state"] = query["state"][:-4] + "AAAA"
    answer = await client.get(f"/oauth/zoho/callback?{urlencode(query)}")
    assert answer.status_code == 400
    assert "unknown, expired" in answer.text
    assert stats(emulator)["token_code_requests"] == 0
    status = (await client.get("/api/tenants/acme/status", headers=key(GLOBAL_KEY))).json()
    assert status[0]["state"] == "not_connected"


async def test_replayed_state_is_refused(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme")
    url = await consent(emu_client, await start_connect(client, "acme", "zoho_crm"))
    assert (await callback(client, url)).status_code == 303
    replay = await callback(client, url)
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert stats(emulator)["token_code_requests"] == 1


async def test_missing_state_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.get("/oauth/zoho/callback?code=abc")
    assert answer.status_code == 400
    assert "no state" in answer.text


async def test_expired_state_is_refused(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, clock: Clock, emulator: Emulator
) -> None:
    await create(client, "acme")
    url = await consent(emu_client, await start_connect(client, "acme", "zoho_crm"))
    clock.advance(601)
    answer = await callback(client, url)
    assert answer.status_code == 400
    assert stats(emulator)["token_code_requests"] == 0


async def test_foreign_accounts_server_is_refused(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme")
    url = await consent(emu_client, await start_connect(client, "acme", "zoho_crm"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    for foreign in (
        "https://accounts.evil.example",
        "http://accounts.zoho.com",
        "https://accounts.zoho.com.evil.example",
    ):
        query["accounts-server"] = foreign
        # Each attempt needs a fresh state (a refused one is spent).
        fresh = await consent(emu_client, await start_connect(client, "acme", "zoho_crm"))
        query["state"] = parse_qs(urlsplit(fresh).query)["state"][0]
        answer = await client.get(f"/oauth/zoho/callback?{urlencode(query)}")
        assert answer.status_code == 400, foreign
        assert "accounts server that is not Zoho" in answer.text
    assert stats(emulator)["token_code_requests"] == 0


async def test_denied_consent_ends_on_a_clear_page(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    await create(client, "acme")
    await emu_client.post("/_emulator/faults", json={"consent": "deny"})
    answer = await connect(client, emu_client, "acme", "zoho_crm")
    assert answer.status_code == 403
    assert "access_denied" in answer.text
    assert "Traceback" not in answer.text
    status = (await client.get("/api/tenants/acme/status", headers=key(GLOBAL_KEY))).json()
    assert status[0]["state"] == "not_connected"


async def test_reconnect_revokes_the_previous_refresh_token(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    first = set(emulator.accounts.refresh_tokens) - {REFRESH_TOKEN}
    assert len(first) == 1
    await connect(client, emu_client, "acme", "zoho_crm")
    second = set(emulator.accounts.refresh_tokens) - {REFRESH_TOKEN}
    assert len(second) == 1
    assert first.isdisjoint(second)
    assert stats(emulator)["token_revoke_requests"] == 1
    token = await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(GLOBAL_KEY))
    assert token.status_code == 200


async def test_connect_unknown_tenant_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/connect/zoho", params={"tenant": "ghost", "provider": "zoho_crm"}, headers=key(GLOBAL_KEY)
    )
    assert answer.status_code == 404
    assert "create it first" in answer.json()["message"]


# --- broker -----------------------------------------------------------------------------------


async def test_broker_answers_424_for_a_tenant_needing_reauthorization(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await create(client, "acme")
    await grant_revoked_elsewhere(app, "acme", "zoho_crm")
    answer = await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))
    assert answer.status_code == 424
    body = answer.json()
    assert body["status"] == "needs_reauth"
    assert body["connect_url"] == "/connect/zoho?tenant=acme&provider=zoho_crm"
    status = (await client.get("/api/tenants/acme/status", headers=key(ACME_KEY))).json()
    assert status[0]["state"] == "needs_reauth"
    assert "invalid_code" in status[0]["last_error"]


async def test_broker_answers_424_for_a_tenant_never_connected(client: httpx.AsyncClient) -> None:
    await create(client, "acme")
    answer = await client.get("/api/tenants/acme/tokens/zoho_calendar", headers=key(ACME_KEY))
    assert answer.status_code == 424
    assert answer.json()["status"] == "not_connected"


async def test_broker_refreshes_an_expired_token_once(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator, clock: Clock
) -> None:
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    first = (await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))).json()
    clock.advance(3600)
    emulator.clock.advance(3600)
    again = [
        (await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))).json()
        for _ in range(3)
    ]
    assert {a["access_token"] for a in again} != {first["access_token"]}
    assert len({a["access_token"] for a in again}) == 1
    assert stats(emulator)["token_refresh_requests"] == 1


# --- tenants and validation ---------------------------------------------------------------------


async def test_tenant_create_validates_and_refuses_duplicates(client: httpx.AsyncClient) -> None:
    assert (await create(client, "acme")).status_code == 201
    dup = await create(client, "acme")
    assert dup.status_code == 409
    assert dup.json()["message"] == "tenant 'acme' already exists"
    for bad in ({"tenant": "has space"}, {"tenant": "a:b"}, {"tenant": ""}, {"tenant": "x" * 65}):
        answer = await client.post("/api/tenants", json=bad, headers=key(GLOBAL_KEY))
        assert answer.status_code == 422, bad
        assert answer.json()["message"].startswith("tenant:")
    wrong_dc = await create(client, "beta", data_center="mars")
    assert wrong_dc.status_code == 422
    assert "unknown data centre" in wrong_dc.json()["message"]


async def test_invalid_path_parameters_are_4xx_json(client: httpx.AsyncClient) -> None:
    await create(client, "acme")
    for path, field in (
        ("/api/tenants/acme/tokens/zoho_books", "provider"),
        ("/api/tenants/bad%20name/status", "tenant"),
    ):
        answer = await client.get(path, headers=key(GLOBAL_KEY))
        assert answer.status_code == 422, path
        assert answer.json()["error"] == "unprocessable_entity"
        assert answer.json()["message"].startswith(f"{field}: "), answer.json()
        assert [d["loc"] for d in answer.json()["details"]] == [["path", field]]
    missing = await client.get("/api/tenants/ghost", headers=key(GLOBAL_KEY))
    assert missing.status_code == 404
    unknown = await client.get("/api/nothing-here", headers=key(GLOBAL_KEY))
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Not Found"


async def test_delete_tenant_revokes_its_tokens(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    answer = await client.delete("/api/tenants/acme", headers=key(GLOBAL_KEY))
    assert answer.json() == {"tenant": "acme", "deleted": True, "revoked": {"zoho_crm": True}}
    assert set(emulator.accounts.refresh_tokens) == {REFRESH_TOKEN}
    assert (await client.get("/api/tenants/acme", headers=key(GLOBAL_KEY))).status_code == 404


async def test_deleting_a_tenant_erases_its_tokens_even_when_zoho_refuses_the_revoke(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator, app: FastAPI
) -> None:
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    emulator.faults.configure({"rules": [{"route": "/oauth/v2/token/revoke", "error_rate": 1}]})
    answer = await client.delete("/api/tenants/acme", headers=key(GLOBAL_KEY))
    assert answer.json()["revoked"] == {"zoho_crm": False}
    assert await app.state.zohokit.zoho.tokens.status("acme", "zoho_crm") is None
    # A tenant created again under the same key starts unconnected, not with the old account.
    await create(client, "acme")
    token = await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(GLOBAL_KEY))
    assert token.status_code == 424


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/tenants/acme", headers=key(GLOBAL_KEY))
    text = (await client.get("/metrics", headers=key(GLOBAL_KEY))).text
    assert 'zohokit_http_requests_total{method="GET",route="/api/tenants/{tenant}"' in text


async def _metric(client: httpx.AsyncClient, sample: str) -> float:
    """A sample's value on /metrics (0 before it is first counted)."""
    text = (await client.get("/metrics", headers=key(GLOBAL_KEY))).text
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_show_the_zoho_call_families(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, app: FastAPI
) -> None:
    sample = (
        'zohokit_zoho_requests_total{operation="settings.modules",provider="crm",'
        'status="200",tenant=""}'
    )
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    before = await _metric(client, sample)
    await app.state.zohokit.zoho.crm("acme").modules()
    assert await _metric(client, sample) == before + 1
    text = (await client.get("/metrics", headers=key(GLOBAL_KEY))).text
    for family in (
        "zohokit_zoho_requests_total",
        "zohokit_zoho_retries_total",
        "zohokit_zoho_throttled_total",
        "zohokit_zoho_errors_total",
        "zohokit_zoho_credits_total",
        "zohokit_zoho_credits_remaining",
        "zohokit_zoho_request_seconds",
    ):
        assert f"# HELP {family} " in text, family
    assert 'zohokit_zoho_request_seconds_bucket{le="0.05",operation="settings.modules"' in text


async def test_metrics_count_token_refreshes(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator, clock: Clock
) -> None:
    sample = 'zohokit_token_refreshed_total{provider="zoho_crm"}'
    await create(client, "acme")
    await connect(client, emu_client, "acme", "zoho_crm")
    await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))
    before = await _metric(client, sample)  # the registry is the process's: other tests count
    clock.advance(3600)
    emulator.clock.advance(3600)
    await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))
    assert stats(emulator)["token_refresh_requests"] == 1
    assert await _metric(client, sample) == before + 1
