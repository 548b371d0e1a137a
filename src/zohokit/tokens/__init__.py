"""Database-backed Zoho OAuth tokens, refreshed once per tenant across a fleet.

The public names::

    from zohokit.tokens import oauth_token_service
    token = await oauth_token_service.get_access_token("default", "zoho_crm")

``oauth_token_service`` is the token service of :meth:`zohokit.Zoho.default`, built from
:class:`~zohokit.settings.Settings` on first access (no I/O at import). Build a
:class:`zohokit.Zoho` (its ``tokens``) for anything else: another database, an in-process
emulator transport, a test clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._accounts_client import (
    AccountsClient,
    TokenFailure,
    TokenGrant,
    classify_token_response,
)
from ._crypto import Cipher, DecryptionError, generate_key
from ._health import CONNECTION_STATES, state_label
from ._models import (
    AccessToken,
    ConnectionState,
    TokenStatus,
    ZohoCredentials,
    ZohoCredentialsDict,
)
from ._policy import RefreshPolicy
from ._service import OAuthTokenService

__all__ = [
    "CONNECTION_STATES",
    "AccessToken",
    "AccountsClient",
    "Cipher",
    "ConnectionState",
    "DecryptionError",
    "OAuthTokenService",
    "RefreshPolicy",
    "TokenFailure",
    "TokenGrant",
    "TokenStatus",
    "ZohoCredentials",
    "ZohoCredentialsDict",
    "classify_token_response",
    "generate_key",
    "get_oauth_token_service",
    "oauth_token_service",
    "state_label",
]

if TYPE_CHECKING:
    oauth_token_service: OAuthTokenService


def get_oauth_token_service() -> OAuthTokenService:
    """The token service of :meth:`zohokit.Zoho.default`, built from the environment on first
    call.

    It binds to the event loop it is first used on: use it from one long-running loop (a web
    server, a worker). Scripts that call ``asyncio.run`` repeatedly should build their own
    :class:`zohokit.Zoho`."""
    got: OAuthTokenService = __getattr__("oauth_token_service")
    return got


def __getattr__(name: str) -> Any:
    # PEP 562: the seed's default is built on first look-up, never at import; it lives on the
    # root (zohokit.Zoho.default), which sits above this module.
    from .._zoho import seed_attribute

    return seed_attribute(__name__, name)
