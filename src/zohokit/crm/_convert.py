"""Convert Lead: a lead becomes a contact, an account and optionally a deal (``crm.leads``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest, RecordError
from ._part import CrmPart

__all__ = ["ConvertedLead", "LeadAlreadyConverted", "Leads"]


class LeadAlreadyConverted(BadRequest):
    """Zoho refused to convert a lead that was converted before (``ID_ALREADY_CONVERTED``)."""


@dataclass(frozen=True)
class ConvertedLead:
    """What a conversion made or used: the contact's id, the account's (``None`` when the
    lead had no company and none was given) and the deal's (``None`` without ``deal``)."""

    contact_id: str
    account_id: str | None = None
    deal_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_zoho(cls, element: Mapping[str, Any]) -> ConvertedLead:
        """Read one ``data`` element: v2's ``{"Contacts": id, ...}`` or, from v3 on, a
        success element whose ``details`` name each record as ``{"name", "id"}``."""
        made = element.get("details") if "details" in element else element
        made = made if isinstance(made, Mapping) else {}

        def id_of(key: str) -> str | None:
            value = made.get(key)
            value = value.get("id") if isinstance(value, Mapping) else value
            return None if value is None else str(value)

        contact = id_of("Contacts")
        if contact is None:
            raise RecordError("Zoho's conversion answer names no contact", code="NO_ANSWER")
        return cls(contact, id_of("Accounts"), id_of("Deals"), dict(element))


class Leads(CrmPart):
    """Lead calls beyond records (``crm.leads``)."""

    async def convert(
        self,
        lead_id: str,
        *,
        deal: Mapping[str, Any] | None = None,
        account_id: str | None = None,
        contact_id: str | None = None,
        assign_to: str | None = None,
        overwrite: bool | None = None,
        notify_lead_owner: bool | None = None,
        notify_new_entity_owner: bool | None = None,
    ) -> ConvertedLead:
        """Convert a lead into a contact and an account (or into the existing ``contact_id``
        / ``account_id``), and into a deal with the values of ``deal`` (``Deal_Name``,
        ``Stage``, ...). Costs 5 credits.

        :class:`LeadAlreadyConverted` if it was converted before; a deal Zoho refuses (a
        mandatory field missing) raises :class:`~zohokit.errors.RecordError` with its code,
        and nothing is converted.
        """
        options: dict[str, Any] = {
            "overwrite": overwrite,
            "notify_lead_owner": notify_lead_owner,
            "notify_new_entity_owner": notify_new_entity_owner,
            "Accounts": None if account_id is None else {"id": account_id},
            "Contacts": None if contact_id is None else {"id": contact_id},
            "assign_to": None if assign_to is None else {"id": assign_to},
            "Deals": None if deal is None else dict(deal),
        }
        body = {"data": [{k: v for k, v in options.items() if v is not None}]}
        try:
            answer = await self._call(
                "POST", f"Leads/{lead_id}/actions/convert", json=body, record_results=True
            )
        except BadRequest as exc:
            if exc.code == "ID_ALREADY_CONVERTED":
                raise LeadAlreadyConverted(
                    f"lead {lead_id} was converted already",
                    status=exc.status,
                    code=exc.code,
                    details=exc.details,
                    request_id=exc.request_id,
                    tenant=exc.tenant,
                    provider=exc.provider,
                ) from exc
            raise
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        element = data[0] if isinstance(data, list) and data else {}
        if element.get("status") == "error":
            code = str(element.get("code") or "UNKNOWN")
            raise RecordError(
                f"lead {lead_id} was not converted: {code} {element.get('message') or ''}".strip(),
                code=code,
                details=element.get("details") or {},
                tenant=self.crm.tenant,
                provider=self.crm.provider,
            )
        return ConvertedLead.from_zoho(element)
