"""What every request meets before the app (authentication before the body, the body limit)
and what every answer carries (security and caching headers), in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from tests.server.support import ACME_KEY, GLOBAL_KEY, key

LIMIT = 256 * 1024


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


async def test_malformed_json_without_a_key_is_401_not_400(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    # The body was never read: the server closes rather than drain what the client streams.
    assert answer.headers["connection"] == "close"


async def test_malformed_json_with_a_wrong_key_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants", content=b"{not json", headers=key("wrong-key-0123456789abcdef")
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "the API key is not valid"


async def test_malformed_json_with_a_key_is_still_a_clear_4xx(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants",
        content=b"{not json",
        headers={**key(GLOBAL_KEY), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422


async def test_a_declared_oversized_body_without_a_key_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants", content=_chunks(LIMIT + 1), headers={"Content-Length": str(LIMIT + 1)}
    )
    assert answer.status_code == 401


async def test_a_declared_oversized_body_with_a_key_is_413(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants",
        content=_chunks(LIMIT + 1),
        headers={**key(GLOBAL_KEY), "Content-Length": str(LIMIT + 1)},
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "request_entity_too_large"
    assert f"{LIMIT} bytes" in answer.json()["message"]
    assert (await client.get("/api/tenants", headers=key(GLOBAL_KEY))).json() == []


async def test_a_chunked_oversized_body_with_a_key_is_cut_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    # No Content-Length: the body is counted as it arrives.
    answer = await client.post("/api/tenants", content=_chunks(LIMIT * 4), headers=key(GLOBAL_KEY))
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"


async def test_a_body_within_the_limit_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/tenants", json={"tenant": "acme", "name": "x" * 200}, headers=key(GLOBAL_KEY)
    )
    assert answer.status_code == 201, answer.text


async def test_admin_form_posts_without_a_session_are_401_before_parsing(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/admin/tenants",
        content=b"%%%not-a-form",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "log in first"


@pytest.mark.parametrize(
    "path", ["/admin", "/oauth/zoho/callback", "/oauth/zoho/callback?state=unknown"]
)
async def test_every_html_answer_forbids_framing_and_sniffing(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


async def test_json_answers_are_not_sniffed_nor_stored(client: httpx.AsyncClient) -> None:
    for answer in (
        await client.get("/api/tenants", headers=key(GLOBAL_KEY)),
        await client.get("/api/tenants"),
        await client.get("/healthz"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"


async def test_the_token_broker_answer_is_never_cached(
    client: httpx.AsyncClient, app: object
) -> None:
    await client.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
    state = app.state.zohokit  # type: ignore[attr-defined]
    await state.zoho.tokens.store_grant(
        "acme",
        "zoho_crm",
        refresh_token=REFRESH_TOKEN,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        accounts_server="http://emulator.test",
        source="admin",
    )
    answer = await client.get("/api/tenants/acme/tokens/zoho_crm", headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]
    # RFC 6749 section 5.1: a token answer carries no-store (and Pragma for HTTP/1.0).
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"


async def test_the_connect_link_is_never_cached(client: httpx.AsyncClient) -> None:
    await client.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
    answer = await client.get(
        "/connect/zoho", params={"tenant": "acme", "provider": "zoho_crm"}, headers=key(ACME_KEY)
    )
    assert answer.status_code == 302
    assert "state=" in answer.headers["location"]
    assert answer.headers["cache-control"] == "no-store"
