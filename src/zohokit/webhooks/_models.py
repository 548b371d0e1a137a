"""What the webhook service hands out: endpoints, deliveries and attempts, secret-free."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["Attempt", "Delivery", "DeliveryStatus", "Endpoint"]

DeliveryStatus = Literal["pending", "succeeded", "failed"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True, slots=True)
class Endpoint:
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no secret)."""
        return {
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "tenant": self.tenant,
            "event_types": list(self.event_types),
            "enabled": self.enabled,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "previous_secret_until": _iso(self.previous_secret_until),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "tenant": self.tenant,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "round_started_at": _iso(self.round_started_at),
            "last_attempt_at": _iso(self.last_attempt_at),
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of the delivery log: when, the HTTP status (``None``: no answer), the error
    in words, and how long it took."""

    delivery_id: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "attempted_at": _iso(self.attempted_at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }
