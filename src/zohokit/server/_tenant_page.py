"""The console's tenant page, ``/admin/tenants/<tenant>``, and its actions.

The page (:mod:`._tenant_panels` reads it all from the database) is for a logged-in session
whose key covers the tenant: a tenant-scoped key sees its own tenant only (403 for another's),
as everywhere. Each action is a POST carrying the session's CSRF token, refused without a
session (401), with the wrong token (403) or for another tenant (403), and each one calls the
service function that owns the work, never a copy of it:

- **Refresh now**: :meth:`~zohokit.tokens.OAuthTokenService.force_refresh` (through the
  fleet's lease, respecting a cooldown);
- **Copy a reconnect link**: the connect flow's link (:func:`._connect.connect_link`), to
  send to the tenant's own Zoho admin;
- **Disconnect**: :meth:`~zohokit.tokens.OAuthTokenService.revoke` (revoked at Zoho);
  disconnecting what is not connected says so and changes nothing;
- **Delete**: :func:`._tenants.remove_tenant` (as ``DELETE /api/tenants/<tenant>``, a key
  for every tenant required), only when the form carries the tenant's key typed again;
- **Re-deliver** a webhook delivery of this tenant: :meth:`zohokit.webhooks.Webhooks.redeliver`.

A done action redirects back to the page with a message (reloading repeats nothing); a
refused one shows the page with the reason and a 4xx/5xx status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ..errors import ZohoError
from ..settings import PROVIDERS
from ..webhooks import DeliveryNotFound
from ._admin import CsrfField, _html, _require_session, _signed_in
from ._auth import Principal
from ._charts import Bar, calls_chart, layout
from ._connect import _LABELS, connect_link
from ._models import TENANT_PATTERN, epoch_to_dt
from ._state import ServiceState, State
from ._tables import Tenant
from ._tenant_panels import load_panels
from ._tenants import remove_tenant

__all__ = ["router"]

router = APIRouter(prefix="/admin/tenants", include_in_schema=False)

ProviderField = Annotated[str, Form(max_length=32)]
#: What a done action says once the page is shown again (``?done=...``).
DONE: Final = {
    "refreshed": "Refreshed {label}: a new access token is in use.",
    "disconnected": "Disconnected {label}: Zoho revoked the refresh token.",
    "disconnected_unconfirmed": "Disconnected {label}: the tokens are erased here; Zoho did "
    "not confirm the revocation (the token dies with its expiry).",
    "not_connected": "{label} was not connected: nothing to disconnect.",
    "redelivered": "The delivery is queued again: the worker sends it on its next round.",
}
_TENANT = re.compile(TENANT_PATTERN)


def _message(state: ServiceState, status: int, title: str, message: str) -> Response:
    return _html(state, "message.html", status, title=title, message=message)


async def _page(
    state: ServiceState,
    principal: Principal,
    csrf: str,
    tenant: Tenant,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    panels = await load_panels(state, tenant)
    context: dict[str, Any] = {"flash": None, "error": None, "link": None, **extra}
    credits = [Bar(d.day[5:], (d.interactive, d.batch)) for d in panels.credits]
    return _signed_in(
        state,
        "tenant.html",
        principal,
        csrf,
        status,
        title=f"Tenant {tenant.tenant}",
        p=panels,
        labels=_LABELS,
        created=epoch_to_dt(tenant.created_at),
        calls_chart=calls_chart(
            "calls-chart",
            f"Zoho calls per hour, last {len(panels.calls)} hours (UTC)",
            panels.calls,
        ),
        credits_chart=layout(
            "credits-chart",
            f"Zoho CRM credits per day, last {len(credits)} days (UTC)",
            ("interactive", "batch"),
            credits,
        ),
        **context,
    )


@dataclass(frozen=True, slots=True)
class _Act:
    """One allowed action: who asks, on which tenant (and provider), and how to answer
    with the page itself (a refusal that says why)."""

    state: ServiceState
    principal: Principal
    csrf: str
    tenant: Tenant
    provider: str
    label: str

    async def page(self, status: int, **extra: Any) -> Response:
        """The tenant's page with ``extra`` (a flash, an error, a link) and ``status``."""
        return await _page(
            self.state, self.principal, self.csrf, self.tenant, status=status, **extra
        )


async def _acting(
    state: ServiceState,
    request: Request,
    tenant: str,
    csrf_token: str,
    provider: str = "",
) -> _Act:
    """The session behind an action on ``tenant`` (and ``provider``, when the action takes
    one): 401 without a session, 403 for a wrong CSRF token or another tenant's key, 404
    for no such tenant, 400 for an unknown provider."""
    principal, csrf = await _require_session(state, request, csrf_token)
    if not principal.may_access(tenant):
        raise HTTPException(status_code=403, detail="this key is not valid for this tenant")
    found = await state.tenants.get(tenant) if _TENANT.match(tenant) else None
    if found is None:
        raise HTTPException(status_code=404, detail=f"no tenant {tenant!r}")
    if provider and provider not in PROVIDERS:
        raise HTTPException(status_code=400, detail=f"provider: one of {', '.join(PROVIDERS)}")
    return _Act(state, principal, csrf, found, provider, _LABELS.get(provider, "Zoho"))


def _done(tenant: str, done: str, provider: str | None = None) -> RedirectResponse:
    query = f"?done={done}" + (f"&provider={provider}" if provider else "")
    return RedirectResponse(f"/admin/tenants/{tenant}{query}", status_code=303)


@router.get("/{tenant}")
async def tenant_page(
    request: Request,
    state: State,
    tenant: str,
    done: str | None = None,
    provider: str | None = None,
) -> Response:
    """The tenant's page; without a session, on to the login form."""
    session = await state.sessions.read(request.headers)
    if session is None:
        return RedirectResponse("/admin", status_code=303)
    principal, csrf = session
    if not principal.may_access(tenant):
        return _message(state, 403, "Not your tenant", "This key is not valid for this tenant.")
    found = await state.tenants.get(tenant) if _TENANT.match(tenant) else None
    if found is None:
        return _message(state, 404, "No such tenant", f"There is no tenant {tenant}.")
    flash = DONE.get(done or "")
    label = _LABELS.get(provider or "", "Zoho")
    return await _page(
        state, principal, csrf, found, flash=flash.format(label=label) if flash else None
    )


@router.post("/{tenant}/refresh")
async def refresh_now(
    request: Request, state: State, tenant: str, csrf_token: CsrfField, provider: ProviderField
) -> Response:
    """Refresh now: a new access token from Zoho (what a caller would wait for)."""
    act = await _acting(state, request, tenant, csrf_token, provider)
    if await state.zoho.tokens.status(tenant, provider) is None:
        return await act.page(409, error=f"{act.label} is not connected: connect it first.")
    try:
        await state.zoho.tokens.force_refresh(tenant, provider)
    except ZohoError as exc:
        return await act.page(409, error=f"{act.label} was not refreshed: {exc.message}")
    return _done(tenant, "refreshed", provider)


@router.post("/{tenant}/reconnect-link")
async def reconnect_link(
    request: Request, state: State, tenant: str, csrf_token: CsrfField, provider: ProviderField
) -> Response:
    """A reconnect link to copy: the connect flow's consent link, single-use."""
    act = await _acting(state, request, tenant, csrf_token, provider)
    link = await connect_link(state, request, act.tenant, provider)
    minutes = round(state.settings.zohokit_connect_state_seconds / 60)
    flash = (
        f"A reconnect link for {act.label}: it works once, within {minutes} minutes, "
        "for whoever opens it and signs in to the tenant's Zoho account."
    )
    return await act.page(200, flash=flash, link=link, link_provider=provider)


@router.post("/{tenant}/disconnect")
async def disconnect(
    request: Request, state: State, tenant: str, csrf_token: CsrfField, provider: ProviderField
) -> Response:
    """Disconnect: revoke the refresh token at Zoho and erase the tokens."""
    act = await _acting(state, request, tenant, csrf_token, provider)
    current = await state.zoho.tokens.status(tenant, provider)
    if current is None or current.status == "revoked":
        return _done(tenant, "not_connected", provider)
    try:
        confirmed = await state.zoho.tokens.revoke(tenant, provider)
    except ZohoError as exc:
        return await act.page(502, error=f"{act.label} is still connected: {exc.message}")
    state.broker_forget(tenant, provider)
    return _done(tenant, "disconnected" if confirmed else "disconnected_unconfirmed", provider)


@router.post("/{tenant}/delete")
async def delete(
    request: Request,
    state: State,
    tenant: str,
    csrf_token: CsrfField,
    confirm: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Delete the tenant (revoked at Zoho first), once its key is typed again."""
    principal, _ = await _require_session(state, request, csrf_token)
    if not principal.may_access(tenant):
        raise HTTPException(status_code=403, detail="this key is not valid for this tenant")
    if not principal.is_global:
        raise HTTPException(status_code=403, detail="this action needs a key for every tenant")
    gone = RedirectResponse(f"/admin/tenants?deleted={quote(tenant)}", status_code=303)
    if await state.tenants.get(tenant) is None:
        # Deleted already (by this form, another instance or the API): the end is the same.
        return gone
    act = await _acting(state, request, tenant, csrf_token)
    if confirm.strip() != tenant:
        return await act.page(400, error=f"Not deleted: type the tenant key {tenant} to confirm.")
    await remove_tenant(state, tenant)
    return gone


@router.post("/{tenant}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, state: State, tenant: str, delivery_id: str, csrf_token: CsrfField
) -> Response:
    """Send one of the tenant's webhook deliveries again, with a new round of retries."""
    await _acting(state, request, tenant, csrf_token)
    webhooks = state.zoho.webhooks
    try:
        delivery = await webhooks.delivery(delivery_id[:64])
        if delivery.tenant != tenant:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id[:64]} for this tenant")
        await webhooks.redeliver(delivery.id)
    except DeliveryNotFound as exc:
        raise HTTPException(status_code=404, detail=exc.message) from exc
    return _done(tenant, "redelivered")
