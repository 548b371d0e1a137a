"""The emulator's shared state: configuration, clock, counters and request authentication.

One :class:`Emulator` object holds everything a running emulator knows. The accounts server,
the CRM and the Calendar routes all receive it; nothing is global, so several emulators can
run in one process (tests do that).

The emulator runs on a single event loop and its handlers never await while they change
state, so no locks are needed: every state change is atomic with respect to other requests.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from ._editions import DEFAULT_EDITION, edition_named
from ._scopes import allows, calendar_need, crm_need

if TYPE_CHECKING:
    from ._accounts import AccessGrant, Accounts
    from ._durable import Journal
    from ._faults import Faults
    from .calendar import CalendarStore
    from .crm import CrmSchema, CrmStore
    from .crm._watch import Watches

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

#: A limit left at this value takes the edition's number (Zoho's published table).
FROM_EDITION = -1

#: Scope granted to the initial refresh token: every CRM and Calendar scope.
ALL_SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.ALL",
    "ZohoCRM.org.ALL",
    "ZohoCRM.coql.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.bulk.ALL",
    "ZohoFiles.files.ALL",
    "ZohoCalendar.calendar.ALL",
    "ZohoCalendar.event.ALL",
    "ZohoCalendar.freebusy.READ",
)


@dataclass
class EmulatorConfig:
    """Everything that shapes an emulator; every Zoho limit is a field so tests can tune it.

    ``client_id``, ``client_secret`` and ``refresh_token`` name the OAuth client that is
    registered at start and the refresh token already granted to it with every scope; left
    as ``None`` they are generated (and the CLI prints them).
    """

    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    base_url: str = "http://127.0.0.1:8765"
    location: str = "us"
    user_email: str = "owner@example.com"
    user_name: str = "Patricia Boyle"
    token_ttl: int = 3600
    latency_ms: float = 0.0
    seed: int = 0
    #: Zoho: at most 10 access tokens per refresh token per 10 minutes, then "Access Denied".
    access_tokens_per_window: int = 10
    access_token_window_seconds: float = 600.0
    #: Zoho: at most 15 live access tokens per refresh token; the 16th evicts the oldest.
    max_live_access_tokens: int = 15
    #: Zoho: at most 20 refresh tokens per user and client; the 21st evicts the oldest.
    max_refresh_tokens: int = 20
    #: Grant codes are single use and expire (Zoho documents 2 to 3 minutes).
    grant_code_ttl_seconds: float = 180.0
    #: HTTP status of the "Access Denied" throttle answer (Zoho has been seen to send 400 and 200).
    throttle_status: int = 400
    #: The org's Zoho CRM edition: what ``/org`` reports, and the source of the three limits
    #: below when they are left at :data:`FROM_EDITION` (see :mod:`._editions`).
    edition: str = DEFAULT_EDITION
    #: User licences of the org (``/org``'s ``users_license_purchased``); credits grow with it.
    licensed_users: int = 10
    #: CRM requests allowed in flight at once before 429 (Zoho's concurrency limit).
    concurrency_limit: int = FROM_EDITION
    #: Heavy CRM requests (COQL) allowed in flight at once before 429 (Zoho: 10).
    heavy_concurrency_limit: int = FROM_EDITION
    #: CRM API credits per day before 429; each CRM call costs what :mod:`._credits` says.
    daily_credits: int = FROM_EDITION
    #: Accept a refresh token this emulator never issued, from a registered client, as if it
    #: had (it is granted every scope). For emulators that restart while their clients keep
    #: tokens in a database, such as sandbox mode. Real Zoho answers ``invalid_code``.
    adopt_unknown_refresh_tokens: bool = False
    #: A schema file with the org's own modules and fields (see :mod:`.crm._schema`).
    schema_file: str | None = None
    #: A SQLite file that keeps the state across restarts (``--data``); ``None``: in memory.
    data: str | None = None

    #: The redirect URIs registered for the client above. The consent page redirects only to
    #: a registered URI, as Zoho does (its API console registers them).
    redirect_uris: tuple[str, ...] = ()
    #: Host names the emulator answers besides this machine's and ``base_url``'s (a name
    #: other containers reach it by, say). Any other ``Host`` is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        edition = edition_named(self.edition)  # ValueError naming the choices
        self.edition = edition.name
        if self.concurrency_limit == FROM_EDITION:
            self.concurrency_limit = edition.concurrency
        if self.heavy_concurrency_limit == FROM_EDITION:
            self.heavy_concurrency_limit = edition.heavy_concurrency
        if self.daily_credits == FROM_EDITION:
            self.daily_credits = edition.daily_credits(self.licensed_users)


class Clock:
    """Wall-clock time that tests can move forward (``POST /_emulator/clock``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, including any offset a test added."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's time forward (or back, with a negative value)."""
        self.offset += seconds

    def utcnow(self) -> datetime:
        """The current emulator time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)


class CreditWindow:
    """CRM credits spent in the last 24 hours, as Zoho counts them: each call's credit is
    freed a day after it was spent. Kept per minute, so the cost per call stays constant."""

    SPAN = 86_400.0

    def __init__(self) -> None:
        self._minutes: deque[list[int]] = deque()  # [minute, credits], oldest first
        self.spent = 0

    def used(self, now: float) -> int:
        """Credits spent in the 24 hours before ``now``."""
        horizon = int((now - self.SPAN) // 60)
        minutes = self._minutes
        while minutes and minutes[0][0] <= horizon:
            self.spent -= minutes.popleft()[1]
        return self.spent

    def spend(self, now: float, credits: int = 1) -> None:
        """Spend ``credits`` (one call's cost) at ``now``."""
        minute = int(now // 60)
        if self._minutes and self._minutes[-1][0] == minute:
            self._minutes[-1][1] += credits
        else:
            self._minutes.append([minute, credits])
        self.spent += credits


@dataclass
class Stats:
    """Counters served by ``GET /_emulator/stats``."""

    counts: Counter[str] = field(default_factory=Counter)
    credits: CreditWindow = field(default_factory=CreditWindow)
    in_flight: int = 0
    heavy_in_flight: int = 0
    max_concurrency_seen: int = 0

    def incr(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name``."""
        self.counts[name] += n

    def snapshot(self) -> dict[str, int]:
        """All counters as a plain dict, with the always-present ones defaulting to 0."""
        out = {
            name: 0
            for name in (
                "token_requests",
                "token_refresh_requests",
                "token_code_requests",
                "token_revoke_requests",
                "token_throttled",
                "access_tokens_minted",
                "access_tokens_evicted",
                "crm_requests",
                "crm_get_requests",
                "crm_write_requests",
                "calendar_requests",
                "accounts_requests",
                "rejected_429",
                "faults_injected",
                "credits_used",
                "notifications_sent",
                "notifications_dropped",
                "notifications_duplicated",
                "notifications_failed",
            )
        }
        out.update(self.counts)
        out["in_flight"] = self.in_flight
        out["credits_in_window"] = self.credits.spent
        out["heavy_in_flight"] = self.heavy_in_flight
        out["max_concurrency_seen"] = self.max_concurrency_seen
        return out


def zoho_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response framed as Zoho frames it (``application/json;charset=UTF-8``)."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(data, status_code=status, headers=headers, media_type=JSON_CONTENT_TYPE)


def zoho_error(
    code: str, message: str, status: int, details: dict[str, Any] | None = None
) -> Response:
    """A request-level Zoho error: ``{"code","details","message","status":"error"}``, unwrapped."""
    return zoho_json(
        {"code": code, "details": details or {}, "message": message, "status": "error"},
        status=status,
    )


def iso(ts: float) -> str:
    """Zoho's date-time format: ISO 8601 with an offset, to the second."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


Service = Literal["crm", "calendar"]


class Emulator:
    """A whole Zoho: accounts server, CRM, Calendar, faults and counters.

    Build it with an :class:`EmulatorConfig`, then serve :func:`zohokit.emulator.create_app`
    of it. Tests may also call its methods directly to seed data or read state.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, schema: CrmSchema | None = None
    ) -> None:
        from ._durable import open_journal, restore
        from .crm import CrmSchema, load_schema

        self.config = config or EmulatorConfig()
        if schema is None:
            file = self.config.schema_file
            schema = load_schema(file) if file else CrmSchema.standard()
        #: The org's modules and fields; it outlives :meth:`reset`, as an org's setup does.
        self.schema: CrmSchema = schema
        self.clock = Clock()
        self.stats = Stats()
        #: Carries notifications to ``notify_url`` in process (an ``httpx`` transport, e.g. an
        #: ``ASGITransport`` of the receiving app); ``None``: over the network, to loopback.
        self.notify_transport: Any = None
        self._request_ids = itertools.count(1)
        self._request_id_prefix = secrets.token_hex(6)
        #: Where state changes are written: nowhere, or the ``data`` file (see ``_durable``).
        self.journal: Journal = open_journal(self, self.config.data)
        saved = self.journal.load()
        identity = saved.get("meta", {}).get("identity")
        if identity:
            # The client and refresh token of the first run, unless given again.
            for key in ("client_id", "client_secret", "refresh_token"):
                if getattr(self.config, key) is None:
                    setattr(self.config, key, identity[key])
        self._build()
        if saved:
            restore(self, saved)
            self.journal.discard()  # the fresh stores' own writes: replaced by the saved ones
            self._keep_identity()
        self.journal.flush()

    def next_request_id(self) -> bytes:
        """The ``X-Request-Id`` of the next answer: unique per emulator, so a log line or an
        error names the one answer it came from (the header the request path reads)."""
        return f"{self._request_id_prefix}{next(self._request_ids):010d}".encode()

    def _keep_identity(self) -> None:
        """A client or refresh token given on this start that the saved state lacks is
        registered (the saved ones stay too)."""
        cfg, accounts = self.config, self.accounts
        # Accounts() filled all three in (generated when not given).
        assert cfg.client_id is not None
        assert cfg.client_secret is not None
        assert cfg.refresh_token is not None
        known = accounts.clients.get(cfg.client_id)
        if known is None or known.client_secret != cfg.client_secret:
            accounts.register_client(cfg.client_id, cfg.client_secret)
        if cfg.refresh_token not in accounts.refresh_tokens:
            accounts.grant_refresh_token(cfg.client_id, cfg.refresh_token)
        identity = {
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "refresh_token": cfg.refresh_token,
        }
        self.journal.changed("meta", "identity", lambda: identity)

    def _build(self) -> None:
        from ._accounts import Accounts
        from ._faults import Faults
        from .calendar import CalendarStore
        from .crm import CrmStore
        from .crm._watch import Watches

        self.faults: Faults = Faults(self.config.seed)
        self.watch: Watches = Watches(self)
        self.accounts: Accounts = Accounts(self)
        self.crm: CrmStore = CrmStore(self)
        self.calendar: CalendarStore = CalendarStore(self)
        cfg = self.config
        identity = {
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "refresh_token": cfg.refresh_token,
        }
        self.journal.changed("meta", "identity", lambda: identity)
        self.journal.changed("meta", "clock", lambda: self.clock.offset)

    def save(self) -> None:
        """Write what changed to the ``data`` file now (requests do it on their own; tests
        that change the emulator through its methods call this before a restart)."""
        self.journal.flush()

    def close(self) -> None:
        """Write what is pending and release the ``data`` file (a no-op in memory)."""
        self.journal.close()

    @property
    def base_url(self) -> str:
        """The URL this emulator is reached at; also the ``api_domain`` of its tokens."""
        return self.config.base_url.rstrip("/")

    def rng(self, stream: str) -> random.Random:
        """A random generator that depends only on the seed and ``stream``: reproducible runs."""
        return random.Random(f"{self.config.seed}:{stream}")

    def reset(self) -> None:
        """Forget every token, record, event, fault and counter, as after a fresh start.

        The configured client and its refresh token are registered again; with a ``data``
        file, it is emptied too.
        """
        self.journal.clear()
        self.clock = Clock()
        self.stats = Stats()
        self._build()
        self.journal.flush()

    def authenticate(self, request: Request, service: Service) -> AccessGrant | Response:
        """Check the request's access token for ``service``.

        Returns the grant behind the token, or the 401 response Zoho would send:
        ``AUTHENTICATION_FAILURE`` without a usable header, ``INVALID_TOKEN`` for an unknown or
        expired token, ``INVALID_OAUTHTOKEN`` for one that was evicted or revoked, and
        ``OAUTH_SCOPE_MISMATCH`` when the token's scopes do not cover the request (see
        :mod:`._scopes`). Calendar also
        accepts ``Bearer`` (real Calendar does); CRM wants ``Zoho-oauthtoken``.
        """
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        schemes = {"zoho-oauthtoken"} if service == "crm" else {"zoho-oauthtoken", "bearer"}
        if scheme.lower() not in schemes or not token:
            return zoho_error("AUTHENTICATION_FAILURE", "Authentication failed", 401)
        grant = self.accounts.access_tokens.get(token)
        if grant is None:
            if token in self.accounts.dead_access_tokens:
                return zoho_error("INVALID_OAUTHTOKEN", "invalid oauth token", 401)
            return zoho_error("INVALID_TOKEN", "invalid oauth token", 401)
        if grant.expires_at <= self.clock.now():
            return zoho_error("INVALID_TOKEN", "invalid oauth token", 401)
        path = request.url.path
        if service == "crm":
            need = crm_need(request.method, path)
            if need.group == "modules" and need.resource:
                mod = self.schema.find(need.resource)
                if mod is not None and mod.generated_type == "custom":
                    # Zoho grants every custom module under one name: ZohoCRM.modules.custom.
                    need = replace(need, resource="custom")
        else:
            need = calendar_need(request.method, path)
        if not allows(grant.scopes, need):
            return zoho_error(
                "OAUTH_SCOPE_MISMATCH",
                "invalid oauth scope to access this URL",
                401,
                {"required": need.describe()},
            )
        # The middleware reads this to add X-ACCESSTOKEN-RESET to the answer.
        request.scope["zohokit.grant"] = grant
        return grant
