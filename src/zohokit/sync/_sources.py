"""Reading rows to push: any iterable of mappings, a CSV file or a JSONL file."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ZohoError

__all__ = ["SourceError", "count_rows", "read_rows"]


class SourceError(ZohoError, ValueError):
    """A row that cannot be read; the message names the file and line."""


_EXTRA = "\x00extra cells"


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a ``.csv`` (header line first) or ``.jsonl``/``.ndjson`` file, streamed.

    Files are UTF-8, with or without a byte order mark; anything else is a
    :class:`SourceError` naming the file.
    """
    try:
        yield from _read_rows(path)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not UTF-8 (byte {exc.start}: {exc.reason}); save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            # restkey marks cells beyond the header, which DictReader would otherwise put
            # under a None key and send to Zoho as a field of that name.
            reader = csv.DictReader(handle, restkey=_EXTRA)
            header = reader.fieldnames or []
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:
                raise SourceError(
                    f"{path}:1: column(s) {', '.join(map(repr, repeated))} appear twice in the "
                    "header; only one of each can be pushed"
                )
            for row in reader:
                if _EXTRA in row:
                    raise SourceError(
                        f"{path}:{reader.line_num}: {len(header) + len(row[_EXTRA])} cells for "
                        f"{len(header)} columns; quote cells that contain commas"
                    )
                yield row
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
                if not isinstance(row, dict):
                    raise SourceError(f"{path}:{number}: each line must be a JSON object")
                yield row
    else:
        raise SourceError(f"{path}: unknown format {suffix!r}; use .csv or .jsonl")


def count_rows(path: Path) -> int:
    """How many rows :func:`read_rows` will yield (for a progress bar's total)."""
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(0, lines - 1) if path.suffix.lower() == ".csv" else lines
