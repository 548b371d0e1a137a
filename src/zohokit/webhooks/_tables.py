"""The webhook tables: endpoints, one delivery per (endpoint, event), and every attempt.

- ``webhook_endpoints``: the URL, the signing secret (``whsec_...``, sealed with the token
  keys; the one it replaced is kept sealed until ``previous_expires_at`` so receivers can
  switch without a gap), the event types it wants (JSON list; empty: every type), the tenant
  it is limited to (``None``: every tenant) and whether it is enabled;
- ``webhook_deliveries``: the state of sending one event to one endpoint: ``pending``
  (``next_attempt_at`` says when), ``succeeded`` or ``failed`` (given up); a short lease so
  two workers never send it at once; ``round_started_at`` is when the current round of
  retries began (the first fan-out, or a re-delivery), from which the give-up horizon runs;
- ``webhook_attempts``: the delivery log, one row per attempt: status code, error, duration.

Times are :class:`~zohokit.db.UTCDateTime`. Unique ``(endpoint_id, event_id)`` makes the
fan-out idempotent: two workers fanning out one event create one delivery.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint
from sqlalchemy.types import Boolean, Integer, String, Text

from ..db import lease_columns, serial_id, timestamps, utc_column

__all__ = ["metadata", "webhook_attempts", "webhook_deliveries", "webhook_endpoints"]

metadata = MetaData()

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", String(255), nullable=False),
    Column("tenant", String(255)),
    Column("event_types", Text, nullable=False),
    Column("secret_enc", Text, nullable=False),
    Column("previous_secret_enc", Text),
    utc_column("previous_expires_at"),
    Column("enabled", Boolean, nullable=False),
    *timestamps(),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("endpoint_id", String(32), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    utc_column("next_attempt_at"),
    utc_column("round_started_at", required=True),
    utc_column("last_attempt_at"),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    *lease_columns(),
    *timestamps(),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    # A tenant's deliveries, through its events (the console's tenant page; migration 0017).
    Index("ix_webhook_deliveries_event", "event_id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    serial_id(),
    Column("delivery_id", String(32), nullable=False),
    Column("endpoint_id", String(32), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    utc_column("attempted_at", required=True),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id"),
    Index("ix_webhook_attempts_endpoint_time", "endpoint_id", "attempted_at"),
)
