"""The webhooks API (a key for every tenant required, like the other management routes):
endpoints (add, list, read, pause or resume, rotate the secret, remove), deliveries with
their log, and re-delivery. The same operations as ``zohokit webhooks``; delivery itself is
the worker's (job kind ``webhooks.deliver``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from ._auth import ApiPrincipal, ensure_global
from ._models import TENANT_PATTERN
from ._state import State

__all__ = ["router"]

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The key does not cover every tenant"},
    404: {"description": "No such endpoint or delivery"},
    422: {"description": "A URL or filter zohokit will not use (the message says why)"},
}


class EndpointCreate(BaseModel):
    """A new endpoint: where to POST, which event types (empty: all) of which tenant
    (``null``: every tenant)."""

    url: str = Field(max_length=2000, examples=["https://app.example.com/hooks/zoho"])
    event_types: list[str] = Field(default_factory=list, examples=[["booking.created"]])
    tenant: str | None = Field(default=None, pattern=TENANT_PATTERN)
    description: str = Field(default="", max_length=255)


class EndpointChange(BaseModel):
    """Pause (``false``) or resume (``true``) an endpoint."""

    enabled: bool


class SecretRotation(BaseModel):
    """How long the replaced secret keeps signing beside the new one."""

    keep_previous_hours: float = Field(default=24.0, ge=0, le=24 * 7)


@router.post("/endpoints", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def add_endpoint(body: EndpointCreate, principal: ApiPrincipal, state: State) -> Any:
    """Add an endpoint. The answer carries its ``secret`` (``whsec_...``): the only time it
    is shown."""
    ensure_global(principal)
    endpoint, secret = await state.zoho.webhooks.add(
        body.url, event_types=body.event_types, tenant=body.tenant, description=body.description
    )
    return {**endpoint.to_dict(), "secret": secret}


@router.get("/endpoints", responses=_ERRORS)
async def list_endpoints(principal: ApiPrincipal, state: State) -> Any:
    """Every endpoint (no secrets)."""
    ensure_global(principal)
    return [e.to_dict() for e in await state.zoho.webhooks.endpoints()]


@router.get("/endpoints/{endpoint_id}", responses=_ERRORS)
async def get_endpoint(endpoint_id: str, principal: ApiPrincipal, state: State) -> Any:
    """One endpoint."""
    ensure_global(principal)
    return (await state.zoho.webhooks.get(endpoint_id)).to_dict()


@router.patch("/endpoints/{endpoint_id}", responses=_ERRORS)
async def change_endpoint(
    endpoint_id: str, body: EndpointChange, principal: ApiPrincipal, state: State
) -> Any:
    """Pause or resume an endpoint (a paused one gets no new deliveries)."""
    ensure_global(principal)
    return (await state.zoho.webhooks.set_enabled(endpoint_id, body.enabled)).to_dict()


@router.post("/endpoints/{endpoint_id}/rotate-secret", responses=_ERRORS)
async def rotate_secret(
    endpoint_id: str, body: SecretRotation, principal: ApiPrincipal, state: State
) -> Any:
    """A new secret, shown once; the old one signs beside it for ``keep_previous_hours``."""
    ensure_global(principal)
    keep = timedelta(hours=body.keep_previous_hours)
    secret = await state.zoho.webhooks.rotate_secret(endpoint_id, keep_previous=keep)
    return {"id": endpoint_id, "secret": secret}


@router.delete("/endpoints/{endpoint_id}", responses=_ERRORS)
async def remove_endpoint(endpoint_id: str, principal: ApiPrincipal, state: State) -> Any:
    """Remove an endpoint with its deliveries and their log."""
    ensure_global(principal)
    await state.zoho.webhooks.remove(endpoint_id)
    return {"id": endpoint_id, "removed": True}


@router.get("/deliveries", responses=_ERRORS)
async def list_deliveries(
    principal: ApiPrincipal,
    state: State,
    endpoint_id: str | None = None,
    event_id: str | None = None,
    tenant: str | None = None,
    delivery_status: Annotated[
        Literal["pending", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """Deliveries, newest first, filtered as given."""
    ensure_global(principal)
    found = await state.zoho.webhooks.deliveries(
        endpoint_id=endpoint_id,
        event_id=event_id,
        tenant=tenant,
        status=delivery_status,
        limit=limit,
    )
    return [d.to_dict() for d in found]


@router.get("/deliveries/{delivery_id}", responses=_ERRORS)
async def get_delivery(delivery_id: str, principal: ApiPrincipal, state: State) -> Any:
    """One delivery with its log (every attempt: status code, error, duration)."""
    ensure_global(principal)
    webhooks = state.zoho.webhooks
    delivery = await webhooks.delivery(delivery_id)
    attempts = await webhooks.attempts(delivery_id)
    return {**delivery.to_dict(), "log": [a.to_dict() for a in attempts]}


@router.post("/deliveries/{delivery_id}/redeliver", responses=_ERRORS)
async def redeliver(delivery_id: str, principal: ApiPrincipal, state: State) -> Any:
    """Send a delivery again, with a new round of retries (the worker sends it)."""
    ensure_global(principal)
    return (await state.zoho.webhooks.redeliver(delivery_id)).to_dict()
