"""A builder for CRM search ``criteria`` that escapes values for you.

Zoho's criteria text is ``((Field:operator:value)and(Field:operator:value))``. Parentheses,
commas and backslashes inside a value must be escaped with a backslash, or the text means
something else (``Burns,B`` would be two values of ``in``). Build criteria from values
instead of pasting strings::

    from zohokit.crm import where

    c = where("Company", "starts_with", "Smith (EU), Ltd") & where("Lead_Status", "in",
                                                                  ["New", "Contacted"])
    str(c)  # '((Company:starts_with:Smith \\(EU\\)\\, Ltd)and(Lead_Status:in:New,Contacted))'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

__all__ = ["MAX_CONDITIONS", "OPERATORS", "Criteria", "Operator", "escape", "format_value", "where"]

#: Zoho accepts at most ten conditions in one criteria string.
MAX_CONDITIONS = 10
Operator = Literal[
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "between",
]
OPERATORS: frozenset[str] = frozenset(get_args(Operator))
Value = str | int | float | bool | Decimal | date | datetime | None
_SPECIAL = ("\\", "(", ")", ",")


def escape(text: str) -> str:
    """Backslash-escape the characters that carry meaning inside a criteria value."""
    for char in _SPECIAL:  # backslash first, so the escapes added later stay single
        text = text.replace(char, "\\" + char)
    return text


def format_value(value: Value) -> str:
    """One value as Zoho's criteria expects it, escaped.

    Datetimes must carry an offset (Zoho compares instants); dates are ``yyyy-MM-dd``;
    booleans are ``true``/``false``; ``None`` is Zoho's ``${empty}`` placeholder.
    """
    if value is None:
        return "${empty}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("criteria datetimes need a timezone; Zoho compares instants")
        return escape(value.isoformat(timespec="seconds"))
    if isinstance(value, date):
        return value.isoformat()
    return escape(str(value))


@dataclass(frozen=True)
class Criteria:
    """A criteria tree; combine with ``&`` and ``|`` and send with ``str(criteria)``."""

    text: str
    conditions: int

    def _join(self, other: Criteria, op: str) -> Criteria:
        if not isinstance(other, Criteria):
            return NotImplemented
        total = self.conditions + other.conditions
        if total > MAX_CONDITIONS:
            raise ValueError(f"Zoho accepts at most {MAX_CONDITIONS} conditions, not {total}")
        return Criteria(f"({self.text}{op}{other.text})", total)

    def __and__(self, other: Criteria) -> Criteria:
        return self._join(other, "and")

    def __or__(self, other: Criteria) -> Criteria:
        return self._join(other, "or")

    def __str__(self) -> str:
        return self.text


def where(field: str, operator: Operator, value: Value | Iterable[Value]) -> Criteria:
    """One condition. ``in`` takes up to 100 values, ``between`` exactly two."""
    if operator not in OPERATORS:
        raise ValueError(f"unknown operator {operator!r}; use one of {sorted(OPERATORS)}")
    if not field or any(c in field for c in "():, "):
        raise ValueError(f"{field!r} is not a field API name")
    if operator in ("in", "between"):
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ValueError(f"{operator} takes a list of values")
        values = [format_value(v) for v in value]
        if operator == "between" and len(values) != 2:
            raise ValueError("between takes exactly two values")
        if not values or len(values) > 100:
            raise ValueError("in takes between 1 and 100 values")
        text = ",".join(values)
    else:
        if isinstance(value, Iterable) and not isinstance(value, str):
            raise ValueError(f"{operator} takes a single value")
        text = format_value(value)
    return Criteria(f"({field}:{operator}:{text})", 1)
