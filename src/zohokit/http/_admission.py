"""The budget's step in the request path: a slot and credits before each send.

:class:`Admission` wraps one send of :class:`~zohokit.http.ZohoHTTP`: it computes what the
call costs (always: the request tally counts it), and for a Zoho CRM call with a
:class:`~zohokit.budget.Budget` waits for a slot and spends the credits before the send,
hands the slot on after it, and tells the budget what Zoho answered (a 429's
``Retry-After``, ``X-API-CREDITS-REMAINING``). Calendar calls, and every call when the
budget is off, only get their cost computed.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from ..budget import Budget, Ticket, call_cost, is_heavy
from ._retry import parse_retry_after

__all__ = ["Admission", "Admitted"]


class Admitted:
    """One send admitted by the budget: ``async with`` holds its slot; :meth:`answered`
    reports Zoho's answer."""

    __slots__ = ("budget", "cost", "heavy", "tenant", "ticket")

    def __init__(self, budget: Budget | None, tenant: str, cost: int, heavy: bool) -> None:
        self.budget = budget
        self.tenant = tenant
        self.cost = cost
        self.heavy = heavy
        self.ticket: Ticket | None = None

    async def __aenter__(self) -> Admitted:
        if self.budget is not None:
            self.ticket = await self.budget.admit(self.tenant, cost=self.cost, heavy=self.heavy)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.ticket is not None:
            self.ticket.release()

    async def answered(self, response: httpx.Response) -> None:
        """Tell the budget what Zoho said: nothing to do on most answers."""
        ticket = self.ticket
        if ticket is None or self.budget is None:
            return
        throttled = response.status_code == 429
        remaining = response.headers.get("x-api-credits-remaining")
        if not throttled and remaining is None:
            return
        await self.budget.answered(
            ticket,
            throttled=throttled,
            retry_after=parse_retry_after(response.headers.get("retry-after"))
            if throttled
            else None,
            credits_remaining=int(remaining) if remaining and remaining.strip().isdigit() else None,
        )


class Admission:
    """The budget's admission step for one :class:`~zohokit.http.ZohoHTTP` (``budget``
    ``None``: off)."""

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget

    def admit(
        self, tenant: str, provider: str, method: str, path: str, params: Any, json: Any
    ) -> Admitted:
        """The admission of one send (enter it to take the slot)."""
        cost = call_cost(method, path, params=params, json=json)
        if self.budget is None or provider != "zoho_crm":
            return Admitted(None, tenant, cost, False)
        return Admitted(self.budget, tenant, cost, is_heavy(method, path, params=params, json=json))

    async def aclose(self) -> None:
        """Give back what this event loop holds of the budget."""
        if self.budget is not None:
            await self.budget.aclose()
