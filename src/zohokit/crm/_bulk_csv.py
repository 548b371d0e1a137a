"""Zoho's bulk CSV, both ways: a job's cells back into the records API's types, and a
record's values into the cells of a Bulk Write file.

Plain functions of their inputs, apart from :func:`zip_csv` / :func:`csv_rows`, which pack and
unpack the one CSV of a job's zip (read row by row as it is decompressed, so a 200,000-record
page's text is never held twice). :mod:`zohokit.crm._bulk` runs the jobs around them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ._fields import ModuleFields

__all__ = ["csv_cell", "csv_rows", "read_converters", "zip_csv"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})
_INTEGERS = frozenset({"integer", "bigint", "long"})
_NUMBERS = frozenset({"double", "currency", "decimal", "percent"})


def _text(cell: str) -> Any:
    return cell if cell != "" else None


def _converter(kind: str) -> Callable[[str], Any]:
    """A function from one CSV cell to the value the records API shows for ``kind``;
    :class:`ValueError` for a cell that does not fit."""
    if kind in _LOOKUPS:
        return lambda cell: {"id": cell} if cell else None
    if kind == "boolean":

        def boolean(cell: str) -> Any:
            if cell == "":
                return None
            low = cell.lower()
            if low not in ("true", "false"):
                raise ValueError("true or false")
            return low == "true"

        return boolean
    if kind in _INTEGERS:
        return lambda cell: int(cell) if cell else None
    if kind in _NUMBERS:
        return lambda cell: float(cell) if cell else None
    if kind == "multiselectpicklist":
        return lambda cell: [v for v in cell.split(";") if v] if cell else []
    if kind == "date":

        def day(cell: str) -> Any:
            if cell == "":
                return None
            if not _DATE.match(cell):
                raise ValueError("a date as YYYY-MM-DD")
            date.fromisoformat(cell)
            return cell

        return day
    if kind == "datetime":

        def moment(cell: str) -> Any:
            if cell == "":
                return None
            if datetime.fromisoformat(cell).tzinfo is None:
                raise ValueError("a date and time with an offset")
            return cell

        return moment
    return _text


def read_converters(
    fields: ModuleFields, columns: Sequence[str]
) -> list[tuple[str, Callable[[str], Any]]]:
    """Per CSV column, the record key and the function that turns its cells into the type
    the records API returns for that field (``Id`` becomes ``id``). A column the module's
    metadata does not know is :class:`ValueError`: the CSV is not what was asked for."""
    out: list[tuple[str, Callable[[str], Any]]] = []
    for column in columns:
        if column.lower() == "id":
            out.append(("id", _text))
            continue
        spec = fields.fields.get(column)
        if spec is None:
            raise ValueError(f"column {column!r} is not a field of {fields.module}")
        out.append((column, _converter(spec.data_type)))
    return out


def csv_cell(value: Any) -> str:
    """A value of a record (in the records API's form) as Zoho's CSV writes it: lookups as
    their id, multi-select lists joined with ``;``, booleans ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    if isinstance(value, list | tuple):
        return ";".join(csv_cell(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def zip_csv(name: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """``rows`` as Zoho's CSV (a header of ``columns``, then their cells), zipped as ``name``."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(row.get(c)) for c in columns] for row in rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text.getvalue())
    return buffer.getvalue()


def csv_rows(content: bytes) -> Iterator[list[str]]:
    """The rows of the one CSV in a zip, read as they are decompressed."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            raise ValueError(f"the zip holds {len(names)} CSV files, not one")
        with archive.open(names[0]) as raw:
            yield from csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
