"""The pure parts of the request path: retry decisions, Retry-After, error mapping."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.http import (
    RetryPolicy,
    classify_exception,
    classify_response,
    parse_retry_after,
    should_retry,
)


class NoJitter(RetryPolicy):
    def jitter(self, delay: float) -> float:
        return delay


def test_backoff_doubles_up_to_the_cap_then_gives_up() -> None:
    policy = NoJitter(max_retries=5, initial_delay=1.0, max_delay=4.0)
    assert [policy.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 4.0, 4.0, None]


def test_retry_after_wins_when_longer_and_too_long_is_not_waited() -> None:
    policy = NoJitter(initial_delay=0.2, max_retry_after=60)
    assert policy.delay(0, retry_after=5) == 5
    assert policy.delay(0, retry_after=0.01) == 0.2
    assert policy.delay(0, retry_after=3600) is None


@given(st.integers(min_value=0, max_value=2), st.floats(min_value=0, max_value=60))
def test_jittered_delay_stays_within_bounds(attempt: int, retry_after: float) -> None:
    policy = RetryPolicy()
    delay = policy.delay(attempt, retry_after)
    assert delay is not None
    base = min(policy.max_delay, policy.initial_delay * 2**attempt)
    assert max(base / 2, retry_after) <= delay <= max(base, retry_after)


def test_only_idempotent_calls_are_resent_after_zoho_may_have_acted() -> None:
    assert should_retry("not_sent", idempotent=False)
    assert should_retry("throttled", idempotent=False)
    assert not should_retry("maybe_processed", idempotent=False)
    assert not should_retry("server", idempotent=False)
    assert should_retry("maybe_processed", idempotent=True)
    assert should_retry("server", idempotent=True)


def test_transport_errors_before_and_after_sending() -> None:
    request = httpx.Request("GET", "http://x")
    assert classify_exception(httpx.ConnectError("x", request=request)) == "not_sent"
    assert classify_exception(httpx.ConnectTimeout("x", request=request)) == "not_sent"
    assert classify_exception(httpx.ReadTimeout("x", request=request)) == "maybe_processed"
    assert classify_exception(httpx.RemoteProtocolError("x", request=request)) == (
        "maybe_processed"
    )


@pytest.mark.parametrize(
    ("status", "is_json", "expected"),
    [
        (200, True, None),
        (204, True, None),
        (400, True, None),
        (401, True, None),
        (429, True, "throttled"),
        (500, True, "server"),
        (503, False, "server"),
        (200, False, "server"),  # a proxy's HTML page with a 200
    ],
)
def test_classify_response(status: int, is_json: bool, expected: str | None) -> None:
    assert classify_response(status, is_json, None) == expected


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10
