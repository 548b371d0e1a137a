"""The two errors of the availability engine.

::

    ZohoError                    (zohokit.errors)
    ├── InvalidSchedule          a schedule breaks a rule; ``key`` names the entry
    └── FreeBusyUnavailable      busy time could not be read: offer no slot (fail closed)

``InvalidSchedule`` is also a ``ValueError`` so that code which validates user input with
``except ValueError`` keeps working.
"""

from __future__ import annotations

from zohokit.errors import ZohoError

__all__ = ["FreeBusyUnavailable", "InvalidSchedule"]


class InvalidSchedule(ZohoError, ValueError):
    """A schedule is invalid. ``key`` is the dotted path of the offending entry.

    For example ``weekly_hours.monday[1]`` for the second block of Monday, or
    ``overrides.2024-12-24`` for one date override. The message says what is wrong with it.
    """

    def __init__(self, key: str, problem: str, *, tenant: str | None = None) -> None:
        super().__init__(f"schedule key {key!r}: {problem}", tenant=tenant)
        self.key = key
        self.problem = problem


class FreeBusyUnavailable(ZohoError):
    """Zoho free/busy could not be read, so availability cannot be computed.

    The calendar layer raises this instead of treating a failed or unreadable free/busy
    answer as "no busy time": offering slots that may be taken is worse than offering none.
    ``reason`` is a short machine-readable cause (``"http_error"``, ``"malformed"``,
    ``"timeout"``, ...); the original exception is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        tenant: str | None = None,
        provider: str | None = "zoho_calendar",
    ) -> None:
        super().__init__(message, tenant=tenant, provider=provider)
        self.reason = reason
