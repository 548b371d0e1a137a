"""An offline Zoho: accounts server, CRM v8 and Calendar v1 under one base URL.

Run it with ``zohokit emulator`` or in a test::

    from zohokit.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(client_id="X", client_secret="Y",
                                       refresh_token="Z")) as server:
        ...  # point any Zoho client at server.url

or in process, with no socket at all::

    app = create_app(Emulator(EmulatorConfig()))
    httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://zoho.test")

This package imports nothing from the client side of zohokit.
"""

from ._accounts import AccessGrant, RefreshGrant
from ._app import ConnectionDropped, create_app, seed_emulator
from ._core import ALL_SCOPES, Clock, Emulator, EmulatorConfig, Stats
from ._faults import FaultConfigError, FaultRule, Faults
from ._server import EmulatorServer

__all__ = [
    "ALL_SCOPES",
    "AccessGrant",
    "Clock",
    "ConnectionDropped",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultConfigError",
    "FaultRule",
    "Faults",
    "RefreshGrant",
    "Stats",
    "create_app",
    "seed_emulator",
]
