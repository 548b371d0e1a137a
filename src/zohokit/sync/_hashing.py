"""Change detection: a stable fingerprint of what a row would send to Zoho.

Two rows that would produce the same upsert body have the same hash, whatever the key order
or the way numbers were typed, so a row that did not change costs no API call. Everything
here is a plain function of its inputs.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["canonical", "normalize_key", "row_hash"]


def _plain(value: Any) -> Any:
    """The JSON value ``value`` stands for, with one spelling per meaning."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        if math.isfinite(number) and number == int(number):
            # 3 and 3.0 send the same value to Zoho: they must not look like a change.
            return int(number)
        return repr(number)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


#: Value types that are already their own one spelling (see :func:`_plain`).
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_KEY_TYPES = frozenset({str})
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
# The same C encoder JSONEncoder.encode builds on every call, built once: a push hashes each
# row, and building it cost more than encoding a small row. (Without the C accelerator,
# encode as above.) No circular check: a row is a tree of plain values.
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    _make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if _make_encoder is not None
    else None
)


def _encode_plain(record: dict[str, Any]) -> str:
    if _C_ENCODER is None:  # pragma: no cover - CPython always has the accelerator
        return _ENCODE(record)
    return "".join(_C_ENCODER(record, 0))


def canonical(record: Mapping[str, Any]) -> str:
    """The record as compact JSON with sorted keys: equal records give equal text."""
    # Most rows (a CSV's) hold only text: they need no rewriting, and skipping it halves
    # the cost of hashing a push.
    if (
        type(record) is dict
        and _PLAIN_TYPES.issuperset(map(type, record.values()))
        and _KEY_TYPES.issuperset(map(type, record))
    ):
        return _encode_plain(record)
    return _ENCODE(_plain(record))


def row_hash(record: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of :func:`canonical`: the ledger compares it with the last push."""
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def normalize_key(value: Any) -> str | None:
    """A row's external id as the ledger stores it, or ``None`` when the row has none.

    Zoho's duplicate check ignores case and surrounding blanks (``A@x.com`` and ``a@x.com``
    are one contact), so the ledger must too, or one CRM record would get two ledger rows.
    """
    if value is None:
        return None
    text = str(value).strip().casefold()
    return text or None
