"""The token broker: other internal services (in any language) ask here for a tenant's fresh
access token instead of refreshing on their own, so the fleet-wide "refresh once per expiry"
rule holds for them too."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from ..errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
)
from ._auth import ApiPrincipal, ensure_tenant_access
from ._models import ProviderName, TenantPath, provider_status
from ._state import State
from ._tenants import require_tenant

__all__ = ["TokenOut", "router"]

router = APIRouter(prefix="/api/tenants", tags=["tokens"])

#: Seconds the broker trusts that a tenant exists and is connected before checking again.
BROKER_RECHECK = 5.0


class TokenOut(BaseModel):
    """A valid access token. Send it as ``Authorization: Zoho-oauthtoken <access_token>``
    to ``api_domain`` (CRM); do not cache it past ``expires_at``."""

    tenant: str
    provider: ProviderName
    access_token: str
    api_domain: str | None
    expires_at: datetime
    scopes: list[str]


@router.get(
    "/{tenant}/tokens/{provider}",
    summary="A fresh access token",
    responses={
        401: {"description": "Missing or invalid API key"},
        403: {"description": "The key is not valid for this tenant"},
        404: {"description": "No such tenant"},
        424: {"description": "The tenant must be connected (again): see `status`"},
        503: {"description": "Zoho throttled or failed; retry after `Retry-After` seconds"},
    },
)
async def get_token(
    tenant: TenantPath, provider: ProviderName, principal: ApiPrincipal, state: State
) -> TokenOut:
    """The tenant's current access token, refreshed first when it is close to expiry (once
    for the whole fleet)."""
    ensure_tenant_access(principal, tenant)
    checked = state.broker_checked.get((tenant, provider), 0.0)
    if checked < state.clock():
        await require_tenant(state, tenant)
        # A tenant is connected explicitly (connect flow or `zohokit tokens import-env`): the
        # token service's environment fallback would give one business's account to anyone.
        if await state.tokens.status(tenant, provider) is None:
            raise _dependency_failed(tenant, provider, "not_connected", "connect this tenant first")
        state.broker_checked[(tenant, provider)] = state.clock() + BROKER_RECHECK
    try:
        token = await state.tokens.get_token(tenant, provider)
    except (NeedsReauthorization, TokenRevoked, ConfigurationError) as exc:
        state.broker_checked.pop((tenant, provider), None)
        now = state.clock()
        latest = provider_status(provider, await state.tokens.status(tenant, provider), now)
        raise _dependency_failed(tenant, provider, latest.state, exc.message) from exc
    except (TokenRefreshThrottled, TokenRefreshFailed) as exc:
        retry = exc.retry_after if exc.retry_after is not None else 30.0
        raise HTTPException(
            status_code=503,
            detail={
                "message": exc.message,
                "status": "cooldown",
                "retry_after": round(retry, 1),
            },
            headers={"Retry-After": str(max(1, math.ceil(retry)))},
        ) from exc
    return TokenOut(
        tenant=tenant,
        provider=provider,
        access_token=token.token,
        api_domain=token.api_domain,
        expires_at=token.expires_at,
        scopes=list(token.scopes),
    )


def _dependency_failed(tenant: str, provider: str, status: str, message: str) -> HTTPException:
    detail: dict[str, Any] = {
        "message": message,
        "status": status,
        "connect_url": f"/connect/zoho?tenant={tenant}&provider={provider}",
    }
    return HTTPException(status_code=424, detail=detail)
