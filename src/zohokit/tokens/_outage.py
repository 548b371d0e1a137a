"""What the token path remembers while the database is away.

After a database failure, callers are answered without the database for
:data:`STORAGE_RETRY_SECONDS` (with a cached token that is still valid, or the same
:class:`StorageUnavailable`), so a queue of callers never waits on a dead database one by
one. The failure is counted and logged once per pause, and serving a cached token past its
refresh moment is counted every time and logged at most once a minute per tenant. Times here
are monotonic: this is about the outage, not about token lifetimes.
"""

from __future__ import annotations

import logging
import time

from ..errors import StorageUnavailable
from . import _metrics as m
from ._models import AccessToken

__all__ = ["STORAGE_RETRY_SECONDS", "StorageOutage"]

#: How long callers are answered without the database after it failed.
STORAGE_RETRY_SECONDS = 1.0
#: At most one ``token.served_stale`` line per tenant and provider in this many seconds.
STALE_LOG_SECONDS = 60.0


class StorageOutage:
    """The last database failure of one token service, and when to try the database again."""

    def __init__(self) -> None:
        self._until = 0.0
        self._error: StorageUnavailable | None = None
        self._stale_noted: dict[tuple[str, str], float] = {}

    def check(self, tenant: str, provider: str) -> None:
        """Raise the last failure again while callers are to be answered without the database."""
        failed = self._error
        if failed is not None and time.monotonic() < self._until:
            raise StorageUnavailable(
                failed.message, url=failed.url, tenant=tenant, provider=provider
            ) from failed.__cause__

    def note(self, exc: StorageUnavailable | None, tenant: str, provider: str) -> None:
        """Record a failure (``None``: the database was too slow for the caller's bound)."""
        if time.monotonic() < self._until:
            return
        self._error = exc
        self._until = time.monotonic() + STORAGE_RETRY_SECONDS
        m.STORAGE_UNAVAILABLE.labels(provider).inc()
        cause = exc.__cause__ if exc is not None else None
        m.emit(
            "token.storage_unavailable",
            logging.WARNING,
            tenant,
            provider,
            error=type(cause).__name__ if cause is not None else "timeout",
        )

    def served_stale(self, token: AccessToken, now: float) -> AccessToken:
        """Count (and now and then log) serving ``token`` past its refresh moment."""
        key = (token.tenant, token.provider)
        m.SERVED_STALE.labels(token.provider).inc()
        if time.monotonic() >= self._stale_noted.get(key, 0.0):
            self._stale_noted[key] = time.monotonic() + STALE_LOG_SECONDS
            m.emit(
                "token.served_stale",
                logging.WARNING,
                token.tenant,
                token.provider,
                reason="storage_unavailable",
                expires_in=round(token.expires_at.timestamp() - now),
            )
        return token
