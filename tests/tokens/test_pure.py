"""Pure parts of the token service: answer classification, policy, encryption, settings."""

from __future__ import annotations

import json
import os
import random
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zohokit.tokens
from zohokit.datacenters import DATA_CENTERS, by_accounts_server, by_code, is_known_accounts_server
from zohokit.db import create_engine
from zohokit.errors import ConfigurationError, TokenRefreshThrottled, ZohoError
from zohokit.settings import Settings, to_async_url
from zohokit.tokens import (
    Cipher,
    DecryptionError,
    RefreshPolicy,
    TokenFailure,
    TokenGrant,
    ZohoCredentials,
    classify_token_response,
    generate_key,
)
from zohokit.tokens._crypto import load_or_create_key_file
from zohokit.tokens._policy import BACKOFF_CAP_SECONDS, backoff_seconds


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


# --- classification of token answers -------------------------------------------------------


def test_success_needs_an_access_token_and_keeps_api_domain() -> None:
    outcome = classify_token_response(
        200,
        body(
            {
                "access_token": "1000.a.b",
                "api_domain": "https://www.zohoapis.eu",
                "expires_in": 3600,
                "scope": "ZohoCRM.modules.ALL",
            }
        ),
    )
    assert isinstance(outcome, TokenGrant)
    assert outcome.api_domain == "https://www.zohoapis.eu"
    assert outcome.expires_in == 3600
    assert outcome.refresh_token is None
    assert "1000.a.b" not in repr(outcome)


def test_legacy_milliseconds_and_expires_in_sec() -> None:
    legacy = classify_token_response(
        200, body({"access_token": "x", "expires_in": 3_600_000, "expires_in_sec": 3600})
    )
    ms_only = classify_token_response(200, body({"access_token": "x", "expires_in": 3_600_000}))
    missing = classify_token_response(200, body({"access_token": "x"}))
    assert isinstance(legacy, TokenGrant)
    assert isinstance(ms_only, TokenGrant)
    assert isinstance(missing, TokenGrant)
    assert legacy.expires_in == ms_only.expires_in == missing.expires_in == 3600


@pytest.mark.parametrize(
    ("status", "payload", "kind"),
    [
        (200, {"error": "invalid_code"}, "permanent"),
        (200, {"error": "invalid_client"}, "permanent"),
        (200, {"error": "invalid_client_secret"}, "permanent"),
        (
            400,
            {
                "error": "Access Denied",
                "status": "failure",
                "error_description": "You have made too many requests continuously.",
            },
            "throttled",
        ),
        (200, {"error": "Access Denied", "status": "failure"}, "throttled"),
        (
            400,
            {"error": "拒绝访问", "status": "failure", "error_description": "太多请求"},
            "throttled",
        ),
        (429, {"error": "anything"}, "throttled"),
        (502, {"error": "invalid_code"}, "transient"),
        (503, {"message": "maintenance"}, "transient"),
        (200, {"error": "something_new"}, "transient"),
    ],
)
def test_error_answers(status: int, payload: dict[str, str], kind: str) -> None:
    outcome = classify_token_response(status, body(payload))
    assert isinstance(outcome, TokenFailure)
    assert outcome.kind == kind


@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b"", b"[1, 2]", b"\xff\xfe"])
def test_non_json_is_transient(raw: bytes) -> None:
    outcome = classify_token_response(200, raw)
    assert isinstance(outcome, TokenFailure)
    assert outcome.kind == "transient"


@given(st.integers(100, 599), st.binary(max_size=200))
def test_classification_never_raises_and_never_invents_success(status: int, raw: bytes) -> None:
    outcome = classify_token_response(status, raw)
    if isinstance(outcome, TokenGrant):
        assert json.loads(raw)["access_token"] == outcome.access_token
    else:
        assert len(outcome.error) <= 64


# --- policy --------------------------------------------------------------------------------


@given(
    st.floats(0, 3600),
    st.text(min_size=1, max_size=20),
    st.floats(1_700_000_000, 1_800_000_000),
)
def test_fresh_means_outside_margin_and_jitter(ttl: float, tenant: str, now: float) -> None:
    policy = RefreshPolicy(margin=300, jitter=120)
    expires = now + ttl
    fresh = policy.is_fresh(expires, now, tenant, "zoho_crm")
    if ttl <= 300:
        assert not fresh
    if ttl > 420:
        assert fresh
    # Every process computes the same refresh moment for a tenant.
    assert policy.refresh_at(expires, tenant, "zoho_crm") == policy.refresh_at(
        expires, tenant, "zoho_crm"
    )


def test_jitter_spreads_tenants() -> None:
    policy = RefreshPolicy(margin=300, jitter=120)
    moments = {policy.refresh_at(10_000, f"tenant-{i}", "zoho_crm") for i in range(100)}
    assert len(moments) > 90
    assert all(10_000 - 420 <= m <= 10_000 - 300 for m in moments)


@given(st.integers(1, 50), st.integers(0, 2**32))
def test_backoff_grows_and_is_capped(failures: int, seed: int) -> None:
    wait = backoff_seconds(failures, random.Random(seed))
    assert 0 < wait <= BACKOFF_CAP_SECONDS
    assert wait >= min(BACKOFF_CAP_SECONDS, 2.0 * 2 ** (failures - 1)) / 2


def test_timeout_must_be_shorter_than_lease() -> None:
    with pytest.raises(ValueError, match="shorter than the lease"):
        RefreshPolicy(lease=5, timeout=5)


# --- encryption ----------------------------------------------------------------------------


def test_encryption_round_trip_is_bound_to_its_row() -> None:
    cipher = Cipher.from_spec(generate_key())
    stored = cipher.encrypt("1000.secret.token", context="acme\x00zoho_crm\x00access")
    assert "secret" not in stored
    assert cipher.decrypt(stored, context="acme\x00zoho_crm\x00access") == "1000.secret.token"
    with pytest.raises(DecryptionError):
        cipher.decrypt(stored, context="other\x00zoho_crm\x00access")
    tampered = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    with pytest.raises(DecryptionError):
        cipher.decrypt(tampered, context="acme\x00zoho_crm\x00access")


def test_unknown_key_id_is_named() -> None:
    stored = Cipher.from_spec(generate_key()).encrypt("x", context="c")
    other = Cipher.from_spec(f"mine:{generate_key()}")
    with pytest.raises(DecryptionError, match="ZOHOKIT_ENCRYPTION_KEYS") as info:
        other.decrypt(stored, context="c")
    assert isinstance(info.value, ConfigurationError)
    assert other.primary_key_id == "mine"


@pytest.mark.parametrize("spec", ["", "not base64!", "c2hvcnQ="])
def test_bad_keys_are_configuration_errors(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        Cipher.from_spec(spec)


def test_generated_key_file_is_private_and_shared(tmp_path: Path) -> None:
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(load_or_create_key_file(tmp_path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    mode = stat.S_IMODE(os.stat(tmp_path / "encryption.key").st_mode)
    assert mode == 0o600
    assert Cipher.from_spec(results[0])


# --- settings, data centres, errors, public surface ----------------------------------------


@pytest.mark.parametrize(
    ("plain", "mapped"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_map_to_async_drivers(plain: str, mapped: str) -> None:
    assert to_async_url(plain) == mapped


def test_settings_precedence_and_secrecy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "generic-id")
    monkeypatch.setenv("ZOHO_CRM_CLIENT_ID", "crm-id")
    monkeypatch.setenv("ZOHO_CALENDAR_CLIENT_SECRET", "cal-secret")
    monkeypatch.delenv("ZOHO_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("ZOHOKIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZOHOKIT_DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.env_credentials("zoho_crm").client_id == "generic-id"
    calendar = settings.env_credentials("zoho_calendar")
    assert calendar.client_secret == "cal-secret"
    assert "cal-secret" not in repr(settings)
    assert "cal-secret" not in repr(calendar)
    assert settings.database_url() == f"sqlite+aiosqlite:///{tmp_path / 'zohokit.db'}"
    assert settings.accounts_url() == "https://accounts.zoho.com"


def test_credentials_accept_seed_spellings_and_hide_secrets() -> None:
    creds = ZohoCredentials.coerce({"clientId": "id", "clientSecret": "s3cr3t"})
    assert creds == ZohoCredentials("id", "s3cr3t")
    assert "s3cr3t" not in repr(creds)


def test_data_centres() -> None:
    assert by_code("eu").api_domain == "https://www.zohoapis.eu"
    assert by_code("com").code == "us"
    assert by_accounts_server("https://accounts.zohocloud.ca") == by_code("ca")
    assert by_accounts_server("accounts.zoho.com.au") == by_code("au")
    assert is_known_accounts_server("https://accounts.zoho.in")
    assert not is_known_accounts_server("http://accounts.zoho.in")
    assert not is_known_accounts_server("https://accounts.zoho.in.evil.example")
    assert len({dc.accounts_url for dc in DATA_CENTERS}) == len(DATA_CENTERS) == 10


def test_errors_carry_tenant_and_retry_after() -> None:
    exc = TokenRefreshThrottled("slow down", retry_after=12.5, tenant="acme", provider="zoho_crm")
    assert isinstance(exc, ZohoError)
    assert exc.retry_after == 12.5
    assert "tenant=acme" in str(exc)


def test_public_surface_is_complete() -> None:
    # Importing builds nothing: tests/test_public_api.py checks no file or database appears.
    exported = set(zohokit.tokens.__all__)
    public = {n for n in vars(zohokit.tokens) if not n.startswith("_")} - {"annotations"}
    assert public - {"threading", "TYPE_CHECKING", "Any", "cast"} <= exported


@pytest.mark.parametrize("failures", [1025, 5000, 10**6])
def test_backoff_after_very_many_failures_stays_at_the_cap(failures: int) -> None:
    wait = backoff_seconds(failures, random.Random(1))
    assert BACKOFF_CAP_SECONDS / 2 <= wait <= BACKOFF_CAP_SECONDS


@pytest.mark.parametrize(
    ("plain", "mapped"),
    [
        (
            "postgresql://u:p%40ss@h/db?sslmode=require",
            "postgresql+asyncpg://u:p%40ss@h/db?ssl=require",
        ),
        (
            "postgres://u@h:5433/db?target_session_attrs=primary&sslmode=verify-full",
            "postgresql+asyncpg://u@h:5433/db?target_session_attrs=primary&ssl=verify-full",
        ),
    ],
)
def test_libpq_sslmode_is_given_to_asyncpg_as_ssl(plain: str, mapped: str) -> None:
    # Hosted PostgreSQL hands out URLs with ?sslmode=...; asyncpg has no such argument
    # (connect() raised TypeError), its name for it is ``ssl``.
    assert to_async_url(plain) == mapped


async def test_a_postgres_url_with_sslmode_reaches_the_network() -> None:
    engine = create_engine("postgresql://u:p@127.0.0.1:1/db?sslmode=disable")
    try:
        with pytest.raises(ConnectionRefusedError):  # the URL was accepted
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
