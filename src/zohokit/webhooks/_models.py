"""What the webhook service hands out: endpoints, deliveries and attempts, secret-free."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..db import json_ready

__all__ = ["Attempt", "Delivery", "DeliveryStatus", "Endpoint"]

DeliveryStatus = Literal["pending", "succeeded", "failed"]


class _JSONReady:
    """``to_dict`` for the dataclasses below: every field, times in ISO 8601, tuples as lists."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no secret: none of these holds one)."""
        return json_ready(self)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Endpoint(_JSONReady):
    """A receiver of events: ``event_types`` empty means every type; ``tenant`` ``None``
    means every tenant. Never carries its secret (``rotate_secret`` and ``add`` return it
    once)."""

    id: str
    url: str
    description: str
    tenant: str | None
    event_types: tuple[str, ...]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    #: Until when the secret replaced by the last rotation still signs too (``None``: none).
    previous_secret_until: datetime | None = None

    def wants(self, event_type: str, tenant: str) -> bool:
        """Whether an event of ``event_type`` for ``tenant`` goes to this endpoint."""
        if self.tenant is not None and self.tenant != tenant:
            return False
        return not self.event_types or event_type in self.event_types


@dataclass(frozen=True, slots=True)
class Delivery(_JSONReady):
    """Sending one event to one endpoint: ``pending`` until a 2xx (``succeeded``) or the
    retry horizon passes (``failed``); ``next_attempt_at`` while pending."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    tenant: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    round_started_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt(_JSONReady):
    """One line of the delivery log: when, the HTTP status (``None``: no answer), the error
    in words, and how long it took."""

    delivery_id: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
