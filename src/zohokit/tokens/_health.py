"""A connection's status: one word, decided by one function (:func:`decide_state`).

The words, in the order an operator reads them:

- ``healthy``: the refresh token works and the access token has more than
  :data:`EXPIRING_SECONDS` left (or none was fetched yet);
- ``expiring``: the access token has run out or will within :data:`EXPIRING_SECONDS`, so the
  next call refreshes first (with ``zohokit worker`` refreshing ahead, a connection stays here
  only when refreshes are not keeping up);
- ``cooldown``: Zoho throttled a refresh, or refreshes are backing off after failures, until
  ``cooldown_until``: it heals by itself;
- ``needs_reauth`` (people read "needs re-auth"): Zoho refused the refresh token; connect again;
- ``revoked``: the refresh token was revoked; connect again;
- ``not_connected``: no stored connection at all.

The CLI and the API judge one :class:`~zohokit.tokens.TokenStatus` in Python; the console
filters and counts thousands of rows in SQL. Both run :func:`decide_state`, the one place the
rules and their order are written, over two small sets of operations: :data:`IN_PYTHON` on a
row's values and :func:`state_case` on ``oauth_tokens``'s columns, so the word cannot differ
between the CLI, the API and the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Generic, Literal, TypeVar, cast

from sqlalchemy import ColumnElement, and_, case

from ._store import oauth_tokens

__all__ = [
    "CONNECTION_STATES",
    "EXPIRING_SECONDS",
    "ConnectionState",
    "decide_state",
    "state_case",
    "state_label",
]

#: A connection as people are told about it (``not_connected``: no row at all).
ConnectionState = Literal[
    "healthy", "expiring", "cooldown", "needs_reauth", "revoked", "not_connected"
]
#: Every word, in the order an operator reads them (worst last but one).
CONNECTION_STATES: Final[tuple[ConnectionState, ...]] = (
    "healthy",
    "expiring",
    "cooldown",
    "needs_reauth",
    "revoked",
    "not_connected",
)
#: An access token closer than this to its expiry is ``expiring``.
EXPIRING_SECONDS: Final = 300

#: How a word reads in a sentence or a badge (the JSON and the filters keep the word itself).
_LABELS: Final[dict[str, str]] = {"needs_reauth": "needs re-auth", "not_connected": "not connected"}

B = TypeVar("B")  # a condition: a bool, or a SQL boolean
W = TypeVar("W")  # the decided word: a ConnectionState, or a SQL CASE


class StateOps(Generic[B, W]):
    """The few operations :func:`decide_state` needs, on values or on columns."""

    def equals(self, value: Any, word: str) -> B:
        """``value`` is ``word``."""
        raise NotImplementedError

    def after(self, value: Any, moment: datetime) -> B:
        """``value`` is set and later than ``moment``."""
        raise NotImplementedError

    def not_after(self, value: Any, moment: datetime) -> B:
        """``value`` is set and at or before ``moment``."""
        raise NotImplementedError

    def first(self, rules: Sequence[tuple[B, ConnectionState]], otherwise: ConnectionState) -> W:
        """The word of the first rule that holds, else ``otherwise``."""
        raise NotImplementedError


def decide_state(
    ops: StateOps[B, W], status: Any, cooldown_until: Any, expires_at: Any, now: datetime
) -> W:
    """The status of a stored connection at ``now``: its stored ``status``, its
    ``cooldown_until`` and its access token's ``expires_at`` (values or columns, as ``ops``
    takes them). The rules are tried in order; the first that holds names the word."""
    soon = now + timedelta(seconds=EXPIRING_SECONDS)
    return ops.first(
        [
            (ops.equals(status, "needs_reauth"), "needs_reauth"),
            (ops.equals(status, "revoked"), "revoked"),
            (ops.after(cooldown_until, now), "cooldown"),
            (ops.not_after(expires_at, soon), "expiring"),
        ],
        "healthy",
    )


class _InPython(StateOps[bool, ConnectionState]):
    def equals(self, value: Any, word: str) -> bool:
        return bool(value == word)

    def after(self, value: Any, moment: datetime) -> bool:
        return value is not None and bool(value > moment)

    def not_after(self, value: Any, moment: datetime) -> bool:
        return value is not None and bool(value <= moment)

    def first(
        self, rules: Sequence[tuple[bool, ConnectionState]], otherwise: ConnectionState
    ) -> ConnectionState:
        return next((word for holds, word in rules if holds), otherwise)


class _InSql(StateOps[ColumnElement[bool], ColumnElement[str]]):
    def equals(self, value: Any, word: str) -> ColumnElement[bool]:
        return cast(ColumnElement[bool], value == word)

    def after(self, value: Any, moment: datetime) -> ColumnElement[bool]:
        return and_(value.is_not(None), value > moment)

    def not_after(self, value: Any, moment: datetime) -> ColumnElement[bool]:
        return and_(value.is_not(None), value <= moment)

    def first(
        self, rules: Sequence[tuple[ColumnElement[bool], ConnectionState]], otherwise: str
    ) -> ColumnElement[str]:
        return case(*rules, else_=otherwise)


#: :func:`decide_state`'s operations on a row's values (what :meth:`TokenStatus.state` uses).
IN_PYTHON: Final = _InPython()
_IN_SQL: Final = _InSql()


def state_case(now: datetime) -> ColumnElement[str]:
    """The status of each ``oauth_tokens`` row at ``now``, as a SQL ``CASE`` (to filter and
    count in the database): :func:`decide_state` on the table's columns."""
    t = oauth_tokens.c
    return decide_state(_IN_SQL, t.status, t.cooldown_until, t.expires_at, now)


def state_label(word: str) -> str:
    """How ``word`` reads for people: ``needs_reauth`` is "needs re-auth"."""
    return _LABELS.get(word, word)
