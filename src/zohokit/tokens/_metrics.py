"""Prometheus metrics and structured log events of the token service.

Metrics are labelled by provider only: tenants can number in the thousands, which would make
a metric per tenant expensive. Per-tenant health is in the log events (each carries
``tenant``) and in :meth:`OAuthTokenService.status`.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram

__all__ = ["emit", "logger"]

logger = logging.getLogger("zohokit.tokens")

REFRESHED = Counter(
    "zohokit_token_refreshed_total", "Access tokens minted by a refresh.", ["provider"]
)
REFRESH_FAILED = Counter(
    "zohokit_token_refresh_failed_total",
    "Refreshes that failed, by reason (permanent, throttled, transient).",
    ["provider", "reason"],
)
THROTTLED = Counter(
    "zohokit_token_throttled_total", "Refreshes Zoho answered with Access Denied.", ["provider"]
)
NEEDS_REAUTH = Counter(
    "zohokit_token_needs_reauth_total", "Tenants marked needs_reauth.", ["provider"]
)
RECOVERED = Counter(
    "zohokit_token_recovered_total",
    "Tenants that refreshed successfully after failures or re-authorization.",
    ["provider"],
)
SERVED_STALE = Counter(
    "zohokit_token_served_stale_total",
    "Cached tokens served past their refresh moment (still valid) because the database"
    " could not be reached.",
    ["provider"],
)
STORAGE_UNAVAILABLE = Counter(
    "zohokit_token_storage_unavailable_total",
    "Token requests that found the database unreachable or too slow.",
    ["provider"],
)
REFRESH_LATENCY = Histogram(
    "zohokit_token_refresh_seconds",
    "Latency of calls to Zoho's token endpoint.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def emit(event: str, level: int, tenant: str, provider: str, **fields: object) -> None:
    """Log one structured event: ``event`` plus fields, both in the message and in ``extra``.

    Callers pass codes, counts and times only: never a token or a secret.
    """
    detail = " ".join(f"{k}={v}" for k, v in fields.items())
    logger.log(
        level,
        "%s tenant=%s provider=%s %s",
        event,
        tenant,
        provider,
        detail,
        extra={"event": event, "tenant": tenant, "provider": provider, **fields},
    )
