"""Prometheus metrics of the budget, labelled by lane (and reason) only: tenants can number in
the thousands. Per-tenant state is in ``zohokit budget status`` and on the admin page.

The label children are bound once here, so the hot path's cost is one ``inc`` each.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["CREDITS", "GRANTS", "PAUSES", "REFUSED", "SLOTS", "WAITS", "WAIT_SECONDS"]

_LANES = ("interactive", "batch")

_CREDITS = Counter(
    "zohokit_budget_credits_spent_total",
    "Zoho API credits this process's calls were admitted with (a 429 too), by lane.",
    ["lane"],
)
_WAITS = Counter(
    "zohokit_budget_slot_waits_total",
    "Calls that found their org's slots all in use and queued, by lane.",
    ["lane"],
)
_WAIT_SECONDS = Histogram(
    "zohokit_budget_slot_wait_seconds",
    "How long queued calls waited for a slot, by lane.",
    ["lane"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
_GRANTS = Counter(
    "zohokit_budget_grants_total",
    "Slots granted to this process by the database (each grant is reused call after call).",
    ["lane"],
)
_SLOTS = Gauge(
    "zohokit_budget_slots_held",
    "Slots this process holds now (in use or kept for the next call), by lane.",
    ["lane"],
)
REFUSED = Counter(
    "zohokit_budget_refused_total",
    "Calls the budget refused before sending, by lane and reason (no_slot, paused, exhausted).",
    ["lane", "reason"],
)
PAUSES = Counter(
    "zohokit_budget_pauses_total",
    "Zoho 429 answers with Retry-After that paused an org for the fleet.",
)

CREDITS = {lane: _CREDITS.labels(lane) for lane in _LANES}
WAITS = {lane: _WAITS.labels(lane) for lane in _LANES}
WAIT_SECONDS = {lane: _WAIT_SECONDS.labels(lane) for lane in _LANES}
GRANTS = {lane: _GRANTS.labels(lane) for lane in _LANES}
SLOTS = {lane: _SLOTS.labels(lane) for lane in _LANES}
