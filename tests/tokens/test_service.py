"""The token protocol in one process, against the in-process emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.db import create_engine
from zohokit.emulator import Emulator, create_app
from zohokit.errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
)
from zohokit.settings import EnvCredentials, Settings
from zohokit.tokens import Cipher, OAuthTokenService, RefreshPolicy, generate_key
from zohokit.tokens._policy import BACKOFF_CAP_SECONDS
from zohokit.tokens._store import oauth_tokens

from .conftest import FakeClock, ServiceFactory, env_with_test_client

pytestmark = pytest.mark.usefixtures("emulator")


def stats(emulator: Emulator) -> dict[str, int]:
    return emulator.stats.snapshot()


async def test_empty_database_seeds_from_environment(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    token = await service.get_access_token("default", "zoho_crm")
    assert token in emulator.accounts.access_tokens
    assert stats(emulator)["token_refresh_requests"] == 1
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert (status.source, status.status, status.client_id) == ("env", "active", CLIENT_ID)
    assert status.api_domain == emulator.base_url
    # Cached: no further request.
    assert await service.get_access_token("default", "zoho_crm") == token
    assert stats(emulator)["token_refresh_requests"] == 1


async def test_a_service_on_an_empty_database_builds_its_schema_on_first_use(
    empty_db_url: str, emulator: Emulator, key: str
) -> None:
    service = OAuthTokenService(
        create_engine(empty_db_url),
        cipher=Cipher.from_spec(key),
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url_override=emulator.base_url,
        env_credentials=env_with_test_client,
    )
    async with service:
        token = await service.get_access_token("default", "zoho_crm")
        status = await service.status("default", "zoho_crm")
    assert token in emulator.accounts.access_tokens
    assert status is not None
    assert status.source == "env"


async def test_a_new_service_reads_the_token_from_the_database(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    first = await make_service()
    token = await first.get_access_token("default", "zoho_crm")
    await first.close()
    second = await make_service()
    assert await second.get_access_token("default", "zoho_crm") == token
    assert stats(emulator)["token_refresh_requests"] == 1


async def test_get_token_carries_api_domain_and_hides_the_token(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    access = await service.get_token("acme", "zoho_calendar")
    assert access.api_domain == emulator.base_url
    assert access.token not in repr(access)
    assert access.authorization == f"Zoho-oauthtoken {access.token}"
    assert "ZohoCalendar.event.ALL" in access.scopes
    status = await service.status("acme", "zoho_calendar")
    assert status is not None
    assert status.accounts_server == emulator.base_url  # where token calls really went


async def test_explicit_credentials_win_and_plain_dicts_are_accepted(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    creds = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "refreshToken": REFRESH_TOKEN}
    token = await service.get_access_token("t1", "zoho_crm", creds)
    assert token in emulator.accounts.access_tokens


@pytest.mark.parametrize(
    ("provider", "names"),
    [
        ("zoho_crm", ("ZOHO_CLIENT_ID", "ZOHO_CRM_CLIENT_ID", "ZOHO_CRM_REFRESH_TOKEN")),
        ("zoho_calendar", ("ZOHO_CLIENT_ID", "ZOHO_CALENDAR_CLIENT_ID", "ZOHO_REFRESH_TOKEN")),
    ],
)
async def test_nothing_configured_names_the_variables(
    make_service: ServiceFactory,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    names: tuple[str, ...],
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(_env_file=None)
    service = await make_service(env_credentials=settings.env_credentials)
    with pytest.raises(ConfigurationError) as info:
        await service.get_access_token("default", provider)
    for name in names:
        assert name in str(info.value)
        assert name in info.value.variables
    assert stats(emulator)["token_requests"] == 0
    assert await service.status("default", provider) is None


async def test_environment_variables_seed_the_row(
    make_service: ServiceFactory, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOHO_CRM_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ZOHO_CRM_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("ZOHO_CRM_REFRESH_TOKEN", REFRESH_TOKEN)
    monkeypatch.delenv("ZOHO_CLIENT_ID", raising=False)
    service = await make_service(env_credentials=Settings(_env_file=None).env_credentials)
    assert await service.get_access_token("default", "zoho_crm")
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert status.source == "env"
    assert status.has_refresh_token


async def test_many_concurrent_callers_make_one_request(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    tokens = await asyncio.gather(
        *(service.get_access_token("default", "zoho_crm") for _ in range(50))
    )
    assert len(set(tokens)) == 1
    assert stats(emulator)["token_refresh_requests"] == 1


async def test_expired_token_is_refreshed_once_and_keeps_the_refresh_token(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    first = await service.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 240)  # inside the refresh margin
    # Still valid: served at once, while the refresh runs behind the caller.
    assert await service.get_access_token("default", "zoho_crm") == first
    await service.settle()
    second = await service.get_access_token("default", "zoho_crm")
    assert second != first
    assert stats(emulator)["token_refresh_requests"] == 2
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert status.has_refresh_token
    assert status.version >= 3


async def test_invalid_refresh_token_needs_reauth_and_stops_calling_zoho(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    bad = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": "1000.x.y"}
    with pytest.raises(NeedsReauthorization) as info:
        await service.get_access_token("broken", "zoho_crm", bad)
    assert info.value.reason == "invalid_code"
    assert info.value.tenant == "broken"
    status = await service.status("broken", "zoho_crm")
    assert status is not None
    assert status.status == "needs_reauth"
    before = stats(emulator)["token_requests"]
    for _ in range(3):
        with pytest.raises(NeedsReauthorization):
            await service.get_access_token("broken", "zoho_crm", bad)
    assert stats(emulator)["token_requests"] == before
    # Other tenants are unaffected.
    assert await service.get_access_token("healthy", "zoho_crm")


async def test_wrong_client_secret_is_permanent(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service(
        env_credentials=lambda p: EnvCredentials(CLIENT_ID, "wrong", REFRESH_TOKEN)
    )
    with pytest.raises(NeedsReauthorization):
        await service.get_access_token("default", "zoho_crm")


async def test_fixed_environment_revives_an_env_row(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    env = {"creds": EnvCredentials(CLIENT_ID, CLIENT_SECRET, "1000.old.revoked")}
    service = await make_service(env_credentials=lambda p: env["creds"])
    with pytest.raises(NeedsReauthorization):
        await service.get_access_token("default", "zoho_crm")
    env["creds"] = EnvCredentials(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    assert await service.get_access_token("default", "zoho_crm")


async def test_throttle_serves_valid_token_and_waits_out_the_cooldown(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    token = await service.get_access_token("default", "zoho_crm")
    emulator.faults.configure({"token_throttle": True})
    clock.advance(3600 - 250)  # due for refresh, still valid for 250 s
    before = stats(emulator)["token_requests"]
    for _ in range(20):
        assert await service.get_access_token("default", "zoho_crm") == token
        await service.settle()  # the refresh tried behind the caller
        clock.advance(5)
    assert stats(emulator)["token_requests"] == before + 1
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert status.cooldown_until is not None
    assert (status.last_error or "").startswith("throttled")
    # The token expires during the cooldown: the caller is told when to come back.
    clock.advance(200)
    with pytest.raises(TokenRefreshThrottled) as info:
        await service.get_access_token("default", "zoho_crm")
    assert 0 < info.value.retry_after <= 600
    assert stats(emulator)["token_requests"] == before + 1
    # After the cooldown, one new attempt succeeds and the tenant recovers.
    emulator.faults.configure({"token_throttle": False})
    clock.advance(info.value.retry_after + 1)
    assert await service.get_access_token("default", "zoho_crm") != token
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert status.failure_count == 0
    assert status.cooldown_until is None


async def test_unreachable_accounts_server_backs_off(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service(transport=None, accounts_url_override="http://127.0.0.1:9")
    with pytest.raises(TokenRefreshFailed) as info:
        await service.get_access_token("default", "zoho_crm")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    with pytest.raises(TokenRefreshFailed, match="backing off"):
        await service.get_access_token("default", "zoho_crm")


@pytest.mark.parametrize("fault", ["error_rate", "html_rate"])
async def test_a_failing_token_endpoint_backs_off_then_recovers(
    make_service: ServiceFactory, emulator: Emulator, fault: str
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    emulator.faults.configure({"rules": [{"route": "token", fault: 1}]})
    with pytest.raises(TokenRefreshFailed) as info:
        await service.get_access_token("default", "zoho_crm")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    asked = stats(emulator)["token_requests"]
    # While backing off, callers are answered at once and Zoho is left alone.
    with pytest.raises(TokenRefreshFailed, match="backing off"):
        await service.get_access_token("default", "zoho_crm")
    assert stats(emulator)["token_requests"] == asked
    emulator.faults.configure({"rules": []})
    clock.advance(info.value.retry_after + 1)
    assert await service.get_access_token("default", "zoho_crm")
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert status.failure_count == 0


async def test_evicted_token_is_recovered_with_one_refresh_and_one_retry(
    make_service: ServiceFactory, emulator: Emulator, emu_client: httpx.AsyncClient
) -> None:
    emulator.config.access_tokens_per_window = 100  # only the live-token cap matters here
    service = await make_service()
    token = await service.get_access_token("default", "zoho_crm")
    for _ in range(15):  # another careless client mints 15 more: ours is the 16th-oldest
        answer = await emu_client.post(
            "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            },
        )
        assert "access_token" in answer.json()
    url = "/crm/v8/users?type=CurrentUser"
    failed = await emu_client.get(url, headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert failed.status_code == 401
    assert failed.json()["code"] == "INVALID_OAUTHTOKEN"
    before = stats(emulator)["token_refresh_requests"]

    recovered = await service.invalidate("default", "zoho_crm", token)
    retry = await emu_client.get(url, headers={"Authorization": recovered.authorization})
    assert retry.status_code == 200
    assert stats(emulator)["token_refresh_requests"] == before + 1
    # A late 401 for the same dead token does not refresh again: the row moved on.
    again = await service.invalidate("default", "zoho_crm", token)
    assert again.token == recovered.token
    assert stats(emulator)["token_refresh_requests"] == before + 1


async def test_force_refresh_mints_a_new_token(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    first = await service.get_access_token("default", "zoho_crm")
    second = await service.force_refresh("default", "zoho_crm")
    assert second.token != first
    assert await service.get_access_token("default", "zoho_crm") == second.token


async def test_code_exchange_stores_a_connect_grant(
    make_service: ServiceFactory, emulator: Emulator, emu_client: httpx.AsyncClient
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    consent = await emu_client.get(
        "/oauth/v2/auth",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": "https://app.example.com/callback",
            "scope": "ZohoCRM.modules.ALL",
            "access_type": "offline",
        },
    )
    assert consent.status_code == 302
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    access = await service.exchange_code(
        "acme",
        "zoho_crm",
        code=code,
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        redirect_uri="https://app.example.com/callback",
    )
    assert access.token in emulator.accounts.access_tokens
    status = await service.status("acme", "zoho_crm")
    assert status is not None
    assert status.source == "connect"
    assert status.status == "active"
    # The stored refresh token works for the next refresh, with no credentials given.
    assert (await service.force_refresh("acme", "zoho_crm")).token != access.token


async def test_store_grant_replaces_a_needs_reauth_row(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    await service.store_grant(
        "acme",
        "zoho_crm",
        refresh_token="1000.bad.bad",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        source="admin",
    )
    with pytest.raises(NeedsReauthorization):
        await service.get_access_token("acme", "zoho_crm")
    await service.store_grant("acme", "zoho_crm", refresh_token=REFRESH_TOKEN, source="admin")
    assert await service.get_access_token("acme", "zoho_crm")
    listed = await service.list_tokens(provider="zoho_crm")
    assert [(s.tenant, s.source, s.status) for s in listed] == [("acme", "admin", "active")]


async def test_revoke_calls_zoho_and_blocks_the_tenant(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service()
    token = await service.get_access_token("default", "zoho_crm")
    assert await service.revoke("default", "zoho_crm") is True
    assert REFRESH_TOKEN not in emulator.accounts.refresh_tokens
    assert token not in emulator.accounts.access_tokens
    before = stats(emulator)["token_requests"]
    with pytest.raises(TokenRevoked):
        await service.get_access_token("default", "zoho_crm")
    assert stats(emulator)["token_requests"] == before
    status = await service.status("default", "zoho_crm")
    assert status is not None
    assert not status.has_refresh_token
    assert status.status == "revoked"


async def test_key_rotation_reencrypts_every_row(
    make_service: ServiceFactory, emulator: Emulator, key: str
) -> None:
    old = await make_service()
    token = await old.get_access_token("a", "zoho_crm")
    await old.get_access_token("b", "zoho_calendar")
    new_key = generate_key()
    both = await make_service(cipher=Cipher.from_spec(f"{new_key},{key}"))
    assert await both.rotate_encryption_key() == 2
    assert await both.rotate_encryption_key() == 0
    only_new = await make_service(cipher=Cipher.from_spec(new_key))
    assert await only_new.get_access_token("a", "zoho_crm") == token
    status = await only_new.status("a", "zoho_crm")
    assert status is not None
    assert status.key_ids == (Cipher.from_spec(new_key).primary_key_id,)


async def test_tokens_never_appear_in_plain_text(
    make_service: ServiceFactory,
    emulator: Emulator,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)
    service = await make_service()
    access = await service.get_token("default", "zoho_crm")
    with pytest.raises(NeedsReauthorization) as info:
        await service.get_access_token("x", "zoho_crm", {**vars_of_bad_creds()})
    status = await service.status("default", "zoho_crm")
    await service.close()
    secrets = (access.token, REFRESH_TOKEN, CLIENT_SECRET, "1000.secret.bad")
    texts = [caplog.text, repr(service), repr(status), str(info.value), repr(info.value)]
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        texts.append(raw.decode("latin-1"))
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        texts.append(cluster.dump(db_url.rsplit("/", 1)[1]))
    assert any("token.refreshed" in t for t in texts)
    for secret in secrets:
        for text in texts:
            assert secret not in text


def vars_of_bad_creds() -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": "1000.secret.bad",
    }


async def test_unknown_provider_is_refused(make_service: ServiceFactory) -> None:
    service = await make_service()
    with pytest.raises(ValueError, match="zoho_crm"):
        await service.get_access_token("default", "zoho_books")


async def test_a_tenant_failing_for_days_keeps_backing_off(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    emulator.faults.configure({"rules": [{"route": "token", "error_rate": 1}]})
    with pytest.raises(TokenRefreshFailed):
        await service.get_access_token("default", "zoho_crm")
    # Days of outage later: a thousand-odd failures in a row.
    async with service.engine.begin() as conn:
        await conn.execute(update(oauth_tokens).values(failure_count=2000))
    clock.advance(BACKOFF_CAP_SECONDS + 1)
    with pytest.raises(TokenRefreshFailed) as info:
        await service.get_access_token("default", "zoho_crm")
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    asked = emulator.stats.snapshot()["token_requests"]
    with pytest.raises(TokenRefreshFailed, match="backing off"):
        await service.get_access_token("default", "zoho_crm")
    assert emulator.stats.snapshot()["token_requests"] == asked


async def test_a_tenant_with_its_own_oauth_client_is_not_refreshed_with_the_env_client(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    # An admin imported tenant "acme" with its own Zoho client; the process's environment
    # (what ZohoCRMService(client_id="acme") passes along) names the app's client. The
    # refresh token only works with the client it was minted for.
    emulator.accounts.register_client("1000.ACMEOWNCLIENT", "acme-secret")
    grant = emulator.accounts.grant_refresh_token("1000.ACMEOWNCLIENT")
    service = await make_service()
    await service.store_grant(
        "acme",
        "zoho_crm",
        refresh_token=grant.token,
        client_id="1000.ACMEOWNCLIENT",
        client_secret="acme-secret",
        source="admin",
    )
    env_client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = await service.get_access_token("acme", "zoho_crm", env_client)
    assert token in emulator.accounts.access_tokens
    status = await service.status("acme", "zoho_crm")
    assert status is not None
    assert status.status == "active"


async def test_callers_inside_the_margin_are_served_from_the_cache_without_waiting(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    """Twenty callers that arrive together past the refresh moment, with the token still
    valid: every one gets it without waiting (not even on the database), and one refresh
    runs behind them."""
    clock = FakeClock()
    service = await make_service(clock=clock)
    first = await service.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 240)  # inside the refresh margin
    loop = asyncio.get_running_loop()

    async def served_at_once() -> str:
        # A callback queued now runs only if the call gives the loop a turn (waits).
        waited: list[bool] = []
        loop.call_soon(waited.append, True)
        token = await service.get_access_token("default", "zoho_crm")
        assert waited == []
        return token

    assert await asyncio.gather(*(served_at_once() for _ in range(20))) == [first] * 20
    await service.settle()
    assert stats(emulator)["token_refresh_requests"] == 2
    second = await service.get_access_token("default", "zoho_crm")
    assert second != first


async def test_a_refresh_that_outlived_its_lease_keeps_its_new_token_over_a_peers_older_one(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    # Zoho answers the slow refresh in 3 s, within its timeout; the lease runs out by the
    # clock the test moves.
    policy = RefreshPolicy(margin=300, jitter=60, lease=8.0, timeout=6.0)
    slow = await make_service(clock=clock, policy=policy)
    peer = await make_service(clock=clock, policy=policy)
    first = await slow.get_access_token("default", "zoho_crm")
    clock.advance(3600 - 240)  # past its refresh moment, still valid
    emulator.faults.configure({"rules": [{"route": "token", "latency_ms": 3000}]})
    # Served at once; this process's refresh is under way behind it, slowly.
    assert await slow.get_access_token("default", "zoho_crm") == first
    await asyncio.sleep(0.2)
    emulator.faults.configure({"rules": []})  # the slow request is in; the next is quick
    clock.advance(9)  # its lease runs out while Zoho answers
    await peer.get_access_token("default", "zoho_crm")
    await peer.settle()  # the peer took the lease over and wrote a token of its own
    by_peer = await peer.get_access_token("default", "zoho_crm")
    assert by_peer != first
    clock.advance(3600 - 240)  # the peer's token is past its refresh moment in turn
    await slow.settle()  # the slow refresh lands: the peer wrote first, so its write is refused
    kept = await slow.get_access_token("default", "zoho_crm")
    # The token Zoho just minted for it is good for an hour; the peer's has four minutes.
    assert kept not in (first, by_peer)
    assert stats(emulator)["token_refresh_requests"] == 3
