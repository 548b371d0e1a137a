"""The tenants API: create, list, read, delete, and each provider's connection status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from ..errors import ZohoError
from ..settings import PROVIDERS
from ._auth import ApiPrincipal, ensure_global, ensure_tenant_access
from ._models import (
    ProviderStatus,
    TenantCreate,
    TenantOut,
    TenantPath,
    epoch_to_dt,
    provider_status,
)
from ._state import ServiceState, State
from ._tables import Tenant
from ._tenant_list import HEALTHS, MAX_LIMIT, SORTS, TenantQuery
from ._tenant_list import list_tenants as list_page

__all__ = [
    "AUTH_ERRORS",
    "TENANT_ERRORS",
    "TenantAccess",
    "remove_tenant",
    "require_tenant",
    "router",
    "tenant_out",
    "tenant_outs",
]

router = APIRouter(prefix="/api/tenants", tags=["tenants"])

#: What an API route may answer before its own work, as OpenAPI ``responses``: the key's
#: checks, and with :data:`TenantAccess` (or :func:`require_tenant`) the tenant's. Routes add
#: their own answers to these.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The key is not valid for this tenant"},
}
TENANT_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"description": "No such tenant"},
}


async def tenant_outs(state: ServiceState, rows: Sequence[Tenant]) -> list[TenantOut]:
    """Tenants with the status of each provider: one token query for all of them."""
    now = state.epoch()
    found = await state.zoho.tokens.list_tokens(tenants=[r.tenant for r in rows]) if rows else []
    stored = {(s.tenant, s.provider): s for s in found}
    out = []
    for row in rows:
        providers = [provider_status(p, stored.get((row.tenant, p)), now) for p in PROVIDERS]
        for provider in providers:
            if provider.provider == "zoho_calendar":
                provider.warnings = [
                    w.message for w in state.zoho.calendar_health.warnings(row.tenant)
                ]
        out.append(
            TenantOut(
                tenant=row.tenant,
                name=row.name,
                data_center=row.data_center,
                created_at=epoch_to_dt(row.created_at),
                providers=providers,
            )
        )
    return out


async def tenant_out(state: ServiceState, tenant: Tenant) -> TenantOut:
    """A tenant with the status of each provider."""
    return (await tenant_outs(state, [tenant]))[0]


async def require_tenant(state: ServiceState, tenant: str) -> Tenant:
    """The tenant's row, or 404."""
    found = await state.tenants.get(tenant)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no tenant {tenant!r}; create it first")
    return found


async def _tenant_access(tenant: TenantPath, principal: ApiPrincipal, state: State) -> Tenant:
    ensure_tenant_access(principal, tenant)
    return await require_tenant(state, tenant)


#: Dependency of every ``/api/tenants/{tenant}/...`` route a tenant's own key may use: 403
#: unless the key covers the tenant, then 404 unless it exists; the tenant's row.
TenantAccess = Annotated[Tenant, Depends(_tenant_access)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a tenant",
    responses={**AUTH_ERRORS, 409: {"description": "The tenant exists"}},
)
async def create_tenant(body: TenantCreate, principal: ApiPrincipal, state: State) -> TenantOut:
    """Create a tenant (a key covering every tenant is required). Connect it next with
    ``GET /connect/zoho?tenant=...&provider=...``."""
    ensure_global(principal)
    created = await state.tenants.create(
        body.tenant, body.name or body.tenant, body.data_center, state.epoch()
    )
    if created is None:
        raise HTTPException(status_code=409, detail=f"tenant {body.tenant!r} already exists")
    return await tenant_out(state, created)


@router.get(
    "", summary="List tenants", responses={**AUTH_ERRORS, 422: {"description": "A bad filter"}}
)
async def list_tenants(
    principal: ApiPrincipal,
    state: State,
    response: Response,
    q: Annotated[str | None, Query(max_length=64, description="Part of a key or name")] = None,
    health: Annotated[str | None, Query(description=f"One of {', '.join(HEALTHS)}")] = None,
    provider: Annotated[str | None, Query(description="zoho_crm or zoho_calendar")] = None,
    sort: Annotated[str, Query(description=f"One of {', '.join(SORTS)} (newest first)")] = "tenant",
    cursor: Annotated[str | None, Query(max_length=512, description="X-Next-Cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[TenantOut]:
    """The tenants the key may see (a tenant-scoped key sees its own only), one page at a
    time: the next page's cursor is in ``X-Next-Cursor`` and a ``Link: rel="next"`` header
    (none on the last page)."""
    try:
        query = TenantQuery(q, health, provider, sort, cursor, limit, only=principal.tenant)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    page = await list_page(state.zoho.engine, query, epoch_to_dt(state.epoch()))
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
        params = {"q": q, "health": health, "provider": provider, "sort": sort, "limit": limit}
        kept = "&".join(f"{k}={quote(str(v))}" for k, v in params.items() if v)
        link = f"/api/tenants?{kept}&cursor={page.next_cursor}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return await tenant_outs(state, page.tenants)


@router.get(
    "/{tenant}",
    summary="Read a tenant",
    responses=TENANT_ERRORS,
)
async def get_tenant(row: TenantAccess, state: State) -> TenantOut:
    """One tenant with its connections."""
    return await tenant_out(state, row)


@router.get(
    "/{tenant}/status",
    summary="Connection status per provider",
    responses=TENANT_ERRORS,
)
async def tenant_status(row: TenantAccess, state: State) -> list[ProviderStatus]:
    """``healthy``, ``expiring``, ``cooldown``, ``needs_reauth``, ``revoked`` or
    ``not_connected`` per provider, with the last refresh and the last error."""
    return (await tenant_out(state, row)).providers


@router.delete(
    "/{tenant}",
    summary="Delete a tenant",
    responses=TENANT_ERRORS,
)
async def delete_tenant(
    tenant: TenantPath, principal: ApiPrincipal, state: State
) -> dict[str, Any]:
    """Revoke the tenant's refresh tokens at Zoho and forget the tenant.

    ``revoked`` says, per provider, whether Zoho confirmed; the stored tokens are erased
    either way.
    """
    ensure_global(principal)
    await require_tenant(state, tenant)
    revoked = await remove_tenant(state, tenant)
    return {"tenant": tenant, "deleted": True, "revoked": revoked}


async def remove_tenant(state: ServiceState, tenant: str) -> dict[str, bool]:
    """Revoke the tenant's refresh tokens at Zoho, delete the tenant and erase its tokens
    (the API's ``DELETE`` and the console's Delete). Returns, per provider that was
    connected, whether Zoho confirmed the revocation."""
    revoked: dict[str, bool] = {}
    for provider in PROVIDERS:
        current = await state.zoho.tokens.status(tenant, provider)
        if current is None or current.status == "revoked":
            continue
        try:
            revoked[provider] = await state.zoho.tokens.revoke(tenant, provider)
        except ZohoError:
            # Zoho unreachable: the tenant is still deleted; the token dies with its expiry.
            revoked[provider] = False
    await state.tenants.delete(tenant)
    for provider in PROVIDERS:
        # Erased even when Zoho could not be reached to revoke: a deleted tenant keeps no
        # secret, and its access token dies with its expiry.
        await state.zoho.tokens.forget(tenant, provider)
        state.broker_forget(tenant, provider)
    return revoked
