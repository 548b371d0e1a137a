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

from typing import TYPE_CHECKING

from .._seed import seed_hooks as _seed_hooks
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

__getattr__, get_oauth_token_service = _seed_hooks(
    __name__,
    "oauth_token_service",
    OAuthTokenService,
    note="\n\nIt binds to the event loop it is first used on: use it from one long-running loop "
    "(a web server, a worker). Scripts that call ``asyncio.run`` repeatedly should build "
    "their own :class:`zohokit.Zoho`.",
)

if TYPE_CHECKING:
    oauth_token_service: OAuthTokenService
