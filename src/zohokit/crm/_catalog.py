"""The field metadata of one tenant's CRM, fetched once per module and kept.

:class:`FieldCatalog` is the shell around :mod:`._fields`: it reads ``GET /settings/fields``
(and the org's time zone from ``GET /org`` when a date-time needs it), keeps the answer per
module for the life of the CRM service, and reads it again when it may be stale: a field or
module zohokit does not know (someone may just have added it in Zoho), or Zoho answering a
write with ``INVALID_DATA`` about a field (:meth:`FieldCatalog.forget`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidRecords, UnknownField, UnknownModule, ZohoAPIError
from ._fields import ModuleFields, Problem, closest, coerce_record, stale_metadata

if TYPE_CHECKING:
    from ._service import RecordResult, ZohoCRMService

__all__ = ["FieldCatalog"]

#: Problems quoted in an :class:`~zohokit.errors.InvalidRecords` message (all are attached).
_QUOTED = 5


class FieldCatalog:
    """Field metadata of ``crm``'s tenant, cached per module (see the module docstring)."""

    def __init__(self, crm: ZohoCRMService) -> None:
        self.crm = crm
        self._modules: dict[str, ModuleFields] = {}
        self._zone: tzinfo | None = None
        self._lock = asyncio.Lock()

    async def module(self, name: str, *, fresh: bool = False) -> ModuleFields:
        """The fields of module ``name``; :class:`~zohokit.errors.UnknownModule` (naming the
        closest module) when the org has no such module."""
        async with self._lock:
            found = None if fresh else self._modules.get(name)
            if found is None:
                found = self._modules[name] = await self._fetch(name)
            return found

    def forget(self, module: str) -> None:
        """Drop what is known of ``module``: the next check reads its fields again."""
        self._modules.pop(module, None)

    def learn(self, module: str, results: Iterable[RecordResult]) -> None:
        """Forget ``module`` if Zoho's answers to a checked write say its metadata changed
        (:func:`~zohokit.crm.stale_metadata`)."""
        if any(
            not r.ok and r.error is None and stale_metadata(r.code, r.message, r.details)
            for r in results
        ):
            self.forget(module)

    async def time_zone(self) -> tzinfo:
        """The org's time zone (``GET /org``), in which Zoho reads times without an offset."""
        if self._zone is None:
            answer = await self.crm._call("GET", "/crm/v8/org")
            body = answer.body if isinstance(answer.body, dict) else {}
            orgs = body.get("org") or [{}]
            name = orgs[0].get("time_zone") if isinstance(orgs[0], dict) else None
            try:
                self._zone = ZoneInfo(str(name)) if name else UTC
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = UTC
        return self._zone

    async def check_fields(self, module: str, names: Iterable[str]) -> ModuleFields:
        """The module's fields, once every name in ``names`` is one of them (read again
        before refusing: the field may be new); :class:`~zohokit.errors.UnknownField` names
        the first unknown field and the closest real one."""
        wanted = list(dict.fromkeys(names))
        fields = await self.module(module)
        if fields.unknown(wanted):
            fields = await self.module(module, fresh=True)
        missing = fields.unknown(wanted)
        if missing:
            hint = fields.suggest(missing[0])
            raise UnknownField(
                f"{module} has no field {missing[0]!r}"
                + (f"; did you mean {hint}?" if hint else "")
                + (f" (also unknown: {', '.join(missing[1:])})" if missing[1:] else ""),
                field=missing[0],
                suggestion=hint,
                tenant=self.crm.tenant,
            )
        return fields

    async def prepare(
        self, module: str, records: Sequence[Mapping[str, Any]], *, first_row: int = 1
    ) -> list[dict[str, Any]]:
        """``records`` with their values in Zoho's form, or
        :class:`~zohokit.errors.InvalidRecords` listing every (row, field, expected, got)
        before anything is sent (rows count from ``first_row``)."""
        names = {name for record in records for name in record}
        fields = await self.check_fields(module, names)
        zone = await self.time_zone() if _has_datetime(fields, names) else UTC
        prepared: list[dict[str, Any]] = []
        problems: list[Problem] = []
        for offset, record in enumerate(records):
            out, found = coerce_record(fields, record, zone, first_row + offset)
            prepared.append(out)
            problems.extend(found)
        if problems:
            quoted = "; ".join(str(p) for p in problems[:_QUOTED])
            more = f" (and {len(problems) - _QUOTED} more)" if len(problems) > _QUOTED else ""
            raise InvalidRecords(
                f"{len(problems)} value(s) do not fit their {module} field: {quoted}{more}",
                problems=problems,
                tenant=self.crm.tenant,
            )
        return prepared

    async def _fetch(self, name: str) -> ModuleFields:
        try:
            raw = await self.crm.fields(name)
        except ZohoAPIError as exc:
            if exc.code not in ("INVALID_MODULE", "INVALID_DATA") and exc.status != 404:
                raise
            names = [str(m.get("api_name")) for m in await self.crm.modules()]
            hint = closest(name, names)
            raise UnknownModule(
                f"the CRM has no module {name!r}"
                + (f"; did you mean {hint}?" if hint else f" (modules: {', '.join(names)})"),
                module=name,
                suggestion=hint,
                tenant=self.crm.tenant,
            ) from exc
        return ModuleFields.from_zoho(name, raw)


def _has_datetime(fields: ModuleFields, names: Iterable[str]) -> bool:
    return any(
        spec.data_type == "datetime" and not spec.read_only
        for name in names
        if (spec := fields.fields.get(name)) is not None
    )
