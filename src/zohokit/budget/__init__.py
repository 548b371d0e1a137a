"""The fleet-wide Zoho budget: each tenant's org's calls in flight and credits per day, held
in the database every process shares, so three ``zohokit serve`` instances and a sync job
together keep to what Zoho allows the org.

- **Slots** (:class:`Budget`): a distributed semaphore per org, sized from its edition
  (:func:`limits_for`; read from ``/org`` with :meth:`Budget.learn_org`, or set with
  :meth:`Budget.set_limits` / ``zohokit budget set``), with Zoho's cap of 10 heavy calls
  (:func:`is_heavy`). A process takes a grant of slots with a lease and reuses it call after
  call; a process killed with SIGKILL frees its slots when the lease passes.
- **Credits**: a ledger per tenant and UTC day, spent by each call's cost
  (:func:`call_cost`), corrected from Zoho's ``X-API-CREDITS-REMAINING``.
- **Lanes** (:func:`batch_lane`): batch work (sync, bulk) uses only its share of slots and
  credits and stops with :class:`~zohokit.errors.BudgetExhausted` at its share; interactive
  calls keep the rest.
- **Policies** (:func:`fail_fast`, :func:`wait_for_slot`): wait for a slot with a deadline,
  or fail at once with :class:`~zohokit.errors.RateLimited`. A Zoho 429 with
  ``Retry-After`` pauses the org's calls in every process.

The request path (:mod:`zohokit.http`) asks it before every Zoho CRM call; the root object
builds it from settings (``ZOHOKIT_BUDGET*``). ``docs/budget.md`` tells the whole story.
"""

from __future__ import annotations

from ._budget import Budget, BudgetConfig, Ticket
from ._cost import call_cost, is_heavy
from ._editions import EDITION_NAMES, HEAVY_CONCURRENCY, Limits, limits_for
from ._lanes import Lane, batch_lane, current_lane, current_wait, fail_fast, wait_for_slot
from ._state import BudgetState

__all__ = [
    "EDITION_NAMES",
    "HEAVY_CONCURRENCY",
    "Budget",
    "BudgetConfig",
    "BudgetState",
    "Lane",
    "Limits",
    "Ticket",
    "batch_lane",
    "call_cost",
    "current_lane",
    "current_wait",
    "fail_fast",
    "is_heavy",
    "limits_for",
    "wait_for_slot",
]
