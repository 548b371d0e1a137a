"""Pure parts of the service: API key parsing and matching, health classification, URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from zohokit.datacenters import accounts_server_allowed
from zohokit.server import ApiKeyring, parse_api_keys
from zohokit.server._connect import authorization_url
from zohokit.server._metrics import HttpTally
from zohokit.server._models import connection_state
from zohokit.tokens import TokenStatus


def test_api_keys_parse_scopes() -> None:
    spec = " k-0123456789abcdef , acme:a-0123456789abcdef,*:g-0123456789abcdef:x, "
    assert parse_api_keys(spec) == [
        (None, "k-0123456789abcdef"),
        ("acme", "a-0123456789abcdef"),
        (None, "g-0123456789abcdef:x"),
    ]


def test_short_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="entry 2 is shorter") as info:
        parse_api_keys("k-0123456789abcdef,acme:short")
    assert "short" not in str(info.value).split("is shorter")[0]


def test_keyring_matches_and_scopes() -> None:
    ring = ApiKeyring.from_spec("g-0123456789abcdef,acme:a-0123456789abcdef")
    assert "0123456789" not in repr(ring)
    glob = ring.authenticate("g-0123456789abcdef")
    acme = ring.authenticate("a-0123456789abcdef")
    assert glob is not None
    assert glob.is_global
    assert glob.may_access("anyone")
    assert acme is not None
    assert acme.may_access("acme")
    assert not acme.may_access("other")
    assert ring.authenticate("a-0123456789abcdeF") is None
    assert ring.authenticate("") is None
    assert ApiKeyring.from_spec(None).authenticate("g-0123456789abcdef") is None


def _status(**changes: object) -> TokenStatus:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    values: dict[str, object] = dict(
        tenant="acme",
        provider="zoho_crm",
        status="active",
        source="connect",
        client_id="c",
        has_refresh_token=True,
        has_access_token=True,
        expires_at=now + timedelta(hours=1),
        api_domain=None,
        accounts_server=None,
        data_center="us",
        scopes=(),
        failure_count=0,
        cooldown_until=None,
        lease_owner=None,
        lease_expires_at=None,
        version=1,
        created_at=now,
        updated_at=now,
        refreshed_at=now,
        key_ids=("k",),
    )
    values.update(changes)
    return TokenStatus(**values)  # type: ignore[arg-type]


def test_connection_state() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    later = datetime(2030, 1, 1, 0, 5, tzinfo=UTC)
    assert connection_state(None, now) == "not_connected"
    assert connection_state(_status(), now) == "healthy"
    assert connection_state(_status(status="needs_reauth"), now) == "needs_reauth"
    assert connection_state(_status(status="revoked"), now) == "revoked"
    assert connection_state(_status(cooldown_until=later), now) == "cooldown"
    assert connection_state(_status(cooldown_until=later), later.timestamp() + 1) == "healthy"
    # An access token with 5 minutes or less left (or none left) is expiring.
    assert connection_state(_status(expires_at=later), now) == "expiring"
    assert connection_state(_status(expires_at=later), later.timestamp() + 1) == "expiring"


def test_authorization_url_asks_for_offline_access_and_consent() -> None:
    url = authorization_url(
        "https://accounts.zoho.eu/",
        client_id="1000.X",
        scopes=("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"),
        redirect_uri="https://svc.example/oauth/zoho/callback",
        state="s" * 43,
    )
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("accounts.zoho.eu", "/oauth/v2/auth")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["scope"] == "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL"
    assert (query["access_type"], query["prompt"], query["response_type"]) == (
        "offline",
        "consent",
        "code",
    )


@pytest.mark.parametrize(
    ("candidate", "override", "allowed"),
    [
        ("https://accounts.zoho.eu", None, True),
        ("https://accounts.zoho.com.au", None, True),
        ("http://accounts.zoho.com", None, False),
        ("https://accounts.zoho.com:8443", None, False),
        ("https://accounts.zoho.com.evil.example", None, False),
        ("https://evil.example", None, False),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/", True),
        ("http://127.0.0.1:8766", "http://127.0.0.1:8765", False),
        ("https://accounts.zoho.in", "http://127.0.0.1:8765", True),
    ],
)
def test_accounts_server_allow_list(candidate: str, override: str | None, allowed: bool) -> None:
    assert accounts_server_allowed(candidate, override) is allowed


def test_the_http_tally_counts_answers_and_fills_cumulative_buckets() -> None:
    tally = HttpTally()
    for seconds in (0.0004, 0.003, 0.003, 7.0):
        tally.add("GET", "/api/tenants/{tenant}", "200", seconds)
    tally.add("POST", "/api/tenants", "201", 0.02)
    counted, timed = tally.collect()
    requests = {tuple(s.labels.values()): s.value for s in counted.samples if "_total" in s.name}
    assert requests == {
        ("GET", "/api/tenants/{tenant}", "200"): 4,
        ("POST", "/api/tenants", "201"): 1,
    }
    buckets = {
        s.labels["le"]: s.value
        for s in timed.samples
        if s.name.endswith("_bucket") and s.labels["route"] == "/api/tenants/{tenant}"
    }
    assert (buckets["0.001"], buckets["0.005"], buckets["2.5"], buckets["+Inf"]) == (1, 3, 3, 4)
