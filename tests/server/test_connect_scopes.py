"""The connect flow asks for the configured scopes and refuses a grant that lacks one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from tests.server.support import GLOBAL_KEY, callback, consent, key, start_connect
from zohokit.settings import DEFAULT_SCOPES


async def test_a_consent_granting_fewer_scopes_connects_nobody_and_names_the_missing_one(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
    assert created.status_code == 201
    asked = await start_connect(client, "acme", "zoho_crm")
    parts = urlsplit(asked)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["scope"] == ",".join(DEFAULT_SCOPES["zoho_crm"])
    # The user's consent (or the client's configuration at Zoho) leaves COQL out.
    query["scope"] = ",".join(s for s in DEFAULT_SCOPES["zoho_crm"] if s != "ZohoCRM.coql.READ")
    narrowed = urlunsplit(parts._replace(query=urlencode(query)))
    answer = await callback(client, await consent(emu_client, narrowed))
    assert answer.status_code == 502
    assert "without ZohoCRM.coql.READ" in answer.text
    status = (await client.get("/api/tenants/acme/status", headers=key(GLOBAL_KEY))).json()
    assert all(p["state"] == "not_connected" for p in status), status
