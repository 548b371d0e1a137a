"""Request and response shapes shared by the routers, and the pure health classification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, field_validator

from ..datacenters import DATA_CENTERS
from ..tokens import ConnectionState, TokenStatus

__all__ = [
    "TENANT_PATTERN",
    "ConnectionState",
    "ProviderName",
    "ProviderStatus",
    "TenantCreate",
    "TenantOut",
    "TenantPath",
    "connection_state",
    "provider_status",
]

#: Tenant keys: short, URL- and log-safe, no ``:`` (it separates a key's scope).
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
ProviderName = Literal["zoho_crm", "zoho_calendar"]
TenantPath = Annotated[
    str, Path(pattern=TENANT_PATTERN, description="The tenant key", examples=["acme"])
]
_DC_CODES = tuple(dc.code for dc in DATA_CENTERS)


def connection_state(status: TokenStatus | None, now: float) -> ConnectionState:
    """What an operator needs to know about one connection, from its snapshot and the time
    (epoch seconds): :meth:`TokenStatus.state`, the word the CLI uses too."""
    if status is None:
        return "not_connected"
    return status.state(datetime.fromtimestamp(now, UTC))


class ProviderStatus(BaseModel):
    """One provider's connection of a tenant, without any secret."""

    provider: ProviderName
    state: ConnectionState
    source: str | None = None
    last_refresh: datetime | None = None
    last_error: str | None = None
    failure_count: int = 0
    expires_at: datetime | None = None
    cooldown_until: datetime | None = None
    api_domain: str | None = None
    data_center: str | None = None
    #: Not a token problem, yet one to fix: e.g. a booking calendar that Zoho leaves out of
    #: free/busy (double bookings elsewhere). Each says what to change.
    warnings: list[str] = []


def provider_status(
    provider: ProviderName, status: TokenStatus | None, now: float
) -> ProviderStatus:
    """The API form of a token snapshot (``not_connected`` when there is none)."""
    state = connection_state(status, now)
    if status is None:
        return ProviderStatus(provider=provider, state=state)
    return ProviderStatus(
        provider=provider,
        state=state,
        source=status.source,
        last_refresh=status.refreshed_at,
        last_error=status.last_error,
        failure_count=status.failure_count,
        expires_at=status.expires_at,
        cooldown_until=status.cooldown_until,
        api_domain=status.api_domain,
        data_center=status.data_center,
    )


class TenantCreate(BaseModel):
    """A new tenant: its key, a display name, and the Zoho data centre its account lives in."""

    tenant: str = Field(pattern=TENANT_PATTERN, examples=["acme"])
    name: str | None = Field(default=None, max_length=255)
    data_center: str = Field(default="us", description=f"One of {', '.join(_DC_CODES)}")

    @field_validator("data_center")
    @classmethod
    def _known_dc(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in _DC_CODES:
            raise ValueError(f"unknown data centre; use one of {', '.join(_DC_CODES)}")
        return code


class TenantOut(BaseModel):
    """A tenant and the state of each provider's connection."""

    tenant: str
    name: str
    data_center: str
    created_at: datetime
    providers: list[ProviderStatus]


def epoch_to_dt(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)
