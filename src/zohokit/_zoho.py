"""``Zoho``: the one object that wires zohokit together, in the habit of stripe's ``StripeClient``.

A process builds one :class:`Zoho` (from :class:`~zohokit.settings.Settings` at an edge, or
from plain arguments in a library or a test) and asks it for what it needs::

    async with Zoho.from_settings(Settings()) as zoho:
        crm = zoho.crm("acme")                 # ZohoCRMService for tenant "acme"
        calendar = zoho.calendar("acme")       # ZohoCalendarService
        await zoho.bookings.availability(...)  # BookingService
        runs = await zoho.ledger.runs()        # the sync ledger

It owns, and closes on ``aclose()`` / ``async with``, exactly one of each: the database
engine, the accounts client, the :class:`~zohokit.tokens.OAuthTokenService` (what the
server's token broker serves) and the :class:`~zohokit.http.ZohoHTTP` request path, whose
per-tenant in-flight cap is ``max_in_flight`` (``ZOHOKIT_MAX_IN_FLIGHT``). One ``transport``
feeds both the accounts client and the API client, so a test hands it one
``httpx.ASGITransport`` over one emulator app.

The parts are built on first use, never in the constructor: building a :class:`Zoho` reads
no file and opens no connection. The seed's module-level API (``ZohoCRMService()``,
``zohokit.oauth_token_service``, ...) runs on :meth:`Zoho.default`, one root built lazily
from the environment.

It stays one module past 500 lines: it is the one place where every part is wired to the
others, and a part's wiring read beside the rest is what keeps the arrows pointing one way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from . import db as _db
from ._clock import Clock, system_clock
from .budget import Budget, BudgetConfig
from .calendar import CalendarHealth, ZohoCalendarService
from .crm import BulkCallbacks, ZohoCRMService
from .datacenters import DATA_CENTERS, by_code
from .errors import ConfigurationError
from .http import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TIMEOUT,
    CallObserver,
    RetryPolicy,
    ServiceDefaults,
    ZohoHTTP,
)
from .settings import EnvCredentials, Settings
from .tokens import (
    AccountsClient,
    Cipher,
    OAuthTokenService,
    RefreshPolicy,
    ZohoCredentials,
)
from .tokens._crypto import load_or_create_key_file
from .traffic import CallRecorder

if TYPE_CHECKING:
    from .events import Session
    from .jobs import Jobs
    from .notifications import Notifications
    from .scheduling import BookingService
    from .sync import Ledger, SyncSchedules
    from .webhooks import WebhookConfig, Webhooks

__all__ = ["Zoho", "seed_attribute", "seed_default"]

T = TypeVar("T")


class _Lazy(Generic[T]):
    """A value built by ``build`` on first :meth:`get`, once, even from several threads.

    The one lazy-default helper behind the seed's module-level names: importing zohokit
    builds nothing; the first look-up builds, later ones share.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def peek(self) -> T | None:
        """The value if it was built, else ``None`` (builds nothing)."""
        return self._value

    def get(self) -> T:
        """The value, built now if this is the first call."""
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._build()
        return value


@dataclass
class _Parts:
    accounts: AccountsClient
    tokens: OAuthTokenService
    http: ZohoHTTP
    cipher: Cipher
    budget: Budget | None
    history: CallRecorder


def _fixed_credentials(
    given: ZohoCredentials | Mapping[str, Any] | None,
) -> Callable[[str], EnvCredentials] | None:
    creds = ZohoCredentials.coerce(given)
    if creds is None:
        return None
    fixed = EnvCredentials(creds.client_id, creds.client_secret, creds.refresh_token)
    return lambda _provider: fixed


def _secret(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class Zoho:
    """zohokit's composition root: one engine, one token service, one request path.

    Built from plain arguments (a library, a test) or with :meth:`from_settings` (the CLI,
    the server, the seed's defaults). Give ``database_url`` or ``engine`` (an engine passed
    in stays yours to dispose), and ``encryption_keys`` (``[kid:]base64key`` list; the first
    encrypts) or ``data_dir`` to keep a generated key in. ``credentials`` is the OAuth client
    (and optionally refresh token) a tenant with no stored row falls back to, as the
    ``ZOHO_*`` variables are for :meth:`from_settings`; ``env_credentials`` gives them per
    provider instead.

    ``accounts_url``, ``api_url`` and ``calendar_url`` override Zoho's hosts (the emulator, a
    proxy); ``data_center`` (``us``, ``eu``, ...) is where tokens seeded from credentials
    live; ``calendar_id`` is the default calendar. ``max_in_flight`` caps the requests in
    flight per tenant and provider; ``refresh_policy`` holds the token margin, jitter, lease
    and refresh timeout; ``retry`` and ``timeout`` shape the API calls; ``transport``
    replaces the network for both the accounts server and the APIs; ``clock`` (aware
    ``datetime``) is the time of the token service, the bookings and the server;
    ``db_timeouts`` bound every wait on the database (:class:`zohokit.db.Timeouts`);
    ``metrics_tenant_label`` puts the tenant on every Zoho call metric and
    ``tracer_provider`` (OpenTelemetry, with the ``otel`` extra) receives a span per call
    (:class:`zohokit.http.CallObserver`);
    ``webhooks`` shapes webhook delivery (:class:`zohokit.webhooks.WebhookConfig`);
    ``public_url`` is where ``zohokit serve`` answers (``ZOHOKIT_PUBLIC_URL``): the booking
    events' manage links start with it.
    ``budget`` shapes the fleet-wide Zoho budget every CRM call is admitted by
    (:class:`zohokit.budget.BudgetConfig`; ``False``: off).
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        engine: AsyncEngine | None = None,
        encryption_keys: SecretStr | str | None = None,
        data_dir: Path | None = None,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
        env_credentials: Callable[[str], EnvCredentials] | None = None,
        data_center: str = "us",
        accounts_url: str | None = None,
        api_url: str | None = None,
        calendar_url: str | None = None,
        calendar_id: str | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        refresh_policy: RefreshPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = system_clock,
        poll_interval: float = 0.05,
        db_timeouts: _db.Timeouts | None = None,
        metrics_tenant_label: bool = False,
        tracer_provider: Any = None,
        webhooks: WebhookConfig | None = None,
        public_url: str | None = None,
        budget: BudgetConfig | bool = True,
    ) -> None:
        if database_url is None and engine is None:
            raise ConfigurationError(
                "Zoho() needs database_url= (sqlite:///path or postgresql://...) or engine=",
                variables=("ZOHOKIT_DATABASE_URL",),
            )
        if not _secret(encryption_keys) and data_dir is None:
            raise ConfigurationError(
                "Zoho() needs encryption_keys= (make one with zohokit.tokens.generate_key()) "
                "or data_dir= to keep a generated key in",
                variables=("ZOHOKIT_ENCRYPTION_KEYS", "ZOHOKIT_DATA_DIR"),
            )
        if max_in_flight < 1:
            raise ConfigurationError(
                f"max_in_flight must be at least 1, not {max_in_flight}",
                variables=("ZOHOKIT_MAX_IN_FLIGHT",),
            )
        self._database_url = database_url
        self._engine = engine
        self._encryption_keys = _secret(encryption_keys)
        self._data_dir = data_dir
        self._env_credentials = env_credentials or _fixed_credentials(credentials)
        try:
            self.data_center = by_code(data_center)
        except KeyError:
            codes = " ".join(dc.code for dc in DATA_CENTERS)
            raise ConfigurationError(
                f"unknown Zoho data centre {data_center!r}: use one of {codes}",
                variables=("ZOHO_DC",),
            ) from None
        self._accounts_url = accounts_url
        self.defaults = ServiceDefaults(
            env_credentials=self._env_credentials,
            api_url=api_url,
            calendar_url=calendar_url,
            calendar_id=calendar_id,
        )
        self.max_in_flight = max_in_flight
        self.refresh_policy = refresh_policy or RefreshPolicy()
        self._retry = retry
        self._timeout = timeout
        self._transport = transport
        self.clock = clock
        self._poll_interval = poll_interval
        self._db_timeouts = db_timeouts or _db.Timeouts()
        #: Where ``zohokit serve`` answers: the booking events' manage links start with it.
        self.public_url = public_url
        self.observer = CallObserver(
            tenant_label=metrics_tenant_label, tracer_provider=tracer_provider
        )
        if isinstance(budget, bool):
            budget = BudgetConfig(enabled=budget)
        self.budget_config = budget
        # Two stages: the ledger and the migrations need the engine only, and building the
        # token service may create a key file.
        self._db = _Lazy(self._open_engine)
        self._parts = _Lazy(self._build)
        self._migrated = False
        self.calendar_health = CalendarHealth()
        self._bookings: BookingService | None = None
        self._ledger: Ledger | None = None
        self._sync_schedules: SyncSchedules | None = None
        #: Where this root's bulk jobs call back (``zohokit serve`` sets it from
        #: ``ZOHOKIT_PUBLIC_URL``); ``None``: they are polled.
        self.bulk_callbacks: BulkCallbacks | None = None
        self._notifications: Notifications | None = None
        #: ``notifications.on_change`` handlers: kept by the root, so they outlive a close.
        self._change_handlers: list[Any] = []
        self._jobs: Jobs | None = None
        self._webhook_config = webhooks
        self._webhooks: Webhooks | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = system_clock,
        retry: RetryPolicy | None = None,
        webhooks: WebhookConfig | None = None,
    ) -> Zoho:
        """The root the environment describes: ``ZOHOKIT_DATABASE_URL``,
        ``ZOHOKIT_ENCRYPTION_KEYS`` (else a key file in ``ZOHOKIT_DATA_DIR``), the ``ZOHO_*``
        credentials, hosts and data centre, ``ZOHOKIT_MAX_IN_FLIGHT``, the token timings,
        ``ZOHOKIT_METRICS_TENANT_LABEL``, ``ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE`` and the budget
        (``ZOHOKIT_BUDGET*``).
        """
        if webhooks is None and settings.zohokit_webhooks_allow_private:
            from .webhooks import WebhookConfig

            webhooks = WebhookConfig(allow_private=True)
        return cls(
            database_url=settings.database_url(),
            encryption_keys=settings.zohokit_encryption_keys,
            data_dir=settings.zohokit_data_dir,
            env_credentials=settings.env_credentials,
            data_center=settings.zoho_dc,
            accounts_url=settings.zoho_accounts_url,
            api_url=settings.zoho_api_url,
            calendar_url=settings.zoho_calendar_url,
            calendar_id=settings.zoho_calendar_id,
            max_in_flight=settings.zohokit_max_in_flight,
            refresh_policy=RefreshPolicy(
                margin=settings.zohokit_token_margin_seconds,
                jitter=settings.zohokit_token_jitter_seconds,
                ahead=settings.zohokit_token_ahead_seconds,
                lease=settings.zohokit_lease_seconds,
                timeout=settings.zohokit_refresh_timeout_seconds,
            ),
            retry=retry,
            transport=transport,
            clock=clock,
            db_timeouts=_db.Timeouts.from_settings(settings),
            public_url=settings.zohokit_public_url,
            metrics_tenant_label=settings.zohokit_metrics_tenant_label,
            webhooks=webhooks,
            budget=BudgetConfig(
                enabled=settings.zohokit_budget,
                edition=settings.zohokit_budget_edition,
                users=settings.zohokit_budget_users,
                batch_share=settings.zohokit_budget_batch_share,
                lease=settings.zohokit_budget_lease_seconds,
                wait=settings.zohokit_budget_wait_seconds,
            ),
        )

    @classmethod
    def default(cls) -> Zoho:
        """The process-wide root built from ``Settings()`` on first call (never at import).

        The seed's module-level names run on it: ``ZohoCRMService()`` built with no wiring,
        ``zohokit.oauth_token_service``, ``zoho_crm_service`` and ``zoho_calendar_service``.
        It binds to the event loop it is first used on, so use it from one long-running loop;
        anything else (tests, scripts calling ``asyncio.run`` repeatedly) builds its own.
        """
        return _DEFAULT.get()

    def __repr__(self) -> str:
        url = self._engine.url if self._engine is not None else make_url(self._database_url or "")
        shown = url.render_as_string(hide_password=True)
        return f"Zoho(database={shown!r}, max_in_flight={self.max_in_flight})"

    # --- the parts, built on first use ------------------------------------------------------

    def _open_engine(self) -> AsyncEngine:
        return self._engine or _db.create_engine(
            self._database_url or "", timeouts=self._db_timeouts
        )

    def _build(self) -> _Parts:
        spec = self._encryption_keys
        if not spec:
            assert self._data_dir is not None  # checked in __init__
            spec = load_or_create_key_file(self._data_dir)
        accounts = AccountsClient(
            timeout=self.refresh_policy.timeout,
            transport=self._transport,
            watch=self.observer.accounts_call,
        )
        cipher = Cipher.from_spec(spec)
        tokens = OAuthTokenService(
            self.engine,
            cipher=cipher,
            accounts=accounts,
            policy=self.refresh_policy,
            env_credentials=self._env_credentials,
            default_accounts_url=self.data_center.accounts_url,
            accounts_url_override=self._accounts_url,
            clock=self.clock,
            poll_interval=self._poll_interval,
            storage_timeout=self._db_timeouts.statement,
            migrate=not self._migrated,
            owns_engine=False,  # the root disposes of it, after everything that uses it
        )
        budget = None
        if self.budget_config.enabled:
            budget = Budget(
                self.engine,
                config=self.budget_config,
                clock=self.clock,
                statement_timeout=self._db_timeouts.statement,
            )
        # Every attempt of this process lands in the database's call history (per hour).
        history = CallRecorder(
            self.engine, clock=self.clock, statement_timeout=self._db_timeouts.statement
        )
        self.observer.history = history
        http = ZohoHTTP(
            tokens,
            max_in_flight=self.max_in_flight,
            retry=self._retry,
            timeout=self._timeout,
            transport=self._transport,
            observer=self.observer,
            budget=budget,
        )
        return _Parts(accounts, tokens, http, cipher, budget, history)

    @property
    def engine(self) -> AsyncEngine:
        """The database engine (tokens, bookings, the sync ledger, the server's tables)."""
        return self._db.get()

    @property
    def accounts(self) -> AccountsClient:
        """The client of Zoho's accounts servers (the token service's own)."""
        return self._parts.get().accounts

    @property
    def tokens(self) -> OAuthTokenService:
        """The token service: every access token, and what the server's token broker serves."""
        return self._parts.get().tokens

    @property
    def cipher(self) -> Cipher:
        """The encryption keys at rest (the token keys): tokens, the connect flow's PKCE
        verifier and booking customers' personal data are sealed with them."""
        return self._parts.get().cipher

    @property
    def http(self) -> ZohoHTTP:
        """The request path every CRM and Calendar call of this root goes through."""
        return self._parts.get().http

    @property
    def call_history(self) -> CallRecorder:
        """This process's counts of Zoho calls, written to the database's per-hour history
        every few seconds and on ``aclose()`` (``await zoho.call_history.flush()`` writes
        them now); read it with :func:`zohokit.traffic.calls_by_hour`."""
        return self._parts.get().history

    @property
    def budget(self) -> Budget | None:
        """The fleet-wide Zoho budget (``None`` when turned off): its state, its limits."""
        return self._parts.get().budget

    async def read_edition(self, tenant: str = "default") -> None:
        """Size ``tenant``'s budget from its Zoho org (``GET /org``: edition and user
        licences), stored for the fleet; nothing to do when the budget is off."""
        budget = self.budget
        if budget is not None:
            answer = await self.http.request(tenant, "zoho_crm", "GET", "/crm/v8/org")
            await budget.learn_org(tenant, answer.body)

    # --- what it hands out ------------------------------------------------------------------

    def crm(
        self,
        tenant: str = "default",
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
    ) -> ZohoCRMService:
        """Zoho CRM for ``tenant``; ``credentials`` only matter for a tenant with no stored
        connection (they seed it, as the environment's do)."""
        service = ZohoCRMService(credentials, tenant, http=self.http, defaults=self.defaults)
        service.bulk_callbacks = self.bulk_callbacks
        return service

    def calendar(
        self,
        tenant: str = "default",
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
        *,
        calendar_id: str | None = None,
    ) -> ZohoCalendarService:
        """Zoho Calendar for ``tenant`` on ``calendar_id`` (else the credentials' or the
        root's default calendar)."""
        return ZohoCalendarService(
            credentials,
            tenant,
            calendar_id=calendar_id,
            health=self.calendar_health,
            http=self.http,
            defaults=self.defaults,
        )

    @property
    def bookings(self) -> BookingService:
        """The booking flow on this root's database and Zoho services (built once)."""
        if self._bookings is None:
            from .scheduling import BookingService

            self._bookings = BookingService(
                self.engine,
                cipher=self.cipher,
                calendar_for=lambda tenant: self.calendar(tenant),
                crm_for=lambda tenant: self.crm(tenant),
                clock=self.clock,
                calendar_health=self.calendar_health,
                public_url=self.public_url,
            )
        return self._bookings

    async def rotate_encryption_key(self) -> int:
        """Re-encrypt everything sealed with the token keys (tokens, booking customers,
        notification channels' tokens) with the primary key; returns the rows changed. Run it
        after putting a new key first in ``ZOHOKIT_ENCRYPTION_KEYS`` (old keys still listed);
        then the old keys can go."""
        await self.migrate()
        tokens = await self.tokens.rotate_encryption_key()
        customers = await self.bookings.customers.reseal()
        return tokens + customers + await self.notifications.reseal()

    @property
    def ledger(self) -> Ledger:
        """The sync ledger on this root's database (built once)."""
        if self._ledger is None:
            from .sync import Ledger

            self._ledger = Ledger(self.engine, clock=self.clock)
        return self._ledger

    @property
    def sync_schedules(self) -> SyncSchedules:
        """Scheduled pushes and pulls, run by the worker (built once). See ``docs/sync.md``."""
        if self._sync_schedules is None:
            from .sync import SyncSchedules

            self._sync_schedules = SyncSchedules(
                self.engine,
                ledger=self.ledger,
                crm_for=lambda tenant: self.crm(tenant),
                tokens=self.tokens,
                jobs=self.jobs,
                clock=self.clock,
                migrate=self.migrate,
                timeouts=self.db_timeouts,
            )
        return self._sync_schedules

    @property
    def webhooks(self) -> Webhooks:
        """Webhook endpoints, the delivery log and delivery rounds (built once)."""
        if self._webhooks is None:
            from .webhooks import Webhooks

            self._webhooks = Webhooks(
                self.engine, cipher=self.cipher, config=self._webhook_config, clock=self.clock
            )
        return self._webhooks

    async def emit(
        self,
        type: str,
        tenant: str,
        data: Mapping[str, Any],
        *,
        session: Session | None = None,
    ) -> str:
        """Write an event to the outbox at this root's time; returns its id (``msg_...``).
        Pass your open transaction as ``session`` (a connection or ORM session on this
        engine) to commit the event with your change (:func:`zohokit.events.emit`)."""
        from .events import emit

        if session is not None:
            return await emit(session, type, tenant, data, now=self.clock())
        await self.migrate()
        async with self.engine.begin() as conn:
            return await emit(conn, type, tenant, data, now=self.clock())

    @property
    def notifications(self) -> Notifications:
        """Zoho CRM notification channels, their inbox and the reconcile pull, with the
        handlers of record changes (built once). See :mod:`zohokit.notifications`."""
        if self._notifications is None:
            from .notifications import Notifications

            self._notifications = Notifications(
                self.engine,
                cipher=self.cipher,
                ledger=self.ledger,
                crm_for=lambda tenant: self.crm(tenant),
                clock=self.clock,
                migrate=self.migrate,
                handlers=self._change_handlers,
            )
        return self._notifications

    @property
    def jobs(self) -> Jobs:
        """The job kinds this process knows and the durable job tables (``zohokit worker``
        runs them): ``zoho.jobs.register(...)``, ``await zoho.jobs.schedule(...)``."""
        if self._jobs is None:
            from .jobs import Jobs

            self._jobs = Jobs(self)
        return self._jobs

    @property
    def db_timeouts(self) -> _db.Timeouts:
        """The bounds on every wait for the database."""
        return self._db_timeouts

    # --- life cycle -------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Bring the database to the latest migration, once (``async with`` does it). One
        chain holds every table: tokens, bookings, the ledger, the server's."""
        if not self._migrated:
            await _db.upgrade_async(self.engine)
            self._migrated = True

    async def __aenter__(self) -> Zoho:
        await self.migrate()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the API connections, the accounts client and the engine (if this root made
        it). Nothing was built yet: nothing to close."""
        if self._notifications is not None:
            await self._notifications.aclose()  # its handlers stay with the root
            self._notifications = None
        parts, engine = self._parts.peek(), self._db.peek()
        self._parts, self._db = _Lazy(self._build), _Lazy(self._open_engine)
        # Everything built on the engine is built again on the next one.
        self._bookings = self._ledger = self._sync_schedules = None
        if self._jobs is not None:
            self._jobs._store = None  # the kinds stay registered; the engine is new
        if self._webhooks is not None:
            await self._webhooks.aclose()
            self._webhooks = None
        self._migrated = False
        if parts is not None:
            await parts.http.aclose()
            await parts.tokens.close()  # and with it the accounts client
            await parts.history.aclose()  # the counts not written yet
        if engine is not None and self._engine is None:
            await engine.dispose()


def _default_root() -> Zoho:
    return Zoho.from_settings(Settings())


_DEFAULT: _Lazy[Zoho] = _Lazy(_default_root)
#: The seed's module-level names, each built on first look-up; all run on ``_DEFAULT``.
_SEED: dict[str, _Lazy[Any]] = {
    "oauth_token_service": _Lazy(lambda: _DEFAULT.get().tokens),
    "zoho_crm_service": _Lazy(ZohoCRMService),
    "zoho_calendar_service": _Lazy(ZohoCalendarService),
}


#: Which package offers which of the seed's names (the root package offers them all).
_SEED_HOMES = {
    "zohokit.tokens": "oauth_token_service",
    "zohokit.crm": "zoho_crm_service",
    "zohokit.calendar": "zoho_calendar_service",
}


def seed_attribute(module: str, name: str) -> Any:
    """A package's PEP 562 ``__getattr__``: its seed name, or the ``AttributeError`` Python
    would raise."""
    if _SEED_HOMES.get(module) == name:
        return seed_default(name)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


def seed_default(name: str) -> Any:
    """The seed's module-level ``name`` (``oauth_token_service``, ``zoho_crm_service``,
    ``zoho_calendar_service``), built on first call; ``AttributeError`` for anything else,
    so a module's ``__getattr__`` can hand its look-ups straight here."""
    lazy = _SEED.get(name)
    if lazy is None:
        raise AttributeError(name)
    return lazy.get()
