"""``create_app(settings)``: the FastAPI service. Nothing is built at import time; the
lifespan builds one :class:`~zohokit.Zoho` root (engine, token service, accounts client,
request path, booking service, ledger) from the settings and closes it after."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import jinja2
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .._clock import Clock, epoch, system_clock
from .._zoho import Zoho
from ..crm import BulkCallbacks
from ..emulator import Emulator
from ..emulator import create_app as create_emulator_app
from ..tokens import state_label
from . import (
    _admin,
    _bookings,
    _broker,
    _bulk,
    _connect,
    _docs,
    _health,
    _manage,
    _notifications,
    _tenant_page,
    _tenants,
    _webhooks,
)
from ._auth import ApiKeyring, ApiPrincipal, LoginSigner
from ._errors import install_error_handlers
from ._guard import RequestGuard
from ._metrics import MetricsMiddleware
from ._sessions import SessionStore
from ._settings import ServerSettings
from ._state import ServiceState
from ._tables import StateStore, TenantStore

__all__ = ["EMULATOR_PREFIXES", "create_app"]

log = logging.getLogger("zohokit.server")

#: Paths served by the in-process emulator in sandbox mode (none collides with the service's).
EMULATOR_PREFIXES = ("/oauth/v2/", "/crm/", "/api/v1/", "/_emulator/")

Setup = Callable[[ServiceState], Awaitable[None]]


class EmulatorMount:
    """Sends the emulator's paths to the emulator app and everything else to the service.

    The emulator's routes are absolute (``/oauth/v2/token``, ``/crm/v8/...``), so it is served
    at its own root paths rather than under a ``Mount`` prefix.
    """

    def __init__(self, app: ASGIApp, emulator_app: ASGIApp) -> None:
        self.app = app
        self.emulator_app = emulator_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(EMULATOR_PREFIXES):
            await self.emulator_app(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("zohokit.server", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    # A connection's word as people read it ("needs re-auth"), the CLI's spelling too.
    env.filters["state_label"] = state_label
    return env


def create_app(
    settings: ServerSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    emulator: Emulator | None = None,
    setup: Setup | None = None,
    clock: Clock = system_clock,
    worker: bool = False,
) -> FastAPI:
    """Build the service.

    ``transport`` routes every call to Zoho's accounts server (tests, the sandbox);
    ``emulator`` serves that emulator at its own paths inside this app (sandbox mode);
    ``setup`` runs once the database is ready (the sandbox's demo tenant); ``clock`` is the
    service's time, the root's and every part's (tests move it); ``worker`` runs the job
    loop (:class:`zohokit.worker.Worker`) on the same root for as long as the app runs.
    """
    s = settings or ServerSettings()
    keyring = ApiKeyring.from_spec(
        s.zohokit_api_keys.get_secret_value() if s.zohokit_api_keys else None
    )
    secret = (
        s.zohokit_session_secret.get_secret_value()
        if s.zohokit_session_secret
        else secrets.token_urlsafe(32)
    )
    signer = LoginSigner(secret)
    templates = _templates()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Zoho.from_settings(s, transport=transport, clock=clock) as zoho:
            if s.zohokit_public_url:
                # Bulk jobs call back here instead of being polled at full pace.
                base = s.zohokit_public_url.rstrip("/") + _bulk.BULK_CALLBACK_PATH
                zoho.bulk_callbacks = BulkCallbacks(base)
            state = ServiceState(
                settings=s,
                zoho=zoho,
                keyring=keyring,
                signer=signer,
                sessions=SessionStore(
                    zoho.engine,
                    keyring,
                    secret=secret,
                    max_age=s.zohokit_session_seconds,
                    clock=epoch(clock),
                ),
                tenants=TenantStore(zoho.engine),
                states=StateStore(zoho.engine),
                templates=templates,
                emulator=emulator,
                clock=clock,
            )
            app.state.zohokit = state
            if setup is not None:
                await setup(state)
            if not worker:
                yield
                return
            from ..worker import Worker

            loop = Worker(zoho)
            task = asyncio.create_task(loop.run())
            try:
                yield
            finally:
                loop.stop()
                await task

    app = FastAPI(
        title="zohokit",
        summary="Zoho connections, tokens, availability and bookings for many tenants.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # The broker first: it is the service's hot path, and routes are matched in order (no
    # other route's path can match its own).
    for module in (
        _broker,
        _health,
        _tenants,
        _connect,
        _admin,
        _tenant_page,
        _bookings,
        _manage,
        _notifications,
        _bulk,
        _webhooks,
        _docs,
    ):
        app.include_router(module.router)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_: ApiPrincipal) -> JSONResponse:
        """The OpenAPI document (behind a key, like everything but health and the callback)."""
        return JSONResponse(app.openapi())

    # Innermost first: the guard answers before any route reads a body; metrics count it.
    app.add_middleware(RequestGuard)
    app.add_middleware(MetricsMiddleware)
    if emulator is not None:
        app.add_middleware(EmulatorMount, emulator_app=create_emulator_app(emulator))
        # Sandbox: the emulator's CRM notifications reach this service in process.
        emulator.notify_transport = emulator.notify_transport or httpx.ASGITransport(app=app)
    return app
