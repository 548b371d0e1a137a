"""Sandbox mode: the service, an in-process Zoho emulator and a connected demo tenant, with
nothing to configure (``zohokit serve --sandbox``, ``make run``).

The emulator answers at this service's own URL (``/oauth/v2/*``, ``/crm/v8/*``,
``/api/v1/*``, ``/_emulator/*``), so a browser's connect flow goes to "Zoho" and back on one
port; the service's own calls to the emulator go through an :class:`httpx.ASGITransport`
(no socket, no call to itself). Secrets (OAuth client, API key, session and encryption keys)
are drawn once and kept in ``sandbox.json`` (mode 0600) in the data folder, next to the SQLite
database and the emulator's own ``emulator.db``, so a restart keeps the same key, the demo
tenant, and Zoho's side of it: its CRM records and calendar events. ``sandbox.json`` also
records the URL the sandbox is served at, so ``ZOHOKIT_SANDBOX=<folder>`` is all the CLI and
the library's defaults need to use it (:meth:`zohokit.settings.Settings` reads it).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from .._files import private_dir
from ..emulator import Emulator, EmulatorConfig
from ..emulator import create_app as create_emulator_app
from ..scheduling import Schedule, ScheduleNotFound
from ..settings import CALLBACK_PATH, PROVIDERS, SANDBOX_FILE
from ..tokens import generate_key
from ._settings import ServerSettings
from ._state import ServiceState

__all__ = ["DEMO_SCHEDULE", "DEMO_TENANT", "Sandbox", "build_sandbox"]

DEMO_TENANT = "demo"
#: The demo tenant's bookable hours: weekdays 09:00-17:00 in Berlin, 30-minute slots.
DEMO_SCHEDULE: dict[str, object] = {
    "time_zone": "Europe/Berlin",
    "duration_minutes": 30,
    "minimum_notice_minutes": 60,
    "booking_window": {"days": 60},
    "weekly_hours": {
        day: ["09:00-17:00"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
}


@dataclass
class Sandbox:
    """Everything ``create_app`` needs for sandbox mode, and the API key to print."""

    settings: ServerSettings
    emulator: Emulator
    transport: httpx.AsyncBaseTransport
    api_key: str

    async def setup(self, state: ServiceState) -> None:
        """Create the demo tenant (once) and connect both providers to the emulator."""
        if await state.tenants.get(DEMO_TENANT) is None:
            await state.tenants.create(DEMO_TENANT, "Demo Company", "us", state.epoch())
        config = self.emulator.config
        refresh, client_id, secret = config.refresh_token, config.client_id, config.client_secret
        if not (refresh and client_id and secret):
            raise RuntimeError("the sandbox emulator has no OAuth client or refresh token")
        # The demo tenant is stored again each time with the configured refresh token, which
        # the emulator keeps in emulator.db (or adopts, if that file was deleted).
        for provider in PROVIDERS:
            await state.zoho.tokens.store_grant(
                DEMO_TENANT,
                provider,
                refresh_token=refresh,
                client_id=client_id,
                client_secret=secret,
                accounts_server=self.emulator.base_url,
                source="admin",
            )
        await self._demo_schedule(state)

    async def _demo_schedule(self, state: ServiceState) -> None:
        """Give the demo tenant a schedule on the emulator's primary calendar, once: an
        operator's later changes (``PUT /api/tenants/demo/schedule``) survive restarts."""
        service = state.zoho.bookings
        try:
            await service.get_schedule(DEMO_TENANT)
        except ScheduleNotFound:
            # "primary" is the emulator's alias of its user's default calendar: the stored
            # schedule then names no uid of one emulator run.
            await service.set_schedule(
                DEMO_TENANT, Schedule.from_dict(DEMO_SCHEDULE), calendar_id="primary"
            )


def _secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / SANDBOX_FILE
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    values = {
        "client_id": f"1000.SANDBOX{secrets.token_hex(10).upper()}",
        "client_secret": secrets.token_hex(21),
        "refresh_token": f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}",
        "api_key": f"zk_sandbox_{secrets.token_urlsafe(24)}",
        "session_secret": secrets.token_urlsafe(32),
        "encryption_key": generate_key(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
    return values


def _record_url(data_dir: Path, values: dict[str, str], base_url: str) -> None:
    """Keep ``base_url`` in ``sandbox.json``: where a CLI pointed at this folder finds it."""
    if values.get("url") == base_url:
        return
    values["url"] = base_url
    path = data_dir / SANDBOX_FILE
    staged = path.with_name(f".{SANDBOX_FILE}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
    os.replace(staged, path)  # a reader sees the old file or the new one, never half of one


def build_sandbox(data_dir: Path, base_url: str) -> Sandbox:
    """The sandbox for a service reachable at ``base_url``, keeping its state in ``data_dir``."""
    private_dir(data_dir)
    values = _secrets(data_dir)
    _record_url(data_dir, values, base_url)
    emulator = Emulator(
        EmulatorConfig(
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            refresh_token=values["refresh_token"],
            base_url=base_url,
            # Zoho's side of the sandbox (tokens, CRM records, calendar events) is kept next
            # to the service's database, so a restart finds both as they were.
            data=str(data_dir / "emulator.db"),
            # Should emulator.db be deleted while zohokit.db keeps tenants' refresh tokens,
            # adopting them keeps earlier connections working.
            adopt_unknown_refresh_tokens=True,
            # The consent page redirects only to a registered URI: this service's callback.
            redirect_uris=(f"{base_url.rstrip('/')}{CALLBACK_PATH}",),
        )
    )
    settings = ServerSettings(
        # Spelled out below: a ZOHOKIT_SANDBOX in the environment must not send this
        # sandbox to read its own sandbox.json.
        zohokit_sandbox=None,
        zohokit_data_dir=data_dir,
        zohokit_database_url=f"sqlite:///{data_dir / 'zohokit.db'}",
        zohokit_encryption_keys=SecretStr(values["encryption_key"]),
        zohokit_api_keys=SecretStr(values["api_key"]),
        zohokit_session_secret=SecretStr(values["session_secret"]),
        zohokit_public_url=base_url,
        zoho_accounts_url=base_url,
        zoho_api_url=base_url,
        zoho_calendar_url=base_url,
        zoho_client_id=values["client_id"],
        zoho_client_secret=SecretStr(values["client_secret"]),
        zohokit_webhooks_allow_private=True,  # a developer's receiver runs on this machine
    )
    transport = httpx.ASGITransport(app=create_emulator_app(emulator))
    return Sandbox(settings, emulator, transport, values["api_key"])
