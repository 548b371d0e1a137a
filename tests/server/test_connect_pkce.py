"""PKCE on the connect flow: the code Zoho hands out is bound to the flow that drew it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tests.server.support import GLOBAL_KEY, callback, consent, key, start_connect
from zohokit.server._tables import oauth_states


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _tenants(client: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        created = await client.post("/api/tenants", json={"tenant": name}, headers=key(GLOBAL_KEY))
        assert created.status_code == 201


async def test_the_consent_url_carries_an_s256_challenge(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await _tenants(client, "acme")
    query = _query(await start_connect(client, "acme", "zoho_crm"))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of SHA-256, unpadded
    engine = app.state.zohokit.zoho.engine
    async with engine.connect() as conn:
        stored = (await conn.execute(select(oauth_states.c.code_verifier))).scalar_one()
    # The verifier is kept encrypted with the token keys, never in plain text.
    assert stored.startswith("v1.")


async def test_a_code_drawn_in_tenant_a_flow_cannot_connect_tenant_b(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    await _tenants(client, "acme", "other")
    # The victim's browser goes through acme's consent; the attacker captures the code.
    code_a = _query(await consent(emu_client, await start_connect(client, "acme", "zoho_crm")))[
        "code"
    ]
    # The attacker starts other's flow and sends acme's code with other's state.
    to_b = await consent(emu_client, await start_connect(client, "other", "zoho_crm"))
    forged = {**_query(to_b), "code": code_a}
    answer = await client.get(f"/oauth/zoho/callback?{urlencode(forged)}")
    assert answer.status_code == 502
    assert "invalid_code" in answer.text
    status = (await client.get("/api/tenants/other/status", headers=key(GLOBAL_KEY))).json()
    assert all(p["state"] == "not_connected" for p in status), status


async def test_each_tenant_flow_still_connects_its_own_tenant(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    await _tenants(client, "acme", "other")
    for tenant in ("acme", "other"):
        to_callback = await consent(emu_client, await start_connect(client, tenant, "zoho_crm"))
        answer = await callback(client, to_callback)
        assert answer.status_code == 303, answer.text
