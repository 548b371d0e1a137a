"""The refresh decision, as properties over every kind of row: no database, no clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zohokit.errors import (
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
)
from zohokit.tokens._accounts_client import FailureKind, TokenFailure
from zohokit.tokens._decide import Refresh, Refuse, Serve, TokenState, decide, failure_error
from zohokit.tokens._policy import RefreshPolicy

NOW = 1_900_000_000.0
POLICY = RefreshPolicy(margin=300, jitter=120, lease=15, timeout=10)

offsets = st.floats(min_value=-7200, max_value=7200, allow_nan=False)
tokens = st.sampled_from(["tok-a", "tok-b"])


@st.composite
def states(draw: st.DrawFn, status: str | None = None) -> TokenState:
    """Any row: any status, token or none, expiry and cooldown anywhere around now."""
    return TokenState(
        tenant=draw(st.sampled_from(["default", "acme", "t-42"])),
        provider=draw(st.sampled_from(["zoho_crm", "zoho_calendar"])),
        status=status or draw(st.sampled_from(["active", "needs_reauth", "revoked"])),
        access_token=draw(st.none() | tokens),
        expires_at=draw(st.none() | offsets.map(lambda d: NOW + d)),
        cooldown_until=draw(st.none() | offsets.map(lambda d: NOW + d)),
        failure_kind=draw(st.none() | st.sampled_from(["throttled", "transient", "permanent"])),
        failure_code=draw(st.none() | st.sampled_from(["Access Denied", "timeout"])),
        failure_count=draw(st.integers(min_value=0, max_value=50)),
    )


@given(states(), st.none() | tokens)
def test_a_served_token_is_valid_and_never_the_one_that_failed(
    row: TokenState, failed: str | None
) -> None:
    decision = decide(row, NOW, failed, POLICY)
    if isinstance(decision, Serve):
        assert row.status == "active"
        assert decision.token == row.access_token
        assert decision.token != failed
        assert row.expires_at is not None
        # Valid now and until the cache lets it go: a caller never gets an expired token.
        assert NOW < decision.serve_until < row.expires_at


@given(states("active"), st.none() | tokens)
def test_no_refresh_while_cooling_down(row: TokenState, failed: str | None) -> None:
    decision = decide(row, NOW, failed, POLICY)
    if row.cooldown_until is not None and row.cooldown_until > NOW:
        assert not isinstance(decision, Refresh)
        if isinstance(decision, Refuse):
            error = decision.error
            assert isinstance(error, (TokenRefreshThrottled, TokenRefreshFailed))
            # The caller is told exactly when the cooldown ends.
            assert error.retry_after == row.cooldown_until - NOW
            assert isinstance(error, TokenRefreshThrottled) == (row.failure_kind == "throttled")
        elif not POLICY.is_fresh(row.expires_at, NOW, row.tenant, row.provider):
            # A stale but valid token is served only until the cooldown ends.
            assert isinstance(decision, Serve)
            assert decision.serve_until <= row.cooldown_until


@given(states("active"), st.none() | tokens)
def test_outside_a_cooldown_a_row_is_served_when_fresh_and_refreshed_otherwise(
    row: TokenState, failed: str | None
) -> None:
    if row.cooldown_until is not None and row.cooldown_until > NOW:
        return
    decision = decide(row, NOW, failed, POLICY)
    usable = row.access_token is not None and row.access_token != failed
    fresh = usable and POLICY.is_fresh(row.expires_at, NOW, row.tenant, row.provider)
    valid = usable and POLICY.is_usable(row.expires_at, NOW, safety=5.0)
    if fresh:
        assert isinstance(decision, Serve)
        assert not decision.refresh
    elif valid:
        # Past its moment but valid: refreshed by one caller, served to the others, and
        # asked about again within a lease.
        assert isinstance(decision, Serve)
        assert decision.refresh
        assert decision.serve_until <= NOW + POLICY.lease
    else:
        assert isinstance(decision, Refresh)


@given(states("active"), st.none() | tokens)
def test_a_background_refresh_is_asked_for_only_outside_a_cooldown(
    row: TokenState, failed: str | None
) -> None:
    decision = decide(row, NOW, failed, POLICY)
    if isinstance(decision, Serve) and decision.refresh:
        assert row.cooldown_until is None or row.cooldown_until <= NOW
        assert not POLICY.is_fresh(row.expires_at, NOW, row.tenant, row.provider)


@given(
    st.text(min_size=1, max_size=20),
    st.sampled_from(["zoho_crm", "zoho_calendar"]),
    st.floats(min_value=0, max_value=4e9),
)
def test_the_worker_refreshes_before_any_caller_would(
    tenant: str, provider: str, expires: float
) -> None:
    ahead = POLICY.ahead_at(expires, tenant, provider)
    assert ahead <= POLICY.refresh_at(expires, tenant, provider)
    assert expires - ahead <= POLICY.margin + POLICY.jitter + POLICY.ahead + 1e-6


@given(states("needs_reauth"), st.none() | tokens)
def test_a_row_that_needs_reauthorization_is_refused_with_zohos_code(
    row: TokenState, failed: str | None
) -> None:
    decision = decide(row, NOW, failed, POLICY)
    assert isinstance(decision, Refuse)
    assert isinstance(decision.error, NeedsReauthorization)
    assert decision.error.reason == row.failure_code
    assert (decision.error.tenant, decision.error.provider) == (row.tenant, row.provider)


@given(states("revoked"), st.none() | tokens)
def test_a_revoked_row_is_refused(row: TokenState, failed: str | None) -> None:
    decision = decide(row, NOW, failed, POLICY)
    assert isinstance(decision, Refuse)
    assert isinstance(decision.error, TokenRevoked)


def test_a_backing_off_row_says_why_in_its_error() -> None:
    row = TokenState(
        tenant="acme",
        provider="zoho_crm",
        status="active",
        access_token=None,
        expires_at=None,
        cooldown_until=NOW + 30,
        failure_kind="transient",
        failure_code="http_503",
        failure_count=3,
    )
    decision = decide(row, NOW, None, POLICY)
    assert isinstance(decision, Refuse)
    assert "3 failure(s) (transient: http_503)" in str(decision.error)


KINDS: list[FailureKind] = ["permanent", "throttled", "transient"]


@given(st.sampled_from(KINDS), st.none() | st.floats(min_value=0, max_value=600))
def test_failure_errors_follow_the_kind(kind: FailureKind, retry_after: float | None) -> None:
    failure = TokenFailure(kind, "some_code")
    error = failure_error(failure, tenant="acme", provider="zoho_crm", retry_after=retry_after)
    expected = {
        "permanent": NeedsReauthorization,
        "throttled": TokenRefreshThrottled,
        "transient": TokenRefreshFailed,
    }[kind]
    assert type(error) is expected
    assert "some_code" in str(error)
    if isinstance(error, TokenRefreshThrottled):
        assert error.retry_after == (retry_after if retry_after is not None else 600.0)
