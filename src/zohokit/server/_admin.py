"""The console: server-rendered (Jinja2, autoescaped), no front-end build, no script.

``/admin`` is the fleet overview (:mod:`._overview`), ``/admin/tenants`` the tenant list
(:mod:`._tenant_list`); without a session both show the login form.

Log in with an API key; the session lives in the database (its random id in a cookie:
HttpOnly, SameSite=Lax, Secure over HTTPS), so logging out ends it on every instance, and
every form carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..datacenters import DATA_CENTERS
from ..scheduling import Booking
from ..settings import PROVIDERS
from ._auth import LOGIN_COOKIE, Principal
from ._bookings import get_booking_service
from ._charts import Bar, calls_chart, layout
from ._connect import _LABELS, start_connect
from ._models import TENANT_PATTERN, TenantCreate, epoch_to_dt
from ._overview import fleet_overview
from ._sessions import SESSION_COOKIE, AdminSession
from ._state import ServiceState, State
from ._tenant_list import HEALTHS, SORTS, TenantQuery, health_counts, list_tenants
from ._tenant_panels import run_view
from ._tenants import tenant_outs

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)

#: How many of the latest bookings and sync runs the overview lists.
RECENT_BOOKINGS = 10
RECENT_RUNS = 10
#: How many tenants one page of the console's list shows.
PAGE_SIZE = 50

CsrfField = Annotated[str, Form(max_length=256)]


def _secure(state: ServiceState, request: Request) -> bool:
    public = state.settings.zohokit_public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _html(state: ServiceState, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = state.templates.get_template(template).render(**context)
    # The page shows tenants' states: never let a shared cache keep it.
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _signed_in(
    state: ServiceState,
    template: str,
    principal: Principal,
    csrf: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page for a logged-in session: the page shows what ``principal`` may see,
    and each of its forms carries the session's CSRF token."""
    return _html(state, template, status, principal=principal, csrf_token=csrf, **context)


def _login_page(state: ServiceState, request: Request, status: int, error: str | None) -> Response:
    token = state.signer.new_login_token()
    page = _html(state, "login.html", status, title="Log in", csrf_token=token, error=error)
    page.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(state, request),
        path="/admin",
    )
    return page


async def _bookings(request: Request, principal: Principal) -> tuple[list[Booking], int]:
    """The latest bookings the principal may see (newest first) and how many are unsynced."""
    service = get_booking_service(request)
    recent = await service.list_bookings(principal.tenant, newest_first=True, limit=RECENT_BOOKINGS)
    return recent, await service.count_unsynced(principal.tenant)


async def _tenant_list_page(
    request: Request,
    state: ServiceState,
    principal: Principal,
    csrf: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    now = epoch_to_dt(state.epoch())
    params = request.query_params
    filters = {k: params.get(k, "")[:64] for k in ("q", "health", "provider", "sort", "cursor")}
    try:
        query = TenantQuery(
            filters["q"] or None,
            filters["health"] or None,
            filters["provider"] or None,
            filters["sort"] or "tenant",
            params.get("cursor") or None,
            PAGE_SIZE,
            only=principal.tenant,
        )
    except ValueError as exc:
        error, status, query = str(exc), 400, TenantQuery(limit=PAGE_SIZE, only=principal.tenant)
    page = await list_tenants(state.zoho.engine, query, now)
    tenants = await tenant_outs(state, page.tenants)
    metrics: dict[str, int] = await health_counts(state.zoho.engine, now, principal.tenant)
    kept = {k: v for k, v in filters.items() if v and k != "cursor"}
    return _signed_in(
        state,
        "tenants.html",
        principal,
        csrf,
        status,
        title="Tenants",
        page="tenants",
        tenants=tenants,
        healths=HEALTHS,
        providers=PROVIDERS,
        sorts=SORTS,
        filters=filters,
        next_url="/admin/tenants?" + urlencode({**kept, "cursor": page.next_cursor})
        if page.next_cursor
        else None,
        first_url="/admin/tenants?" + urlencode(kept) if query.cursor else None,
        metrics=metrics,
        labels=_LABELS,
        data_centers=DATA_CENTERS,
        flash=flash,
        error=error,
    )


async def _require_session(state: ServiceState, request: Request, csrf_token: str) -> AdminSession:
    session = await state.sessions.read(request.headers)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    principal, expected = session
    if not hmac.compare_digest(expected, csrf_token):
        raise HTTPException(status_code=403, detail="the form's CSRF token does not match")
    return principal, expected


async def _overview_page(
    request: Request, state: ServiceState, principal: Principal, csrf: str
) -> Response:
    now = epoch_to_dt(state.epoch())
    budget = state.zoho.budget
    async with state.zoho.engine.connect() as conn:
        o = await fleet_overview(conn, now=now, budget=budget, only=principal.tenant)
    hours = len(o.hours)
    runs = [
        run_view(r)
        for r in await state.zoho.ledger.runs(tenant=principal.tenant, limit=RECENT_RUNS)
    ]
    bookings, pending = await _bookings(request, principal)
    return _signed_in(
        state,
        "overview.html",
        principal,
        csrf,
        title="Overview",
        page="overview",
        o=o,
        healths=HEALTHS,
        charts=[
            calls_chart("chart-calls", f"Zoho calls per hour, last {hours} hours (UTC)", o.hours),
            layout(
                "chart-throttled",
                f"429 answers per hour, last {hours} hours (UTC)",
                ("throttled (429)",),
                [Bar(h.hour.strftime("%H:00"), (h.throttled,)) for h in o.hours],
            ),
        ],
        budget_on=budget is not None,
        runs=runs,
        bookings=bookings,
        bookings_pending=pending,
    )


@router.get("")
async def admin_page(request: Request, state: State) -> Response:
    """The fleet overview, or the login form without a session."""
    session = await state.sessions.read(request.headers)
    if session is None:
        return _login_page(state, request, 200, None)
    return await _overview_page(request, state, *session)


@router.get("/tenants")
async def tenant_list_page(
    request: Request,
    state: State,
    connected: str | None = None,
    provider: str | None = None,
    deleted: str | None = None,
) -> Response:
    """The tenant list (search, filters, sort, pages), or the login form without a session."""
    session = await state.sessions.read(request.headers)
    if session is None:
        return _login_page(state, request, 200, None)
    label = _LABELS.get(provider or "", "Zoho")
    flash = f"Connected {connected[:64]} to {label}." if connected else None
    if deleted:
        flash = f"Deleted tenant {deleted[:64]}: its tokens are revoked and erased."
    return await _tenant_list_page(request, state, *session, flash=flash)


@router.post("/login")
async def login(
    request: Request,
    state: State,
    api_key: Annotated[str, Form(max_length=512)],
    csrf_token: CsrfField,
) -> Response:
    """Check the key; on success set the session cookie and go to the dashboard."""
    if not state.signer.check_login_token(csrf_token, request.cookies.get(LOGIN_COOKIE)):
        return _login_page(state, request, 403, "The form expired. Try again.")
    principal = state.keyring.authenticate(api_key)
    if principal is None:
        return _login_page(state, request, 401, "That key is not valid.")
    value, _ = await state.sessions.create(principal)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(state.sessions.max_age),
        httponly=True,
        samesite="lax",
        secure=_secure(state, request),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
async def logout(request: Request, state: State, csrf_token: CsrfField) -> Response:
    """End the session: its row is deleted, so a copy of the cookie is worth nothing."""
    await _require_session(state, request, csrf_token)
    await state.sessions.end(request.headers)
    response = RedirectResponse("/admin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/tenants")
async def create_tenant(
    request: Request,
    state: State,
    csrf_token: CsrfField,
    tenant: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=255)] = "",
    data_center: Annotated[str, Form(max_length=16)] = "us",
) -> Response:
    """Add a tenant (global keys only) and come back to the tenant list."""
    principal, csrf = await _require_session(state, request, csrf_token)
    if not principal.is_global:
        raise HTTPException(status_code=403, detail="this action needs a key for every tenant")
    try:
        body = TenantCreate(tenant=tenant, name=name or None, data_center=data_center)
    except ValueError:
        message = f"A tenant key matches {TENANT_PATTERN} and the data centre must be known."
        return await _tenant_list_page(request, state, principal, csrf, error=message, status=400)
    created = await state.tenants.create(
        body.tenant, body.name or body.tenant, body.data_center, state.epoch()
    )
    if created is None:
        message = f"Tenant {body.tenant} already exists."
        return await _tenant_list_page(request, state, principal, csrf, error=message, status=409)
    return RedirectResponse("/admin/tenants", status_code=303)


@router.post("/tenants/{tenant}/connect")
async def connect_tenant(
    request: Request,
    state: State,
    tenant: str,
    csrf_token: CsrfField,
    provider: Annotated[str, Form(max_length=32)],
) -> Response:
    """The Connect / Reconnect button: start the connect flow for one provider."""
    principal, _ = await _require_session(state, request, csrf_token)
    if provider not in PROVIDERS:
        raise HTTPException(status_code=400, detail="unknown provider")
    if not principal.may_access(tenant):
        raise HTTPException(status_code=403, detail="this key is not valid for this tenant")
    found = await state.tenants.get(tenant)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no tenant {tenant!r}")
    return await start_connect(state, request, found, provider)
