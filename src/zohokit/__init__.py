"""zohokit: Zoho CRM and Zoho Calendar for many tenants.

The public names live here; everything in a module whose name starts with ``_`` is private.
Start from :class:`Zoho`, the one object that owns the database engine, the token service
and the request path, and hands out each tenant's services::

    from zohokit import Settings, Zoho

    async with Zoho.from_settings(Settings()) as zoho:
        leads = [lead async for lead in zoho.crm("acme").search_records("Leads", ...)]

The seed's module-level services (``oauth_token_service``, ``zoho_crm_service``,
``zoho_calendar_service``, and ``ZohoCRMService()`` built with no wiring) run on
:meth:`Zoho.default`, built from the environment on first use, never at import::

    from zohokit import ZohoCRMService, oauth_token_service

    crm = ZohoCRMService.for_client(
        {"zoho_client_id": "...", "zoho_client_secret": "...", "zoho_refresh_token": "..."},
        client_id="acme",
    )
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._zoho import Zoho
from ._zoho import seed_default as _seed_default
from .calendar import FreeBusy, Slot, ZohoCalendarService
from .crm import CoqlResult, Criteria, RecordResult, ZohoCRMService, where
from .errors import (
    AuthenticationError,
    BadRequest,
    BudgetExhausted,
    BulkJobFailed,
    ConfigurationError,
    Conflict,
    InvalidRecords,
    NeedsReauthorization,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    RecordError,
    ServerError,
    StorageUnavailable,
    TokenError,
    TokenRefreshFailed,
    TokenRefreshThrottled,
    TokenRevoked,
    TransportError,
    UnknownField,
    UnknownModule,
    UntrustedAccountsServer,
    WriteRefused,
    ZohoAPIError,
    ZohoError,
)
from .http import RetryPolicy, TokenSource, ZohoHTTP
from .settings import Settings
from .tokens import AccessToken, OAuthTokenService, TokenStatus, ZohoCredentials

if _TYPE_CHECKING:
    oauth_token_service: OAuthTokenService
    zoho_crm_service: ZohoCRMService
    zoho_calendar_service: ZohoCalendarService

__version__ = "0.1.0"

__all__ = [
    "AccessToken",
    "AuthenticationError",
    "BadRequest",
    "BudgetExhausted",
    "BulkJobFailed",
    "ConfigurationError",
    "Conflict",
    "CoqlResult",
    "Criteria",
    "FreeBusy",
    "InvalidRecords",
    "NeedsReauthorization",
    "NotFound",
    "OAuthTokenService",
    "PermissionDenied",
    "PreconditionFailed",
    "RateLimited",
    "RecordError",
    "RecordResult",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "Slot",
    "StorageUnavailable",
    "TokenError",
    "TokenRefreshFailed",
    "TokenRefreshThrottled",
    "TokenRevoked",
    "TokenSource",
    "TokenStatus",
    "TransportError",
    "UnknownField",
    "UnknownModule",
    "UntrustedAccountsServer",
    "WriteRefused",
    "Zoho",
    "ZohoAPIError",
    "ZohoCRMService",
    "ZohoCalendarService",
    "ZohoCredentials",
    "ZohoError",
    "ZohoHTTP",
    "__version__",
    "oauth_token_service",
    "where",
    "zoho_calendar_service",
    "zoho_crm_service",
]


def _publish(names: list[str]) -> None:
    # Tracebacks, reprs and API docs name the public path, not the private module (as httpx
    # does); every exported class and function is importable from here, so pickling still
    # finds it. A class's string annotations are resolved first: typing.get_type_hints looks
    # names up in the module ``__module__`` names, which would no longer be the defining one.
    import inspect
    import typing

    for name in names:
        value = globals().get(name)
        if isinstance(value, type):
            own = inspect.get_annotations(value)
            if own:
                hints = typing.get_type_hints(value, include_extras=True)
                value.__annotations__ = {key: hints[key] for key in own if key in hints}
            value.__module__ = __name__
        elif callable(value):
            value.__module__ = __name__


_publish(__all__)


def __getattr__(name: str) -> _Any:
    # PEP 562: the seed's module-level services are built on first look-up, so importing
    # zohokit reads no environment and opens no database.
    try:
        return _seed_default(name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
