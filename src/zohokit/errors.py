"""Every error zohokit raises, in one tree rooted at :class:`ZohoError`.

::

    ZohoError                        anything zohokit raises on purpose
    ├── ConfigurationError           a setting is missing or wrong; names the variables to set
    ├── TokenError                   an access token could not be obtained
    │   ├── NeedsReauthorization     Zoho rejected the refresh token or client: connect again
    │   │   └── MissingScopes        a new grant lacks scopes zohokit needs; ``missing`` names them
    │   ├── TokenRevoked             the tenant's tokens were revoked on purpose
    │   ├── TokenRefreshThrottled    Zoho said "Access Denied": wait ``retry_after`` seconds
    │   ├── TokenRefreshFailed       network error, timeout or 5xx; ``retry_after`` when backing off
    │   └── UntrustedAccountsServer  a callback named an accounts server that is not Zoho's
    ├── ZohoAPIError                 Zoho answered an API call with an error (status, code, ...)
    │   ├── BadRequest               400: the request is malformed (``INVALID_DATA``, ...)
    │   ├── AuthenticationError      401: the token is invalid or expired
    │   ├── PermissionDenied         403, or 401 OAUTH_SCOPE_MISMATCH: not allowed for this token
    │   ├── NotFound                 404 (or Zoho's equivalent)
    │   ├── Conflict                 409: the change clashes with the record's current state
    │   ├── PreconditionFailed       412: the record or event changed since it was read
    │   ├── RateLimited              429: credits or concurrency; ``retry_after`` when known
    │   ├── ServerError              5xx or a non-JSON gateway page
    │   ├── RecordError              one record of a bulk call failed (``code``, ``details``)
    │   └── BulkJobFailed            a Bulk Read / Bulk Write job failed, timed out, or its
    │                                result file could not be read; ``job_id`` names the job
    ├── TransportError               the request never got an answer (connect/read timeout, DNS)
    ├── WriteRefused                 zohokit refused a write before sending it: nothing reached Zoho
    │   ├── UnknownModule            the org has no such module; ``suggestion`` is the closest
    │   ├── UnknownField             the module has no such field; ``suggestion`` is the closest
    │   └── InvalidRecords           values that do not fit their field: ``problems``
    │                                (row, field, expected, got)
    ├── StorageUnavailable           the database cannot be reached or did not answer in time
    ├── BudgetExhausted              batch work reached its share of the org's Zoho credits
    │                                today: nothing was sent; rerun after ``resets_at``
    │
    │   defined beside the code that raises them:
    ├── tokens.DecryptionError       (a ConfigurationError) no configured key opens a stored secret
    ├── crm.FileTooLarge             (a WriteRefused) a file over Zoho's 20 MB, refused unsent
    ├── crm.CompositeRefused         (a WriteRefused) a composite Zoho would refuse, unsent
    │   └── TooManySubRequests       more than five sub-requests; ``count`` says how many
    ├── crm.LeadAlreadyConverted     (a BadRequest) Zoho's ID_ALREADY_CONVERTED
    ├── availability.InvalidSchedule a schedule breaks a rule; names the key (also a ValueError)
    ├── availability.UnknownTimeZone not an IANA time zone name (also a ValueError)
    ├── availability.FreeBusyUnavailable  busy time could not be read: no slot is offered
    ├── sync.MappingError            a mapping cannot be used; names the key (also a ValueError)
    ├── sync.SourceError             a row cannot be read; names file and line (also a ValueError)
    │   sync.InvalidSyncSchedule     (a sync.MappingError) a schedule cannot be stored: bad
    │                                interval, name, tenant, source or output; says what to fix
    ├── sync.TenantGuardLost         a scheduled run lost its tenant's guard and was stopped
    ├── events.InvalidEvent          an event type or its data cannot be written (also a ValueError)
    ├── notifications.InvalidNotification  a body posted as a notification is not one (a ValueError)
    ├── notifications.NotificationRefused  unknown or disabled channel, or the wrong token
    └── scheduling.BookingError      the booking flow refused
        ├── SlotTaken                someone else booked or holds the slot
        ├── SlotNotOffered           the schedule does not offer that start
        ├── BookingNotFound, ScheduleNotFound
        ├── HoldNotFound             no such hold, or it was used already
        │   └── HoldExpired          the hold ran out before it was confirmed
        └── IdempotencyConflict      the key was used for a different booking

Another 4xx is a plain :class:`ZohoAPIError` with its ``status``; the request path's table is
``zohokit.http.ERRORS_BY_STATUS``. Catch the class, not the status.

Each error carries the ``tenant`` (and the ``provider`` where it applies) so a log line or a
status page can say whose connection is unhealthy. None ever carries a token, a refresh token
or a client secret: messages are built from codes and names only. Subclass the nearest node
to add a provider-specific error (for example a Calendar ``EtagMismatch(ZohoAPIError)``);
its ``__init__`` takes its own keywords and passes the rest on as ``**where: Unpack[Where]``
(``**answer: Unpack[ZohoAnswer]`` under :class:`ZohoAPIError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "BlockingCallError",
    "BudgetExhausted",
    "BulkJobFailed",
    "ConfigurationError",
    "Conflict",
    "InvalidRecords",
    "MissingScopes",
    "NeedsReauthorization",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RateLimited",
    "RecordError",
    "ServerError",
    "StorageUnavailable",
    "TokenError",
    "TokenRefreshFailed",
    "TokenRefreshThrottled",
    "TokenRevoked",
    "TransportError",
    "UnknownField",
    "UnknownModule",
    "UntrustedAccountsServer",
    "Where",
    "WriteRefused",
    "ZohoAPIError",
    "ZohoAnswer",
    "ZohoError",
]


class Where(TypedDict, total=False):
    """Whose connection an error is about: the keywords every error of the tree takes
    (``tenant``, ``provider``), so a subclass adds only its own (``**where: Unpack[Where]``)."""

    tenant: str | None
    provider: str | None


class ZohoAnswer(Where, total=False):
    """What Zoho's error answer said: the keywords every :class:`ZohoAPIError` takes."""

    status: int | None
    code: str | None
    details: dict[str, Any] | None
    request_id: str | None


class ZohoError(Exception):
    """The root of every error zohokit raises on purpose.

    ``tenant`` is whose Zoho connection was involved (``None`` when no tenant applies) and
    ``provider`` is ``"zoho_crm"`` or ``"zoho_calendar"`` when it matters.
    """

    def __init__(
        self, message: str, *, tenant: str | None = None, provider: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.tenant = tenant
        self.provider = provider

    def __str__(self) -> str:
        where = [f"{k}={v}" for k, v in (("tenant", self.tenant), ("provider", self.provider)) if v]
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, tenant={self.tenant!r})"


class ConfigurationError(ZohoError):
    """A setting is missing or invalid. ``variables`` lists the environment names to set."""

    def __init__(
        self, message: str, *, variables: tuple[str, ...] = (), **where: Unpack[Where]
    ) -> None:
        super().__init__(message, **where)
        self.variables = variables


class TokenError(ZohoError):
    """An access token could not be obtained for a tenant."""


class NeedsReauthorization(TokenError):
    """Zoho rejected the refresh token or the OAuth client (``invalid_code``, ``invalid_client``).

    Retrying cannot help: the tenant must connect again (or the environment must be fixed).
    ``reason`` is Zoho's error code, never a secret.
    """

    def __init__(self, message: str, *, reason: str | None = None, **where: Unpack[Where]) -> None:
        super().__init__(message, **where)
        self.reason = reason


class MissingScopes(NeedsReauthorization):
    """A grant (connect flow or Self Client code) lacks scopes zohokit asks for.

    ``missing`` names them; nothing was stored. The fix is a new grant with every scope:
    generate the Self Client code again with them, or connect again (``ZOHOKIT_SCOPES``
    changes what is asked for).
    """

    def __init__(
        self,
        missing: tuple[str, ...],
        **where: Unpack[Where],
    ) -> None:
        names = ", ".join(missing)
        super().__init__(
            f"Zoho granted the connection without {names}: nothing was stored. Grant "
            f"{'it' if len(missing) == 1 else 'them'} again: in the Zoho API console "
            "(api-console.zoho.com) generate the Self Client code with every scope zohokit "
            "asks for, or connect again and accept all of them (`zohokit setup` prints the "
            "list; ZOHOKIT_SCOPES changes it)",
            reason="missing scope",
            **where,
        )
        self.missing = missing


class TokenRevoked(TokenError):
    """The tenant's tokens were revoked through zohokit; connect again to use Zoho."""


class TokenRefreshThrottled(TokenError):
    """Zoho throttled token minting ("Access Denied"); try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, **where: Unpack[Where]) -> None:
        super().__init__(message, **where)
        self.retry_after = retry_after


class TokenRefreshFailed(TokenError):
    """A refresh failed for a transient reason (network, timeout, 5xx, a peer that never finished).

    ``retry_after`` is set while the tenant is backing off, ``None`` otherwise.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, **where: Unpack[Where]
    ) -> None:
        super().__init__(message, **where)
        self.retry_after = retry_after


class StorageUnavailable(ZohoError):
    """The database (tokens, ledger, bookings) could not be reached or did not answer in time.

    Raised ``from`` the driver's error (refused connection, timeout, lost connection); the
    message names the database with its password hidden and what to check. ``url`` is that
    safe form of the database URL.
    """

    def __init__(self, message: str, *, url: str | None = None, **where: Unpack[Where]) -> None:
        super().__init__(message, **where)
        self.url = url


class UntrustedAccountsServer(TokenError):
    """A callback's ``accounts-server`` is neither Zoho's nor the configured override.

    Nothing was sent to it: the code exchange refuses before the client secret leaves.
    The value itself is not in the message (it came from a stranger).
    """


class ZohoAPIError(ZohoError):
    """Zoho answered an API call with an error.

    ``status`` is the HTTP status, ``code`` Zoho's error code (``INVALID_TOKEN``, ...),
    ``details`` Zoho's ``details`` object and ``request_id`` whatever id the answer carried.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        **where: Unpack[Where],
    ) -> None:
        super().__init__(message, **where)
        self.status = status
        self.code = code
        self.details = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        head = " ".join(str(x) for x in (self.status, self.code) if x is not None)
        base = super().__str__()
        return f"[{head}] {base}" if head else base


class BadRequest(ZohoAPIError):
    """400 from Zoho: the request itself is wrong (``INVALID_DATA``, ``SYNTAX_ERROR``, a bad
    parameter); ``code`` and ``details`` say what. Sending it again cannot help."""


class AuthenticationError(ZohoAPIError):
    """401 from Zoho: the token is invalid, expired or evicted (the request path already
    retried once with a fresh token)."""


class PermissionDenied(ZohoAPIError):
    """Zoho refused the call for this token: 403 (the user's profile lacks the permission),
    or 401 ``OAUTH_SCOPE_MISMATCH`` (the grant's scopes do not cover it: connect again with
    the scope, which ``details.required`` may name)."""


class Conflict(ZohoAPIError):
    """409 from Zoho: the change clashes with the current state (a duplicate, a record
    locked by an approval or a blueprint)."""


class RateLimited(ZohoAPIError):
    """429 from Zoho (API credits or concurrency). ``retry_after`` in seconds when known.

    Also raised by zohokit's budget before anything is sent (``status`` ``None``, ``code``
    ``BUDGET_NO_SLOT`` or ``BUDGET_PAUSED``) when a call that may not wait finds no slot
    free for the org, or the org paused after Zoho's ``Retry-After``.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, **answer: Unpack[ZohoAnswer]
    ) -> None:
        super().__init__(message, **answer)
        self.retry_after = retry_after


class NotFound(ZohoAPIError):
    """The URL, module or record does not exist."""


class ServerError(ZohoAPIError):
    """Zoho failed (5xx) or a proxy answered with a non-JSON page; usually transient."""


class RecordError(ZohoAPIError):
    """One record of a bulk write failed; ``code`` and ``details`` are that record's."""


class BulkJobFailed(ZohoAPIError):
    """A Bulk Read or Bulk Write job did not deliver: Zoho marked it failed, it did not finish
    within the wait's timeout, or its result file does not read as Zoho's format. ``job_id``
    is Zoho's id of the job (``None`` when it was never created)."""

    def __init__(
        self, message: str, *, job_id: str | None = None, **answer: Unpack[ZohoAnswer]
    ) -> None:
        super().__init__(message, **answer)
        self.job_id = job_id


class TransportError(ZohoError):
    """The request got no answer: connection refused, DNS failure or timeout."""


class PreconditionFailed(ZohoAPIError):
    """412 from Zoho: the record (``If-Unmodified-Since``) or the Calendar event (its ``etag``)
    changed since it was read. Read it again, then retry the change."""


class BlockingCallError(ZohoError):
    """A :mod:`zohokit.blocking` call that cannot run: made from the blocking root's own loop
    thread (it would wait on itself), or on an iterator whose root was closed since."""


class WriteRefused(ZohoError):
    """zohokit refused a write before sending it (nothing reached Zoho, no credit spent):
    the module, a field or a value would have been rejected. The message says what to fix."""


class UnknownModule(WriteRefused):
    """The org has no module ``module``; ``suggestion`` is the closest real module, if any."""

    def __init__(
        self,
        message: str,
        *,
        module: str = "",
        suggestion: str | None = None,
        **where: Unpack[Where],
    ) -> None:
        super().__init__(message, **where)
        self.module = module
        self.suggestion = suggestion


class UnknownField(WriteRefused):
    """The module has no field ``field``; ``suggestion`` is the closest real field, if any."""

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        suggestion: str | None = None,
        **where: Unpack[Where],
    ) -> None:
        super().__init__(message, **where)
        self.field = field
        self.suggestion = suggestion


class InvalidRecords(WriteRefused):
    """Values that do not fit their fields. ``problems`` lists each as a
    :class:`~zohokit.crm.Problem` (row, field, expected, got)."""

    def __init__(
        self, message: str, *, problems: Sequence[Any] = (), **where: Unpack[Where]
    ) -> None:
        super().__init__(message, **where)
        self.problems = list(problems)


class BudgetExhausted(ZohoError):
    """Batch work (a sync, a bulk job) reached its share of the org's Zoho credits for today.

    Nothing was sent for the call that raised it; the share kept for interactive calls
    (bookings, the broker's users) is untouched. ``used`` of ``allowed`` credits are spent
    (``daily`` in all); the day's count starts again at ``resets_at`` (ISO 8601, UTC). A sync
    stopped by it is resumable: run it again then, and what already synced is skipped.
    """

    def __init__(
        self,
        message: str,
        *,
        used: int,
        allowed: int,
        daily: int,
        resets_at: str,
        **where: Unpack[Where],
    ) -> None:
        super().__init__(message, **where)
        self.used = used
        self.allowed = allowed
        self.daily = daily
        self.resets_at = resets_at
