"""The budget's tables: one row per tenant's org, the slot grants, the credit ledger.

- ``budget_orgs``: the org's limits (its edition, from ``/org`` or set by an operator), the
  share of them batch work may use, what Zoho last said it has left
  (``X-API-CREDITS-REMAINING``) and the fleet-wide pause a 429 with ``Retry-After`` sets.
  Every change to a tenant's grants or credits first locks this row (a conditional UPDATE:
  PostgreSQL's row lock, SQLite's write lock), which is what makes them one semaphore and one
  ledger for the whole fleet.
- ``budget_grants``: the slots each process holds, one row per process, tenant, lane and
  kind (heavy or not), and how many more its callers wait for (``wanted``), with a lease: a
  row whose ``expires_at`` has passed holds and wants nothing.
- ``budget_credits``: credits spent per tenant, UTC day and lane.

Times are seconds since the epoch (``Float``): leases are compared across hosts, and the
arithmetic is on numbers.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table

from ..db import epoch_column, tenant_column

__all__ = ["budget_credits", "budget_grants", "budget_orgs", "metadata"]

metadata = MetaData()

budget_orgs = Table(
    "budget_orgs",
    metadata,
    tenant_column(primary_key=True),
    Column("edition", String(32), nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("heavy_concurrency", Integer, nullable=False),
    Column("daily_credits", Integer, nullable=False),
    # The share of slots and credits batch work may take; the rest is kept for interactive.
    Column("batch_share", Float, nullable=False),
    # Where the limits came from: ``org`` (read from Zoho), ``set`` (an operator), ``default``.
    Column("source", String(16), nullable=False),
    # Credits Zoho said were used (its limit minus X-API-CREDITS-REMAINING), on ``zoho_day``.
    Column("zoho_used", Integer),
    Column("zoho_day", String(10)),
    epoch_column("paused_until"),
    epoch_column("updated_at", required=True),
)

budget_grants = Table(
    "budget_grants",
    metadata,
    Column("owner", String(128), primary_key=True),
    tenant_column(primary_key=True),
    Column("lane", String(16), primary_key=True),
    Column("heavy", Boolean, primary_key=True),
    Column("slots", Integer, nullable=False),
    # Slots its callers wait for beyond ``slots``: holders with none of their own waiting
    # give theirs back at once while any row wants some.
    Column("wanted", Integer, nullable=False, server_default="0"),
    epoch_column("expires_at", required=True),
    Index("ix_budget_grants_tenant", "tenant"),
)

budget_credits = Table(
    "budget_credits",
    metadata,
    tenant_column(primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("lane", String(16), primary_key=True),
    Column("spent", Integer, nullable=False),
)
