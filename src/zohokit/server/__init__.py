"""``zohokit serve``: the HTTP service (FastAPI) for connecting tenants, brokering tokens and
showing an operator which tenant needs attention.

    from zohokit.server import ServerSettings, create_app
    app = create_app(ServerSettings())   # run with uvicorn

See ``docs/service.md``.
"""

from ._app import EMULATOR_PREFIXES, create_app
from ._auth import ApiKeyring, Principal, parse_api_keys
from ._settings import ServerSettings

__all__ = [
    "EMULATOR_PREFIXES",
    "ApiKeyring",
    "Principal",
    "ServerSettings",
    "create_app",
    "parse_api_keys",
]
