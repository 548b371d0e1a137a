"""Field values: checking what a client writes, and comparing what the store holds.

Zoho checks every written value against its field's data type and answers ``INVALID_DATA``
with ``expected_data_type``, ``maximum_length`` or ``supported_values`` in ``details``. The
same typed view of a value is what search criteria and COQL compare against, so both live here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ._metadata import FieldDef

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Zoho's phone check allows digits and the usual separators, an optional leading "+" and "x"
# for extensions; letters are refused (see the n8n issue quoted in the reference).
_PHONE = re.compile(r"^\+?[0-9()\-.\s/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")

#: Largest value an ``integer`` field holds (Zoho: 9 digits, stored as a 32-bit int).
INT_MAX = 2_147_483_647
BIGINT_MAX = 9_223_372_036_854_775_807


class FieldError(Exception):
    """A value refused for a field; ``details`` joins ``api_name``/``json_path`` in the answer."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def parse_datetime(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date-time that carries an offset, else ``None``."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def parse_header_time(text: str) -> float | None:
    """Epoch seconds of an ``If-Modified-Since``-style header: ISO 8601 or RFC 1123."""
    ts = parse_datetime(text)
    if ts is not None:
        return ts
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _bad_type(f: FieldDef) -> FieldError:
    return FieldError("INVALID_DATA", "invalid data", {"expected_data_type": f.data_type})


def _check_length(f: FieldDef, text: str) -> None:
    if len(text) > f.length:
        raise FieldError("INVALID_DATA", "invalid data", {"maximum_length": f.length})


def normalize(f: FieldDef, value: Any) -> Any:
    """The value to store for ``f``, or :class:`FieldError` when Zoho would refuse it.

    ``None`` clears a field. Lookups are returned as ``{"id": ...}``: the store adds the name.
    """
    if value is None or not f.checked:
        return value
    kind = f.data_type
    if kind in ("text", "textarea", "website", "email", "phone"):
        if not isinstance(value, str):
            raise _bad_type(f)
        if kind == "email" and value and not _EMAIL.match(value):
            raise _bad_type(f)
        if kind == "phone" and value and not _PHONE.match(value):
            raise _bad_type(f)
        _check_length(f, value)
        return value
    if kind == "picklist":
        if not isinstance(value, str):
            raise _bad_type(f)
        if value not in f.picklist:
            raise FieldError("INVALID_DATA", "invalid data", {"supported_values": list(f.picklist)})
        return value
    if kind in ("integer", "bigint"):
        # Zoho accepts integers as JSON numbers or digit strings, never booleans or fractions.
        value = _number(f, value, _INT, int)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise _bad_type(f)
        limit = INT_MAX if kind == "integer" else BIGINT_MAX
        if abs(value) > limit:
            raise _bad_type(f)
        return value
    if kind in ("currency", "double"):
        value = _number(f, value, _NUMBER, float)
        if not isinstance(value, int | float):
            raise _bad_type(f)
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _bad_type(f)
        return value
    if kind == "date":
        if not isinstance(value, str) or not _valid_date(value):
            raise _bad_type(f)
        return value
    if kind == "datetime":
        if not isinstance(value, str) or parse_datetime(value) is None:
            raise _bad_type(f)
        return value
    if kind in ("lookup", "ownerlookup", "userlookup"):
        return {"id": lookup_id(f, value)}
    if kind == "multiselectpicklist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad_type(f)
        unknown = [v for v in value if v not in f.picklist]
        if unknown:
            raise FieldError("INVALID_DATA", "invalid data", {"supported_values": list(f.picklist)})
        return list(dict.fromkeys(value))
    if kind == "multiselectlookup":
        if not isinstance(value, list):
            raise _bad_type(f)
        return [{"id": lookup_id(f, item)} for item in value]
    if kind == "subform":
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise _bad_type(f)
        return value  # the store checks each row against the subform's own fields
    if kind == "fileupload":
        # ``[{"file_id": ...}]`` for a file uploaded to /files; an entry read back from the
        # record (``File_Id__s``) keeps its file. The store checks that each file exists.
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise _bad_type(f)
        ids = [item.get("file_id") or item.get("File_Id__s") for item in value]
        if not all(isinstance(i, str) and i for i in ids):
            raise _bad_type(f)
        return [{"file_id": i} for i in ids]
    raise _bad_type(f)  # computed types (autonumber, formula) never reach here


def lookup_id(f: FieldDef, value: Any) -> str:
    """The id a lookup value points to: ``{"id": "123"}``, ``{"id": 123}`` or a bare id."""
    raw = value.get("id") if isinstance(value, dict) else value
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.isdigit():
        raise _bad_type(f)
    return raw


def comparable(f: FieldDef, stored: Any) -> Any:
    """A stored value in a form that compares the way Zoho compares that data type."""
    if stored is None:
        return None
    kind = f.data_type
    if kind in ("lookup", "ownerlookup", "userlookup"):
        return stored.get("id") if isinstance(stored, dict) else stored
    if isinstance(stored, list):
        # Multi-select picklists and lookups compare as their values joined, as Zoho shows
        # them in criteria ("A;B").
        parts = (item.get("id") if isinstance(item, dict) else item for item in stored)
        return ";".join(str(p) for p in parts).lower()
    if kind == "datetime":
        return parse_datetime(stored) if isinstance(stored, str) else stored
    if kind in ("integer", "bigint"):
        # 19-digit ids do not survive a float: compare bigints as exact integers.
        return int(stored)
    if kind in ("currency", "double"):
        return float(stored)
    if kind == "boolean":
        return bool(stored)
    if kind == "date":
        return str(stored)
    return str(stored).lower()


def literal(f: FieldDef, raw: str) -> Any:
    """A query literal typed for ``f`` (raises :class:`ValueError` when it cannot be)."""
    kind = f.data_type
    text = raw.strip()
    if kind in ("integer", "bigint", "currency", "double"):
        if _INT.match(text):
            return int(text)
        if not _NUMBER.match(text):
            raise ValueError(raw)
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(raw)
        return text.lower() == "true"
    if kind == "datetime":
        ts = parse_datetime(text)
        if ts is None:
            raise ValueError(raw)
        return ts
    if kind == "date":
        if not _valid_date(text):
            raise ValueError(raw)
        return text
    if kind in ("lookup", "ownerlookup", "userlookup"):
        return text
    return raw.lower()


def _number(f: FieldDef, value: Any, pattern: re.Pattern[str], parse: Callable[[str], Any]) -> Any:
    """``value`` as given, or parsed when it is a string that reads as a number (``pattern``);
    a boolean is never a number."""
    if isinstance(value, bool):
        raise _bad_type(f)
    if isinstance(value, str) and pattern.match(value.strip()):
        return parse(value)
    return value
