"""What every router needs, built once in the app's lifespan and reached through one
dependency (:data:`State`), so tests can override it instead of patching globals."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import jinja2
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from ..calendar import CalendarHealth
from ..emulator import Emulator
from ..sync import Ledger
from ..tokens import AccountsClient, OAuthTokenService
from ._auth import ApiKeyring, LoginSigner
from ._sessions import SessionStore
from ._settings import ServerSettings
from ._tables import StateStore, TenantStore

__all__ = ["ServiceState", "State", "get_state"]


@dataclass
class ServiceState:
    """The running service's objects. ``emulator`` is set in sandbox mode only."""

    settings: ServerSettings
    engine: AsyncEngine
    tokens: OAuthTokenService
    accounts: AccountsClient
    keyring: ApiKeyring
    signer: LoginSigner
    sessions: SessionStore
    tenants: TenantStore
    states: StateStore
    ledger: Ledger
    templates: jinja2.Environment
    transport: httpx.AsyncBaseTransport | None = None
    emulator: Emulator | None = None
    clock: Callable[[], float] = time.time
    #: (tenant, provider) pairs the broker recently saw exist and connected, until when. Lets
    #: a warm broker call skip the database entirely (the token itself is cached by the
    #: token service); a deletion on another instance shows within ``BROKER_RECHECK`` seconds.
    broker_checked: dict[tuple[str, str], float] = field(default_factory=dict)
    #: Each tenant's Zoho Calendar warnings (a booking calendar left out of free/busy), as
    #: the booking flow last saw them: shown on the tenant's status and the admin page.
    calendar_health: CalendarHealth = field(default_factory=CalendarHealth)


async def get_state(request: Request) -> ServiceState:
    """Dependency: the service's :class:`ServiceState` (set by the lifespan).

    ``async`` so that FastAPI calls it in the event loop, not through a worker thread.
    """
    state: ServiceState = request.app.state.zohokit
    return state


State = Annotated[ServiceState, Depends(get_state)]
