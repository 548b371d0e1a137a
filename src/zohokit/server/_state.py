"""What every router needs, built once in the app's lifespan and reached through one
dependency (:data:`State`), so tests can override it instead of patching globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import jinja2
from fastapi import Depends, Request

from .._clock import Clock, epoch, system_clock
from .._zoho import Zoho
from ..emulator import Emulator
from ..tokens import AccessToken
from ._auth import ApiKeyring, LoginSigner
from ._sessions import SessionStore
from ._settings import ServerSettings
from ._tables import StateStore, TenantStore

__all__ = ["ServiceState", "State", "get_state"]


@dataclass
class ServiceState:
    """The running service's objects: the :class:`~zohokit.Zoho` root and what only the
    service has. ``emulator`` is set in sandbox mode only.

    The root's parts are reached through it, one way everywhere (``state.zoho.tokens``,
    ``state.zoho.engine``), not through copies of its properties here."""

    settings: ServerSettings
    zoho: Zoho
    keyring: ApiKeyring
    signer: LoginSigner
    sessions: SessionStore
    tenants: TenantStore
    states: StateStore
    templates: jinja2.Environment
    emulator: Emulator | None = None
    #: The service's time (tests pass their own); its tables keep epoch seconds (:meth:`epoch`).
    clock: Clock = system_clock
    #: (tenant, provider) pairs the broker recently saw exist and connected, until when. Lets
    #: a warm broker call skip the database entirely (the token itself is cached by the
    #: token service); a deletion on another instance shows within ``BROKER_RECHECK`` seconds.
    broker_checked: dict[tuple[str, str], float] = field(default_factory=dict)
    #: The broker's last answer per (tenant, provider): the token it was made of and its
    #: JSON bytes, served again while the token service hands out that same token.
    broker_answers: dict[tuple[str, str], tuple[AccessToken, bytes]] = field(default_factory=dict)

    def broker_forget(self, tenant: str, provider: str) -> None:
        """Drop what the broker keeps of ``tenant``'s ``provider`` (its check and its last
        answer, which holds a token): the next call checks the tenant again."""
        self.broker_checked.pop((tenant, provider), None)
        self.broker_answers.pop((tenant, provider), None)

    def __post_init__(self) -> None:
        # time.time itself for the system clock: the broker reads it on every call.
        self._seconds = epoch(self.clock)

    def epoch(self) -> float:
        """Now, on :attr:`clock`, as epoch seconds (what the service's tables store)."""
        return self._seconds()


async def get_state(request: Request) -> ServiceState:
    """Dependency: the service's :class:`ServiceState` (set by the lifespan).

    ``async`` so that FastAPI calls it in the event loop, not through a worker thread.
    """
    state: ServiceState = request.app.state.zohokit
    return state


State = Annotated[ServiceState, Depends(get_state)]
