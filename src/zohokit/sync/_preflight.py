"""What a push checks before its first write, as plain functions of the mapping and the rows.

The push asks Zoho's field metadata (:class:`~zohokit.crm.FieldCatalog`) whether the module
and the fields exist; what it checks is decided here: the fields a mapping writes
(:func:`written_fields`), whether the source has a column for the match key
(:func:`key_column_problem`, the most common first mistake: a CSV header ``email`` where the
key is ``Email``), and the message for a row whose key is missing (:func:`missing_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..crm import closest
from ._mapping import SyncMapping

__all__ = ["key_column_problem", "missing_key", "written_fields"]


def written_fields(mapping: SyncMapping, columns: Iterable[str]) -> list[str]:
    """The CRM fields a push of rows with these ``columns`` writes (and matches on)."""
    targets = list(mapping.fields.values()) if mapping.fields else [str(c) for c in columns]
    names = [*targets, *mapping.constants, mapping.key, *mapping.duplicate_check_fields]
    return list(dict.fromkeys(names))


def _source_column(mapping: SyncMapping) -> str:
    for column, target in mapping.fields.items():
        if target == mapping.key:
            return column
    return mapping.key


def _columns_hint(mapping: SyncMapping, columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns) or "none"
    wanted = _source_column(mapping)
    near = closest(wanted, columns)
    hint = f"the file's columns: {shown}"
    if near is not None:
        hint += (
            f"; did you mean {near!r}? Map it with --map (a TOML file with "
            f'[fields] {near} = "{mapping.key}"), or rename the column to {wanted!r}'
        )
    return hint


def key_column_problem(mapping: SyncMapping, first_row: Mapping[str, Any]) -> str | None:
    """Why no row of a source whose first row is ``first_row`` can be matched, or ``None``.

    Constants cannot carry the key (every row would be one record), so the key must come
    from a column; when the first row has no such column at all, none will.
    """
    column = _source_column(mapping)
    if column in first_row:
        return None
    return (
        f"the rows have no column {column!r} for the key {mapping.key} "
        f"({_columns_hint(mapping, [str(c) for c in first_row])})"
    )


def missing_key(mapping: SyncMapping, row_number: int, row: Mapping[str, Any]) -> str:
    """The message for a row whose key is empty or absent, naming its columns when absent."""
    column = _source_column(mapping)
    if column in row:
        return f"row {row_number} has no {mapping.key} (its {column!r} cell is empty)"
    return (
        f"row {row_number} has no {mapping.key} ({_columns_hint(mapping, [str(c) for c in row])})"
    )
