"""Many-row upserts into one ledger table, at the driver's speed.

SQLAlchemy's ``execute(insert, [dict, ...])`` rebuilds every row's parameters and runs each
value through its column's type on the way, which cost a push more CPU than hashing and
HTTP together (about 20 microseconds a row). A :class:`BulkUpsert` compiles its statement
once per dialect, runs each column's type conversion once per distinct value (a batch's rows
share their timestamps), and hands the driver plain tuples: the same SQL, the same stored
values, a fraction of the CPU. It runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["BulkUpsert"]

#: Builds the statement from a dialect's ``insert()`` (``INSERT ... ON CONFLICT``).
Build = Callable[[Any], Any]


class _Compiled:
    """The statement's SQL for one dialect, and how to turn a row tuple into its parameters."""

    def __init__(self, dialect: Dialect, table: Table, build: Build, columns: Sequence[str]):
        insert = (postgresql if dialect.name == "postgresql" else sqlite).insert(table)
        compiled = build(insert).compile(dialect=dialect, column_keys=list(columns))
        self.sql: str = compiled.string
        position = {name: i for i, name in enumerate(columns)}
        order = compiled.positiontup or []
        unknown = [name for name in order if name not in position and name not in compiled.binds]
        if unknown:  # pragma: no cover - a statement written against the wrong columns
            raise ValueError(f"bulk upsert: parameters {unknown} are not columns")
        #: Per parameter: the row index it reads, or the constant the statement bound.
        self.slots: list[tuple[int, Any]] = [
            (position[name], None) if name in position else (-1, compiled.binds[name].value)
            for name in order
        ]
        self.converters: dict[int, Callable[[Any], Any]] = {}
        for name, index in position.items():
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.converters[index] = processor

    def parameters(self, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The driver's parameters for ``rows``: converted, in the statement's order."""
        plans = [(index, convert, dict[Any, Any]()) for index, convert in self.converters.items()]
        slots = self.slots
        in_order = [index for index, _ in slots] == list(range(len(slots)))
        out: list[tuple[Any, ...]] = []
        # The last value converted per column, by identity: a batch's rows share one "now".
        last: list[tuple[Any, Any]] = [(None, None) for _ in plans]
        for row in rows:
            values = list(row)
            for slot, (index, convert, memo) in enumerate(plans):
                value = values[index]
                if value is None:
                    continue
                seen, converted = last[slot]
                if value is not seen:
                    converted = memo.get(value)
                    if converted is None:
                        converted = memo[value] = convert(value)
                    last[slot] = (value, converted)
                values[index] = converted
            if not in_order:
                values = [values[i] if i >= 0 else constant for i, constant in slots]
            out.append(tuple(values))
        return out


class BulkUpsert:
    """One ``INSERT ... ON CONFLICT`` into ``table``, run for many rows at once.

    ``build`` receives the dialect's ``insert(table)`` and adds the conflict clause;
    ``columns`` names, in order, the values of each row tuple given to :meth:`run`.
    """

    def __init__(self, table: Table, columns: Sequence[str], build: Build) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.build = build
        self._compiled: dict[str, _Compiled] = {}

    async def run(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        """Upsert ``rows`` (tuples in :attr:`columns` order) on ``conn``'s transaction."""
        if not rows:
            return
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(
                dialect, self.table, self.build, self.columns
            )
        await conn.exec_driver_sql(compiled.sql, compiled.parameters(rows))
