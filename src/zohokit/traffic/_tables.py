"""``zoho_call_hours``: one row per tenant, provider (``crm``, ``calendar``, ``accounts``)
and hour, counting the Zoho calls every process of the fleet sent in that hour.

Rows only grow by upserts that add (:mod:`zohokit.traffic._recorder`), so any number of
processes may flush the same row at once; ``ix_zoho_call_hours_hour`` serves the fleet's
charts and the prune, the primary key one tenant's.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from ..db import UTCDateTime, tenant_column

__all__ = ["call_hours", "metadata"]

metadata = MetaData()

call_hours = Table(
    "zoho_call_hours",
    metadata,
    tenant_column(primary_key=True),
    Column("provider", String(16), primary_key=True),
    # The hour the calls were sent in, at its start (UTC).
    Column("hour", UTCDateTime(), primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("throttled", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("credits", Integer, nullable=False),
    Index("ix_zoho_call_hours_hour", "hour"),
)
