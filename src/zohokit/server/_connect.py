"""The connect flow: send a browser to the tenant's Zoho accounts server, take the callback,
exchange the code, store the tokens.

``GET /connect/zoho`` draws a random ``state`` and a PKCE verifier, stores the state's hash
bound to the tenant and the provider (with the verifier, encrypted) for ten minutes, and
redirects with ``access_type=offline`` and ``prompt=consent`` (so Zoho sends a refresh token
every time) and the verifier's ``S256`` challenge: the code Zoho hands out can then only be
exchanged with the verifier of the flow that drew it, so a code from one tenant's flow sent
with another's state connects nobody. ``GET /oauth/zoho/callback`` consumes the state
(once) and hands the code and the flow's verifier to the token service's code exchange
(``exchange_code``), which refuses an ``accounts-server`` that is not Zoho's (or the
configured emulator), so a forged callback can never receive the client secret, stores the
tokens, and on a reconnect
revokes the refresh token it replaces. Every failure ends on a short HTML page.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..datacenters import by_accounts_server, by_code
from ..errors import MissingScopes, NeedsReauthorization, TokenError, UntrustedAccountsServer
from ..settings import CALLBACK_PATH, DEFAULT_SCOPES
from ..tokens import ZohoCredentials
from ._auth import BrowserPrincipal, ensure_tenant_access
from ._metrics import CONNECTS
from ._models import TENANT_PATTERN, ProviderName
from ._state import ServiceState, State
from ._tables import ConnectState, Tenant
from ._tenants import TENANT_ERRORS

__all__ = ["PROVIDER_SCOPES", "authorization_url", "connect_link", "router", "start_connect"]

log = logging.getLogger("zohokit.server")
router = APIRouter(tags=["connect"])

#: What each provider asks Zoho for unless ``ZOHOKIT_SCOPES`` says otherwise.
PROVIDER_SCOPES = DEFAULT_SCOPES
_LABELS = {"zoho_crm": "Zoho CRM", "zoho_calendar": "Zoho Calendar"}


def pkce_challenge(verifier: str) -> str:
    """The ``S256`` challenge of a PKCE verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorization_url(
    accounts_url: str,
    *,
    client_id: str,
    scopes: tuple[str, ...],
    redirect_uri: str,
    state: str,
    code_verifier: str | None = None,
) -> str:
    """The consent URL at ``accounts_url``: offline access, a forced consent screen, and the
    ``S256`` challenge of ``code_verifier`` when one is given."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "scope": ",".join(scopes),
        "redirect_uri": redirect_uri,
        "access_type": "offline",
        "prompt": "consent",
        "state": state,
    }
    if code_verifier is not None:
        params["code_challenge"] = pkce_challenge(code_verifier)
        params["code_challenge_method"] = "S256"
    query = urlencode(params)
    return f"{accounts_url.rstrip('/')}/oauth/v2/auth?{query}"


def redirect_uri_for(state: ServiceState, request: Request) -> str:
    """The callback URL registered with Zoho: ``ZOHOKIT_PUBLIC_URL`` or this request's."""
    base = state.settings.zohokit_public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK_PATH


def _client(state: ServiceState, provider: str) -> tuple[str, str]:
    creds = state.settings.env_credentials(provider)
    if not creds.client_id or not creds.client_secret:
        raise HTTPException(
            status_code=409,
            detail="no OAuth client configured for this provider: set ZOHO_CLIENT_ID and "
            "ZOHO_CLIENT_SECRET (or the ZOHO_CRM_* / ZOHO_CALENDAR_* names)",
        )
    return creds.client_id, creds.client_secret


def _verifier_context(tenant: str, provider: str) -> str:
    return f"{tenant}\x00{provider}\x00code_verifier"


def _seal_verifier(
    state: ServiceState, tenant: str, provider: str, verifier: str | None
) -> str | None:
    if verifier is None:
        return None
    return state.zoho.cipher.encrypt(verifier, context=_verifier_context(tenant, provider))


def _open_verifier(state: ServiceState, binding: ConnectState) -> str | None:
    if binding.code_verifier is None:
        return None
    return state.zoho.cipher.decrypt(
        binding.code_verifier, context=_verifier_context(binding.tenant, binding.provider)
    )


async def start_connect(
    state: ServiceState, request: Request, tenant: Tenant, provider: str
) -> RedirectResponse:
    """Store a new single-use state for (tenant, provider) and redirect to Zoho's consent."""
    url = await connect_link(state, request, tenant, provider)
    # 303: a POST from the admin page becomes a GET at Zoho.
    return RedirectResponse(url, status_code=303 if request.method == "POST" else 302)


async def connect_link(state: ServiceState, request: Request, tenant: Tenant, provider: str) -> str:
    """The connect flow's link for (tenant, provider): Zoho's consent URL with a new
    single-use state, valid for ``ZOHOKIT_CONNECT_STATE_SECONDS`` (the console's "copy a
    reconnect link" hands it to the tenant's own Zoho admin)."""
    client_id, _ = _client(state, provider)
    value = secrets.token_urlsafe(32)
    redirect_uri = redirect_uri_for(state, request)
    # 64 characters: RFC 7636 asks for 43 to 128 from the unreserved set.
    verifier = secrets.token_urlsafe(48) if state.settings.zohokit_connect_pkce else None
    await state.states.put(
        value,
        tenant=tenant.tenant,
        provider=provider,
        redirect_uri=redirect_uri,
        now=state.epoch(),
        ttl=state.settings.zohokit_connect_state_seconds,
        code_verifier=_seal_verifier(state, tenant.tenant, provider, verifier),
    )
    accounts = state.settings.zoho_accounts_url or by_code(tenant.data_center).accounts_url
    url = authorization_url(
        accounts,
        client_id=client_id,
        scopes=state.settings.scopes(provider),
        redirect_uri=redirect_uri,
        state=value,
        code_verifier=verifier,
    )
    CONNECTS.labels(provider, "started").inc()
    return url


@router.get(
    "/connect/zoho",
    summary="Start connecting a tenant's Zoho account",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        302: {"description": "Redirect to Zoho's consent page"},
        **TENANT_ERRORS,
        401: {"description": "Missing or invalid API key (or admin session)"},
        409: {"description": "No OAuth client configured"},
    },
)
async def connect(
    request: Request,
    tenant: Annotated[str, Query(pattern=TENANT_PATTERN)],
    provider: ProviderName,
    principal: BrowserPrincipal,
    state: State,
) -> RedirectResponse:
    """Redirect to the tenant's accounts server; Zoho comes back to the callback."""
    ensure_tenant_access(principal, tenant)
    found = await state.tenants.get(tenant)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no tenant {tenant!r}; create it first")
    return await start_connect(state, request, found, provider)


def _page(state: ServiceState, status: int, title: str, message: str) -> HTMLResponse:
    html = state.templates.get_template("message.html").render(title=title, message=message)
    return HTMLResponse(html, status_code=status)


@router.get(
    CALLBACK_PATH,
    summary="Zoho's redirect after consent",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Connected: on to the admin page"},
        400: {"description": "Bad, forged, expired or replayed callback"},
        403: {"description": "The user denied consent"},
        404: {"description": "The tenant was deleted meanwhile"},
        502: {"description": "Zoho refused the code exchange"},
    },
)
async def callback(
    state: State,
    code: Annotated[str | None, Query(max_length=512)] = None,
    oauth_state: Annotated[str | None, Query(alias="state", max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=128)] = None,
    location: Annotated[str | None, Query(max_length=32)] = None,
    accounts_server: Annotated[str | None, Query(alias="accounts-server", max_length=256)] = None,
) -> Response:
    """Check the state, check ``accounts-server``, exchange the code, store the tokens."""
    if not oauth_state:
        return _page(state, 400, "Connection failed", "The link has no state. Start again.")
    binding = await state.states.consume(oauth_state, now=state.epoch())
    if binding is None:
        return _page(
            state,
            400,
            "Connection failed",
            "This link is unknown, expired (links last 10 minutes) or was already used. "
            "Start the connection again.",
        )
    tenant, provider = binding.tenant, binding.provider
    label = _LABELS.get(provider, provider)
    if error:
        CONNECTS.labels(provider, "denied").inc()
        return _page(
            state,
            403,
            "Access was not granted",
            f"Zoho reported '{error}': {label} was not connected for tenant {tenant}.",
        )
    if not code:
        return _page(state, 400, "Connection failed", "Zoho sent no authorization code.")
    found = await state.tenants.get(tenant)
    if found is None:
        return _page(state, 404, "Connection failed", f"Tenant {tenant} no longer exists.")
    override = state.settings.zoho_accounts_url
    server = accounts_server or override or by_code(found.data_center).accounts_url
    known = by_accounts_server(server)
    if known is not None and location and location.lower() not in (known.code, "com"):
        CONNECTS.labels(provider, "refused").inc()
        return _page(state, 400, "Connection refused", "location and accounts-server disagree.")
    return await _finish(state, found, provider, code, server, binding)


async def _finish(
    state: ServiceState, tenant: Tenant, provider: str, code: str, server: str, flow: ConnectState
) -> Response:
    client_id, client_secret = _client(state, provider)
    try:
        # The token service checks the accounts server (one rule for every caller), exchanges
        # the code, stores the grant and, on a reconnect, revokes the refresh token it replaces.
        await state.zoho.tokens.exchange_code(
            tenant.tenant,
            provider,
            code=code,
            credentials=ZohoCredentials(client_id, client_secret),
            accounts_server=server,
            redirect_uri=flow.redirect_uri,
            code_verifier=_open_verifier(state, flow),
            required_scopes=state.settings.scopes(provider),
        )
    except UntrustedAccountsServer:
        CONNECTS.labels(provider, "refused").inc()
        log.warning("connect refused: foreign accounts-server for tenant=%s", tenant.tenant)
        return _page(
            state,
            400,
            "Connection refused",
            "The callback named an accounts server that is not Zoho's. Nothing was sent to it.",
        )
    except TokenError as exc:
        CONNECTS.labels(provider, "failed").inc()
        if isinstance(exc, MissingScopes):
            return _page(state, 502, "Connection failed", exc.message)
        reason = exc.reason if isinstance(exc, NeedsReauthorization) else None
        return _page(
            state,
            502,
            "Connection failed",
            f"Zoho refused the code exchange ({reason or exc.message}).",
        )
    CONNECTS.labels(provider, "connected").inc()
    log.info("connected tenant=%s provider=%s", tenant.tenant, provider)
    query = urlencode({"connected": tenant.tenant, "provider": provider})
    return RedirectResponse(f"/admin/tenants?{query}", status_code=303)
