"""What the table descriptions and statements of every part share: the UTC time type, the
columns many tables have alike (``tenant``, ``tenant`` and ``module``, ``id``,
``created_at``/``updated_at``, a lease, an epoch-seconds time), and the small statement
helpers (a dialect's ``INSERT`` for upserts, a listing's optional filters, a row read into a
dataclass and a dataclass as JSON values). Re-exported by :mod:`zohokit.db`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Column, DateTime, Float, Integer, String, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")
Q = TypeVar("Q", bound=Select[Any])

__all__ = [
    "UTCDateTime",
    "dialect_insert",
    "epoch_column",
    "excluded",
    "from_row",
    "json_ready",
    "lease_columns",
    "serial_id",
    "tenant_column",
    "tenant_module",
    "timestamps",
    "utc_column",
    "where_given",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive).

    Every table of zohokit uses it, so that a time read back compares equal to the time
    written whichever database is behind the engine.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (their zone is a guess); store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def tenant_column(length: int = 255, *, primary_key: bool = False) -> Column[str]:
    """The ``tenant`` column that scopes a row to one tenant: required, or (``primary_key``)
    the first part of the key."""
    return Column("tenant", String(length), primary_key=primary_key, nullable=False)


def tenant_module(*, primary_key: bool = False) -> tuple[Column[str], Column[str]]:
    """``tenant`` and ``module`` (a CRM module's API name), both required: the tenant and
    module a sync or notification row is about, or (``primary_key``) the first two parts of
    its key."""
    return tenant_column(primary_key=primary_key), Column(
        "module", String(100), primary_key=primary_key, nullable=False
    )


def utc_column(name: str, *, required: bool = False) -> Column[datetime]:
    """A :class:`UTCDateTime` column named ``name`` (``required``: NOT NULL)."""
    return Column(name, UTCDateTime(), nullable=not required)


def epoch_column(name: str, *, required: bool = False) -> Column[float]:
    """A time as seconds since the epoch (``Float``; ``required``: NOT NULL): for times that
    are compared and added as numbers across hosts (leases, pauses, sessions), with no zone."""
    return Column(name, Float, nullable=not required)


def from_row(cls: type[D], row: Any, **given: Any) -> D:
    """The dataclass ``cls`` built from ``row`` (a selected row, or another dataclass): each
    field not ``given`` takes the row's value of the same name."""
    copied = {f.name: getattr(row, f.name) for f in fields(cls) if f.init and f.name not in given}
    return cls(**copied, **given)


def json_ready(
    view: DataclassInstance, *, skip: Iterable[str] = (), **given: Any
) -> dict[str, Any]:
    """The dataclass ``view`` as JSON values, the other way from :func:`from_row`: each field
    by name (but ``skip``), so a field added to a view is in its dict too, then ``given``
    (a field's JSON form, or a name of its own). Times in ISO 8601, a nested view as its
    dict, a mapping as a dict, a tuple as a list."""
    skipped = set(skip)
    out = {
        f.name: given[f.name] if f.name in given else _json_value(getattr(view, f.name))
        for f in fields(view)
        if f.name not in skipped
    }
    return {**out, **given}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return json_ready(value)
    if isinstance(value, Mapping):
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


def serial_id() -> Column[int]:
    """The ``id`` key the database numbers itself (1, 2, 3, ...)."""
    return Column("id", Integer, primary_key=True, autoincrement=True)


def timestamps() -> tuple[Column[datetime], Column[datetime]]:
    """``created_at`` and ``updated_at``: when the row was written first and last (both
    required)."""
    return utc_column("created_at", required=True), utc_column("updated_at", required=True)


def lease_columns(
    owner_length: int = 32, until: str = "lease_until"
) -> tuple[Column[str], Column[datetime]]:
    """Who holds the row (``lease_owner``) and until when (``until``): a worker's short
    claim, ``NULL`` when nobody holds it."""
    return Column("lease_owner", String(owner_length)), utc_column(until)


def where_given(query: Q, *filters: tuple[ColumnElement[Any], object]) -> Q:
    """``query`` narrowed to ``column == value`` for each ``(column, value)`` whose value is
    not ``None``: a listing's optional filters."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """An ``INSERT`` into ``table`` in the connection's dialect, so it takes
    ``on_conflict_do_update`` / ``on_conflict_do_nothing`` (SQLite and PostgreSQL alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def excluded(stmt: Any, *names: str) -> dict[str, Any]:
    """The ``set_`` of an upsert (``stmt``: a :func:`dialect_insert`) that takes each of
    ``names`` from the row that was refused (``EXCLUDED``), on SQLite and PostgreSQL alike."""
    return {name: stmt.excluded[name] for name in names}
