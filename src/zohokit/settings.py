"""One :class:`Settings` object read from the environment, for the service, the CLI and the
module-level defaults. Library classes never read the environment themselves.

The Zoho names are the seed's (``ZOHO_CLIENT_ID``, ``ZOHO_CRM_CLIENT_ID``, ...); zohokit's own
knobs start with ``ZOHOKIT_``. Secrets are :class:`~pydantic.SecretStr`, so printing a
``Settings`` never shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .datacenters import by_code
from .errors import ConfigurationError

__all__ = [
    "CALLBACK_PATH",
    "DEFAULT_SCOPES",
    "ENV_NAMES",
    "PROVIDERS",
    "SANDBOX_FILE",
    "EnvCredentials",
    "LogSettings",
    "Provider",
    "Settings",
    "read_sandbox",
    "to_async_url",
]

#: The path of ``zohokit serve``'s OAuth callback: the redirect URI to register with Zoho is
#: the service's public URL plus this.
CALLBACK_PATH = "/oauth/zoho/callback"

#: What zohokit asks Zoho for, per provider: enough for its CRM and Calendar services (records,
#: field metadata, users, the org, COQL, notification channels; calendars, events, free/busy).
#: ``ZOHOKIT_SCOPES`` replaces them.
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "zoho_crm": (
        "ZohoCRM.modules.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.users.READ",
        "ZohoCRM.org.READ",
        "ZohoCRM.coql.READ",
        "ZohoCRM.notifications.ALL",
    ),
    "zoho_calendar": (
        "ZohoCalendar.calendar.ALL",
        "ZohoCalendar.event.ALL",
        "ZohoCalendar.freebusy.READ",
    ),
}
#: The service prefix of each provider's scopes (``ZohoCRM.modules.ALL``).
_SCOPE_SERVICE = {"zoho_crm": "zohocrm.", "zoho_calendar": "zohocalendar."}

#: The file in a sandbox folder that holds its secrets and the URL it was last served at.
SANDBOX_FILE = "sandbox.json"

Provider = Literal["zoho_crm", "zoho_calendar"]
PROVIDERS: tuple[Provider, ...] = ("zoho_crm", "zoho_calendar")

#: For each provider, the variables read for (client id, client secret, refresh token), in the
#: seed's precedence: the generic ``ZOHO_*`` first, then the provider's own one.
ENV_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "zoho_crm": {
        "client_id": ("ZOHO_CLIENT_ID", "ZOHO_CRM_CLIENT_ID"),
        "client_secret": ("ZOHO_CLIENT_SECRET", "ZOHO_CRM_CLIENT_SECRET"),
        "refresh_token": ("ZOHO_REFRESH_TOKEN", "ZOHO_CRM_REFRESH_TOKEN"),
    },
    "zoho_calendar": {
        "client_id": ("ZOHO_CLIENT_ID", "ZOHO_CALENDAR_CLIENT_ID"),
        "client_secret": ("ZOHO_CLIENT_SECRET", "ZOHO_CALENDAR_CLIENT_SECRET"),
        "refresh_token": ("ZOHO_REFRESH_TOKEN", "ZOHO_CALENDAR_REFRESH_TOKEN"),
    },
}


@dataclass(frozen=True, slots=True)
class EnvCredentials:
    """What the environment holds for one provider; any part may be missing."""

    client_id: str | None
    client_secret: str | None = None
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return f"EnvCredentials(client_id={self.client_id!r}, client_secret=***, refresh_token=***)"


def to_async_url(url: str) -> str:
    """Map a plain database URL to zohokit's async driver (aiosqlite or asyncpg).

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``; ``postgresql://`` and
    ``postgres://`` become ``postgresql+asyncpg://``, with libpq's ``sslmode=`` renamed to
    asyncpg's ``ssl=`` (asyncpg refuses ``sslmode``). URLs that already name a driver are kept.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("a database URL looks like sqlite:///path or postgresql://host/db")
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in {"postgresql", "postgres"}:
        base, qmark, query = rest.partition("?")
        if qmark:
            params = [
                f"ssl={part[len('sslmode=') :]}" if part.startswith("sslmode=") else part
                for part in query.split("&")
            ]
            rest = f"{base}?{'&'.join(params)}"
        return f"postgresql+asyncpg://{rest}"
    return url


def read_sandbox(folder: Path) -> dict[str, str]:
    """What ``zohokit serve --sandbox`` keeps in ``folder/sandbox.json``: its OAuth client,
    encryption key and API key, and ``url``, where it was last served."""
    path = folder / SANDBOX_FILE
    try:
        values: dict[str, str] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigurationError(
            f"ZOHOKIT_SANDBOX={folder} holds no {SANDBOX_FILE}: start the sandbox with "
            f"`zohokit serve --sandbox --data-dir {folder}` (make run), or unset ZOHOKIT_SANDBOX",
            variables=("ZOHOKIT_SANDBOX",),
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read {path}: {exc.__class__.__name__}; it is written by "
            "`zohokit serve --sandbox`",
            variables=("ZOHOKIT_SANDBOX",),
        ) from None
    return values


class LogSettings(BaseSettings):
    """How zohokit logs (:func:`zohokit.logs.configure_logging`): the part of
    :class:`Settings` every CLI command reads first, whatever else is set or broken."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    #: ``text`` (the default: zohokit configures no logging) or ``json``: one JSON object per
    #: line on stderr, with each record's fields (tenant, operation, Zoho's request id, ...)
    #: and secrets redacted. ``zohokit serve``, ``worker`` and every CLI command apply it.
    zohokit_log_format: Literal["text", "json"] = "text"
    #: The level of the JSON log (one line per Zoho call at ``INFO``).
    zohokit_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(LogSettings):
    """Configuration from the environment (and a ``.env`` file when present)."""

    # The seed's names. Client ids are not secret; client secrets and refresh tokens are.
    zoho_client_id: str | None = None
    zoho_client_secret: SecretStr | None = None
    zoho_refresh_token: SecretStr | None = None
    zoho_crm_client_id: str | None = None
    zoho_crm_client_secret: SecretStr | None = None
    zoho_crm_refresh_token: SecretStr | None = None
    zoho_calendar_client_id: str | None = None
    zoho_calendar_client_secret: SecretStr | None = None
    zoho_calendar_refresh_token: SecretStr | None = None
    zoho_calendar_id: str | None = None

    #: Data centre of tokens seeded from the environment (``us``, ``eu``, ``in``, ...).
    zoho_dc: str = "us"
    #: Overrides every accounts host (the emulator, or an egress proxy).
    zoho_accounts_url: str | None = None
    #: Overrides the CRM ``api_domain`` and the Calendar host.
    zoho_api_url: str | None = None
    zoho_calendar_url: str | None = None

    zohokit_data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("zohokit"))
    )
    zohokit_database_url: str | None = None
    #: Comma-separated ``[kid:]base64key`` list; the first encrypts, all decrypt.
    zohokit_encryption_keys: SecretStr | None = None

    #: Refresh this long before expiry, plus a per-tenant jitter of up to ``jitter`` seconds.
    zohokit_token_margin_seconds: float = 300.0
    zohokit_token_jitter_seconds: float = 120.0
    #: How far before the callers' moment the worker refreshes, spread per tenant.
    zohokit_token_ahead_seconds: float = 600.0
    #: How long a refresh lease is held at most; a dead holder loses it after this.
    zohokit_lease_seconds: float = 15.0
    #: Timeout of each call to the accounts server; kept below the lease.
    zohokit_refresh_timeout_seconds: float = 10.0
    #: Zoho requests one process keeps in flight per tenant and provider. Zoho's concurrency
    #: limit is per organisation (10 for heavy APIs in every edition): with several
    #: processes, give each a share of it.
    zohokit_max_in_flight: int = Field(default=10, ge=1, le=100)
    #: The URL browsers (and Zoho's notifications) reach ``zohokit serve`` at
    #: (``https://zoho.example.com``). The OAuth redirect URI registered with Zoho is this URL
    #: plus ``/oauth/zoho/callback``; a notification channel's ``notify_url`` is it plus
    #: ``/zoho/notifications``. Without it the service uses the URL of each request, which is
    #: only right when no proxy rewrites the host.
    zohokit_public_url: str | None = None
    #: Seconds to wait for the database: to open a connection, for each statement (on the
    #: token path: for each of its database steps), and for a free pooled connection.
    zohokit_db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    zohokit_db_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    zohokit_db_pool_timeout_seconds: float = Field(default=5.0, gt=0)

    #: The fleet-wide Zoho budget (``docs/budget.md``): off, each process keeps only
    #: ``ZOHOKIT_MAX_IN_FLIGHT``.
    zohokit_budget: bool = True
    #: The edition (and user licences) of a tenant whose edition nobody read or set yet.
    zohokit_budget_edition: str = "standard"
    zohokit_budget_users: int = Field(default=0, ge=0)
    #: The share of each org's slots and daily credits batch work (sync, bulk) may use.
    zohokit_budget_batch_share: float = Field(default=0.8, gt=0, lt=1)
    #: How long a slot grant lasts unrenewed: a killed process's slots are back after this.
    zohokit_budget_lease_seconds: float = Field(default=10.0, gt=0)
    #: How long a call waits for a slot (or a Zoho pause) before ``RateLimited``.
    zohokit_budget_wait_seconds: float = Field(default=60.0, ge=0)

    #: Comma-separated OAuth scopes to ask for and to require at connect time, for both
    #: providers (each takes the ones of its service: ``ZohoCRM.*``, ``ZohoCalendar.*``; a
    #: provider with none listed keeps :data:`DEFAULT_SCOPES`).
    zohokit_scopes: str | None = None

    #: Put the tenant on every Zoho call metric. Off by default: tenants can number in the
    #: thousands, and each would multiply every series. Log lines and spans always carry it.
    zohokit_metrics_tenant_label: bool = False
    #: Let webhook endpoints be loopback or private addresses (on in the sandbox): off, a
    #: webhook URL cannot make the service probe its own network.
    zohokit_webhooks_allow_private: bool = False

    #: A sandbox folder (``zohokit serve --sandbox``, ``make run``). When set, the sandbox
    #: decides the data folder, the database, the encryption key, the OAuth client and the
    #: Zoho hosts (its emulator, at the URL it was last served at), whatever else is set:
    #: ``export ZOHOKIT_SANDBOX=...`` (``make run`` prints it) is the one line the CLI and
    #: the library's defaults need to work against the sandbox.
    zohokit_sandbox: Path | None = None

    @model_validator(mode="after")
    def _use_sandbox(self) -> Settings:
        # One key only: the sandbox's own, never a second key file written beside it.
        folder = self.zohokit_sandbox
        if folder is None:
            return self
        values = read_sandbox(folder)
        url = values.get("url")
        if not url:
            raise ConfigurationError(
                f"the sandbox in {folder} was never served: start it with "
                f"`zohokit serve --sandbox --data-dir {folder}`",
                variables=("ZOHOKIT_SANDBOX",),
            )
        self.zohokit_data_dir = folder
        self.zohokit_database_url = f"sqlite:///{folder / 'zohokit.db'}"
        self.zohokit_encryption_keys = SecretStr(values["encryption_key"])
        self.zoho_accounts_url = self.zoho_api_url = self.zoho_calendar_url = url
        self.zoho_client_id = values["client_id"]
        self.zoho_client_secret = SecretStr(values["client_secret"])
        self.zohokit_webhooks_allow_private = True  # the sandbox's receivers are local
        return self

    def database_url(self) -> str:
        """The async SQLAlchemy URL: ``ZOHOKIT_DATABASE_URL`` or a SQLite file in the data dir."""
        if self.zohokit_database_url:
            return to_async_url(self.zohokit_database_url)
        return f"sqlite+aiosqlite:///{self.zohokit_data_dir / 'zohokit.db'}"

    def scopes(self, provider: str) -> tuple[str, ...]:
        """The scopes to ask for (and require) for ``provider``: ``ZOHOKIT_SCOPES``' ones of
        its service, else its :data:`DEFAULT_SCOPES`."""
        if provider not in DEFAULT_SCOPES:
            raise ValueError(f"unknown provider {provider!r}; use one of {PROVIDERS}")
        if not self.zohokit_scopes:
            return DEFAULT_SCOPES[provider]
        given = [part.strip() for part in self.zohokit_scopes.split(",") if part.strip()]
        mine = tuple(s for s in given if s.lower().startswith(_SCOPE_SERVICE[provider]))
        # A list naming only CRM scopes leaves Calendar at its defaults, and the reverse.
        return mine or DEFAULT_SCOPES[provider]

    def accounts_url(self) -> str:
        """The accounts server for tokens seeded from the environment."""
        return (self.zoho_accounts_url or by_code(self.zoho_dc).accounts_url).rstrip("/")

    def env_credentials(self, provider: str) -> EnvCredentials:
        """The credentials the environment holds for ``provider``, generic names first."""
        if provider not in ENV_NAMES:
            raise ValueError(f"unknown provider {provider!r}; use one of {PROVIDERS}")

        def pick(part: str) -> str | None:
            generic = getattr(self, f"zoho_{part}")
            specific = getattr(self, f"{provider}_{part}")  # zoho_crm_client_id, ...
            for value in (generic, specific):
                plain = value.get_secret_value() if isinstance(value, SecretStr) else value
                if plain:
                    return str(plain)
            return None

        return EnvCredentials(pick("client_id"), pick("client_secret"), pick("refresh_token"))
