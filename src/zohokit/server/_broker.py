"""The token broker: other internal services (in any language) ask here for a tenant's fresh
access token instead of refreshing on their own, so the fleet-wide "refresh once per expiry"
rule holds for them too.

Its errors leave through the app-wide handler (:mod:`~zohokit.server._errors`), in the same
shape as the booking API's: a 424 with ``status`` and ``connect_url`` for a tenant that must
connect (again), a 503 with ``retry_after`` (and ``Retry-After``) while refreshes cool down."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ..errors import ConfigurationError, NeedsReauthorization, TokenRevoked
from ._auth import ensure_tenant_access, request_principal
from ._errors import not_connected
from ._models import ProviderName, TenantPath
from ._state import ServiceState
from ._tenants import TENANT_ERRORS, require_tenant

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


#: The security schemes of every ``/api/*`` route (``ApiPrincipal``'s), declared here as
#: the broker takes its principal straight from the guard (see :func:`get_token`).
_KEYED: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"APIKeyHeader": []}]


@router.get(
    "/{tenant}/tokens/{provider}",
    summary="A fresh access token",
    response_model=TokenOut,
    responses={
        **TENANT_ERRORS,
        424: {"description": "The tenant must be connected (again): see `status`"},
        503: {"description": "Zoho throttled or failed; retry after `Retry-After` seconds"},
    },
    openapi_extra={"security": _KEYED},
)
async def get_token(tenant: TenantPath, provider: ProviderName, request: Request) -> Response:
    """The tenant's current access token, refreshed first when it is close to expiry (once
    for the whole fleet)."""
    # The hot path of the service: no dependency to solve (the guard authenticated the key
    # before the app ran; the state is the app's), and the answer's bytes are kept per
    # token, so a warm call does no database round trip and no serialization.
    state: ServiceState = request.app.state.zohokit
    ensure_tenant_access(request_principal(request), tenant)
    key = (tenant, provider)
    checked = state.broker_checked.get(key, 0.0)
    if checked < state.epoch():
        await require_tenant(state, tenant)
        # A tenant is connected explicitly (connect flow or `zohokit tokens import-env`): the
        # token service's environment fallback would give one business's account to anyone.
        if await state.zoho.tokens.status(tenant, provider) is None:
            raise not_connected(tenant, provider)
        state.broker_checked[key] = state.epoch() + BROKER_RECHECK
    try:
        token = await state.zoho.tokens.get_token(tenant, provider)
    except (NeedsReauthorization, TokenRevoked, ConfigurationError):
        # Check again next time: the tenant may reconnect on another instance meanwhile.
        state.broker_forget(tenant, provider)
        raise
    kept = state.broker_answers.get(key)
    if kept is None or kept[0] != token:
        body = TokenOut(
            tenant=tenant,
            provider=provider,
            access_token=token.token,
            api_domain=token.api_domain,
            expires_at=token.expires_at,
            scopes=list(token.scopes),
        ).model_dump_json()
        kept = state.broker_answers[key] = (token, body.encode())
    return Response(kept[1], media_type="application/json")
