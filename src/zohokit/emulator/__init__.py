"""An offline Zoho: accounts server, CRM (API v2 to v8) and Calendar v1 under one base URL.

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
from ._core import ALL_SCOPES, FROM_EDITION, Clock, Emulator, EmulatorConfig, Stats
from ._durable import DataFileError
from ._editions import DEFAULT_EDITION, EDITIONS, Edition
from ._faults import FaultConfigError, FaultRule, Faults
from ._server import EmulatorServer
from .crm import CrmSchema, SchemaError, load_schema, schema_from_json

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_EDITION",
    "EDITIONS",
    "FROM_EDITION",
    "AccessGrant",
    "Clock",
    "ConnectionDropped",
    "CrmSchema",
    "DataFileError",
    "Edition",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultConfigError",
    "FaultRule",
    "Faults",
    "RefreshGrant",
    "SchemaError",
    "Stats",
    "create_app",
    "load_schema",
    "schema_from_json",
    "seed_emulator",
]
