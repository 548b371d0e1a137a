"""How source rows become CRM records: the module, the field map and the match key.

A mapping comes from a dict or a TOML file::

    module = "Contacts"
    key = "Email"                       # the CRM field that identifies a row
    duplicate_check_fields = ["Email"]  # optional; defaults to [key]

    [fields]                            # source column -> CRM field API name
    email = "Email"
    first = "First_Name"
    last = "Last_Name"

    [constants]                         # values every record gets
    Lead_Source = "Web Download"

Without ``[fields]`` every column is sent under its own name. ``key`` is either the module's
system duplicate-check field (``Email`` for Contacts) or a unique custom field holding your
own id (an external-id field such as ``External_Id``); either way the upsert matches on it,
so a row sent twice is one record. Errors name the bad key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ZohoError
from ._hashing import normalize_key

__all__ = ["MappingError", "SyncMapping", "load_mapping"]

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$]*$")
_KNOWN = {"module", "key", "duplicate_check_fields", "fields", "constants"}


class MappingError(ZohoError, ValueError):
    """A mapping that cannot be used; the message names the key to fix."""


def _api_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _API_NAME.match(value):
        raise MappingError(f"{where} must be a CRM field API name such as Last_Name, got {value!r}")
    return value


@dataclass(frozen=True)
class SyncMapping:
    """What a push sends: ``module``, the match ``key``, and how columns map onto fields."""

    module: str
    key: str
    fields: dict[str, str] = field(default_factory=dict)
    duplicate_check_fields: tuple[str, ...] = ()
    constants: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.duplicate_check_fields:
            object.__setattr__(self, "duplicate_check_fields", (self.key,))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "mapping") -> SyncMapping:
        """Build and check a mapping; ``source`` prefixes error messages (a file name)."""
        unknown = sorted(set(data) - _KNOWN)
        if unknown:
            raise MappingError(f"{source}: unknown key(s) {', '.join(unknown)}")
        missing = [name for name in ("module", "key") if data.get(name) is None]
        if missing:
            raise MappingError(
                f"{source}: no {' and no '.join(missing)} given: say which CRM module to push "
                "to and which field identifies a row (on the command line: --module Contacts "
                '--key Email, or --map FILE with module = "Contacts" and key = "Email")'
            )
        module = data.get("module")
        if not isinstance(module, str) or not _API_NAME.match(module):
            raise MappingError(f"{source}: module must be a CRM module API name, got {module!r}")
        key = _api_name(data.get("key"), f"{source}: key")
        raw_fields = data.get("fields", {})
        if not isinstance(raw_fields, Mapping):
            raise MappingError(f'{source}: fields must be a table of column = "Field_Name"')
        fields = {
            str(column): _api_name(target, f"{source}: fields.{column}")
            for column, target in raw_fields.items()
        }
        targets = list(fields.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise MappingError(f"{source}: fields: {', '.join(repeated)} mapped from two columns")
        if fields and key not in targets:
            raise MappingError(f"{source}: key {key} is not the target of any column in fields")
        checks = data.get("duplicate_check_fields", [key])
        if not isinstance(checks, list) or not checks:
            raise MappingError(f"{source}: duplicate_check_fields must be a non-empty list")
        checked = tuple(
            _api_name(name, f"{source}: duplicate_check_fields[{i}]")
            for i, name in enumerate(checks)
        )
        if checked[0] != key:
            raise MappingError(
                f"{source}: duplicate_check_fields must start with the key {key}, "
                "or Zoho could match a row to another row's record"
            )
        constants = data.get("constants", {})
        if not isinstance(constants, Mapping):
            raise MappingError(f"{source}: constants must be a table of Field_Name = value")
        for name in constants:
            _api_name(name, f"{source}: constants.{name}")
        return cls(module, key, fields, checked, dict(constants))

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The CRM record a source row becomes (empty text cells become ``None``)."""
        pairs: Iterable[tuple[Any, Any]]
        if self.fields:
            pairs = ((target, row.get(column)) for column, target in self.fields.items())
        else:
            pairs = row.items()
        record = dict(self.constants)
        record.update({str(k): None if v == "" else v for k, v in pairs})
        return record

    def external_id(self, record: Mapping[str, Any]) -> str | None:
        """The ledger key of a mapped record: its ``key`` value, normalized."""
        return normalize_key(record.get(self.key))


def load_mapping(
    path: Path | None = None, *, module: str | None = None, key: str | None = None
) -> SyncMapping:
    """A mapping from a TOML file, with ``module`` and ``key`` given on the command line
    winning over the file's. Without a file, ``module`` and ``key`` make an identity mapping."""
    data: dict[str, Any] = {}
    source = "mapping"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"{source}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise MappingError(f"{source}: not UTF-8 ({exc.reason}); save it as UTF-8") from exc
        except OSError as exc:
            raise MappingError(f"{source}: cannot be read: {exc.strerror or exc}") from exc
    if module is not None:
        data["module"] = module
    if key is not None:
        if data.get("key") not in (None, key) and "duplicate_check_fields" in data:
            data.pop("duplicate_check_fields")
        data["key"] = key
    return SyncMapping.from_dict(data, source)
