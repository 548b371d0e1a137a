"""Field metadata and values by field type: what a record must look like before Zoho sees it.

Zoho refuses a write whose values do not fit their fields (a multi-select picklist that is not
a list, a lookup that is not ``{"id": ...}``, a date that is not ``YYYY-MM-DD``, ``"yes"`` for
a boolean), one record at a time, after the call has cost credits. Everything here is a plain
function of the module's field metadata (``GET /settings/fields``), the tenant's time zone and
the value: :func:`coerce_record` turns a record into the one Zoho takes, or says for each bad
value what the field expected and what it got (a :class:`Problem`). Nothing does I/O; the
shell that fetches and caches the metadata is :class:`~zohokit.crm.FieldCatalog`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "FieldSpec",
    "ModuleFields",
    "Problem",
    "closest",
    "coerce_record",
    "coerce_value",
    "stale_metadata",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Digits and the usual separators, an optional leading "+", an extension: what Zoho takes.
_PHONE = re.compile(r"^\+?[0-9()\-.\s/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
#: Largest value of an ``integer`` field (Zoho stores a 32-bit int; ``bigint`` holds 64).
INT_MAX = 2_147_483_647
BIGINT_MAX = 9_223_372_036_854_775_807
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})

#: Data types whose values are text, as Zoho's ``data_type`` names them.
_TEXT_TYPES = frozenset({"text", "textarea", "website", "autonumber"})
#: Data types that point at one record or user: the value is ``{"id": ...}``.
_LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup"})
_NUMBER_TYPES = frozenset({"double", "currency", "decimal", "percent"})


class _Refused(Exception):
    """A value that does not fit its field; ``expected`` says what would (internal)."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


@dataclass(frozen=True)
class FieldSpec:
    """What zohokit needs to know of one CRM field, read from ``/settings/fields``.

    ``picklist`` holds the picklist's actual values (empty when Zoho listed none: then any
    text is passed on); ``length`` is the longest text Zoho keeps.
    """

    api_name: str
    data_type: str
    label: str = ""
    length: int | None = None
    read_only: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None

    @classmethod
    def from_zoho(cls, data: Mapping[str, Any]) -> FieldSpec:
        """Read one element of the ``fields`` array of ``GET /settings/fields``."""
        values = data.get("pick_list_values") or []
        picklist = tuple(
            str(v.get("actual_value") or v.get("display_value"))
            for v in values
            if isinstance(v, Mapping) and (v.get("actual_value") or v.get("display_value"))
        )
        lookup = data.get("lookup") or data.get("multiselectlookup") or {}
        target = lookup.get("module") if isinstance(lookup, Mapping) else None
        length = data.get("length")
        return cls(
            api_name=str(data["api_name"]),
            data_type=str(data.get("data_type") or "text"),
            label=str(data.get("field_label") or data.get("display_label") or ""),
            length=length if isinstance(length, int) and length > 0 else None,
            read_only=bool(data.get("read_only") or data.get("field_read_only")),
            picklist=picklist,
            lookup_module=str(target["api_name"])
            if isinstance(target, Mapping) and target.get("api_name")
            else None,
        )


@dataclass(frozen=True)
class ModuleFields:
    """The fields of one module, by API name (Zoho's API names are case-sensitive)."""

    module: str
    fields: Mapping[str, FieldSpec]
    _coercers: dict[str, dict[str, Callable[[Any], Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_zoho(cls, module: str, fields: Iterable[Mapping[str, Any]]) -> ModuleFields:
        """Read the ``fields`` array of ``GET /settings/fields?module=``."""
        specs = [FieldSpec.from_zoho(f) for f in fields if isinstance(f, Mapping)]
        return cls(module, {s.api_name: s for s in specs})

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The ``names`` that are not fields of this module (``id`` and ``$`` keys are)."""
        return [n for n in names if n not in self.fields and n != "id" and not n.startswith("$")]

    def suggest(self, name: str) -> str | None:
        """The field whose API name (or label) is closest to ``name``, if any is close."""
        by_label = {s.label: s.api_name for s in self.fields.values() if s.label}
        match = closest(name, [*self.fields, *by_label])
        return by_label.get(match, match) if match is not None else None

    def coercers(self, tz: tzinfo) -> dict[str, Callable[[Any], Any]]:
        """Per field, the function that turns a value into Zoho's form (built once per zone:
        a push calls them for every value of every row)."""
        key = str(tz)
        found = self._coercers.get(key)
        if found is None:
            found = self._coercers[key] = {n: _coercer(s, tz) for n, s in self.fields.items()}
        return found


@dataclass(frozen=True)
class Problem:
    """A value zohokit refused before sending: which ``row`` (1-based, when known),
    ``field``, what the field ``expected`` and what the row held (``got``, as text)."""

    row: int | None
    field: str
    expected: str
    got: str

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}{self.field}: expected {self.expected}, got {self.got}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as plain JSON-ready data (its fields by name)."""
        return asdict(self)


#: What Zoho names in ``details`` when a value broke a rule of its field's metadata.
_METADATA_DETAILS = ("expected_data_type", "supported_values", "maximum_length")


def stale_metadata(code: str, message: str, details: Mapping[str, Any]) -> bool:
    """Whether Zoho's answer to a checked write says the field metadata it was checked
    against is out of date: an unknown field, or a value whose type, picklist or length
    Zoho now sees otherwise. (A lookup to a record that does not exist says nothing about
    the metadata.)"""
    if code != "INVALID_DATA" or not details.get("api_name"):
        return False
    if "api name" in message.lower():
        return True  # "the field api name given seems to be invalid"
    if details.get("expected_data_type") in _LOOKUP_TYPES:
        return False
    return any(key in details for key in _METADATA_DETAILS)


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (case and ``_``/space ignored), or ``None``."""
    options = list(dict.fromkeys(candidates))

    def fold(text: str) -> str:
        return text.casefold().replace("_", "").replace(" ", "")

    folded = {fold(c): c for c in options}
    if fold(name) in folded:
        return folded[fold(name)]
    match = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=0.6)
    return folded[match[0]] if match else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce_value(spec: FieldSpec, value: Any, tz: tzinfo) -> Any:
    """``value`` as Zoho takes it for ``spec``; :class:`ValueError` saying what was expected.

    ``None`` and ``""`` clear the field. Read-only and unknown data types pass unchanged.
    """
    try:
        return _coercer(spec, tz)(value)
    except _Refused as exc:
        raise ValueError(f"{spec.api_name}: expected {exc.expected}, got {_shown(value)}") from None


def coerce_record(
    fields: ModuleFields, record: Mapping[str, Any], tz: tzinfo, row: int | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The record with every value in Zoho's form, and the problems of the values that do
    not fit (the record is only good to send when that list is empty).

    A key that is not a field of the module is a problem too, naming the closest field.
    """
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    coercers = fields.coercers(tz)
    for name, value in record.items():
        coerce = coercers.get(name)
        if coerce is None:
            if name == "id" or name.startswith("$"):
                out[name] = value
                continue
            hint = fields.suggest(name)
            expected = f"a field of {fields.module}" + (f" (did you mean {hint}?)" if hint else "")
            problems.append(Problem(row, name, expected, _shown(value)))
            continue
        try:
            out[name] = coerce(value)
        except _Refused as exc:
            problems.append(Problem(row, name, exc.expected, _shown(value)))
    return out, problems


# --- one coercer per data type ------------------------------------------------------------


def _coercer(spec: FieldSpec, tz: tzinfo) -> Callable[[Any], Any]:
    kind = spec.data_type
    if spec.read_only:
        return _unchanged
    if kind in _TEXT_TYPES or kind in ("email", "phone"):
        return _text(spec)
    if kind == "picklist":
        return _picklist(spec)
    if kind == "multiselectpicklist":
        return _multiselect(spec)
    if kind in _LOOKUP_TYPES:
        return _lookup
    if kind == "boolean":
        return _boolean
    if kind in ("integer", "bigint", "long"):
        return _integer(BIGINT_MAX if kind != "integer" else INT_MAX)
    if kind in _NUMBER_TYPES:
        return _number
    if kind == "date":
        return _date
    if kind == "datetime":
        return _datetime(tz)
    return _unchanged  # formula, subform, multiselectlookup, files: Zoho's own rules apply


def _unchanged(value: Any) -> Any:
    return value


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _text(spec: FieldSpec) -> Callable[[Any], Any]:
    limit = spec.length
    kind = spec.data_type
    what = {"email": "an email address", "phone": "a phone number"}.get(kind, "text")
    pattern = {"email": _EMAIL, "phone": _PHONE}.get(kind)
    if limit is not None:
        what += f" of at most {limit} characters"

    def coerce(value: Any) -> Any:
        if type(value) is not str:
            if _blank(value):
                return None
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
                raise _Refused(what)
            value = str(value)  # a number typed into a text column
        if value == "":
            return None
        if pattern is not None:
            value = value.strip()
            if not pattern.match(value):
                raise _Refused(what)
        if limit is not None and len(value) > limit:
            raise _Refused(what)
        return value

    return coerce


def _choices(spec: FieldSpec) -> tuple[dict[str, str], str]:
    folded = {v.casefold(): v for v in spec.picklist}
    shown = ", ".join(repr(v) for v in spec.picklist[:6])
    more = ", ..." if len(spec.picklist) > 6 else ""
    return folded, f"one of {shown}{more}"


def _picklist(spec: FieldSpec) -> Callable[[Any], Any]:
    folded, what = _choices(spec)

    def coerce(value: Any) -> Any:
        if _blank(value):
            return None
        if not isinstance(value, str):
            raise _Refused(what if folded else "text")
        if not folded:
            return value
        # Zoho's values are case-sensitive: "web download" is taken as "Web Download".
        found = folded.get(value.strip().casefold())
        if found is None:
            raise _Refused(what)
        return found

    return coerce


def _multiselect(spec: FieldSpec) -> Callable[[Any], Any]:
    folded, one_of = _choices(spec)
    what = f"a list of values, each {one_of}" if folded else "a list of values"

    def coerce(value: Any) -> Any:
        if _blank(value):
            return []
        if isinstance(value, str):
            # A spreadsheet cell holds the choices as Zoho's export writes them: "A;B".
            items: list[Any] = [part.strip() for part in value.split(";") if part.strip()]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise _Refused(what)
        out: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise _Refused(what)
            chosen = folded.get(item.strip().casefold()) if folded else item
            if chosen is None:
                raise _Refused(what)
            if chosen not in out:
                out.append(chosen)
        return out

    return coerce


def _lookup(value: Any) -> Any:
    if _blank(value):
        return None
    raw = value.get("id") if isinstance(value, Mapping) else value
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not _DIGITS.match(raw.strip()):
        raise _Refused('a record id such as "5725767000000411001", or {"id": "..."}')
    return {"id": raw.strip()}


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Refused("true or false")


def _integer(limit: int) -> Callable[[Any], Any]:
    what = f"a whole number (at most {limit:,})"

    def coerce(value: Any) -> Any:
        if _blank(value):
            return None
        if isinstance(value, bool):
            raise _Refused(what)
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            value = int(value.strip())
        elif isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
            value = int(value)
        if not isinstance(value, int) or abs(value) > limit:
            raise _Refused(what)
        return value

    return coerce


def _number(value: Any) -> Any:
    what = "a number such as 1234.5"
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise _Refused(what)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise _Refused(what) from None
    if isinstance(value, float | Decimal) and math.isfinite(value):
        return float(value)
    raise _Refused(what)


def _date(value: Any) -> Any:
    what = "a date as YYYY-MM-DD"
    if _blank(value):
        return None
    if isinstance(value, datetime):
        raise _Refused(what)  # a time of day would be dropped silently: say so instead
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise _Refused(what)


def _datetime(tz: tzinfo) -> Callable[[Any], Any]:
    what = "a date and time such as 2031-03-04T10:00:00+01:00"

    def coerce(value: Any) -> Any:
        if _blank(value):
            return None
        if isinstance(value, str):
            text = value.strip()
            if len(text) < 16:  # a bare date is not a time: refuse rather than guess 00:00
                raise _Refused(what)
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise _Refused(what) from None
        if not isinstance(value, datetime):
            raise _Refused(what)
        # Without an offset the time is the tenant's wall clock, as in Zoho's own UI.
        moment = value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
        return moment.replace(microsecond=0).isoformat()

    return coerce
