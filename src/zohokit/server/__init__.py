"""``zohokit serve``: the HTTP service (FastAPI) for connecting tenants, brokering tokens and
showing an operator which tenant needs attention.

    from zohokit.server import ServerSettings, create_app
    app = create_app(ServerSettings())   # run with uvicorn

See ``docs/service.md``. Needs the ``server`` extra (``pip install 'zohokit[server]'``).

The names are loaded on first use (PEP 562): the migrations of a core install read the
service's table descriptions (``zohokit.server._tables``, SQLAlchemy only) without FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "EMULATOR_PREFIXES": "._app",
    "create_app": "._app",
    "ApiKeyring": "._auth",
    "Principal": "._auth",
    "parse_api_keys": "._auth",
    "ServerSettings": "._settings",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
