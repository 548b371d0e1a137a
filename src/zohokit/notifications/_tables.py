"""The tables of CRM notifications (migration ``0010_notifications``).

- ``notification_channels``: one Zoho notification channel per (tenant, module): its
  ``channel_id``, the secret ``token`` Zoho sends back with every notification (sealed with
  the token keys, like every secret zohokit keeps), the ``notify_url`` and events it watches,
  and when Zoho says it expires.
- ``notification_inbox``: each notification received, once (``dedupe_key`` is unique: Zoho
  and the network deliver duplicates), until it is processed; a processor leases rows
  (``lease_owner``, ``lease_until``) so two workers do not fetch the same records.
- ``sync_remote``: the sync ledger's view of Zoho's side: per record the newest
  ``Modified_Time`` (or deletion) zohokit has taken in, whether from a notification or the
  reconcile pull, and a hash of its content. A change is delivered (to the handlers and the
  outbox) only by the one conditional upsert that moves this row forward, so the two paths
  never deliver it twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from ..db import lease_columns, serial_id, tenant_module, timestamps, utc_column

__all__ = ["metadata", "notification_channels", "notification_inbox", "sync_remote"]

metadata = MetaData()

notification_channels = Table(
    "notification_channels",
    metadata,
    Column("channel_id", String(20), primary_key=True),
    *tenant_module(),
    #: The channel's verification token, sealed (``Cipher``): never stored in clear.
    Column("token", Text, nullable=False),
    Column("notify_url", Text, nullable=False),
    #: The watched operations, comma-separated: ``create,edit,delete``.
    Column("events", String(64), nullable=False),
    #: ``active`` or ``disabled``.
    Column("status", String(16), nullable=False),
    utc_column("expires_at"),
    utc_column("renewed_at"),
    Column("last_error", Text),
    *timestamps(),
    Index("ux_notification_channels_tenant_module", "tenant", "module", unique=True),
)

notification_inbox = Table(
    "notification_inbox",
    metadata,
    serial_id(),
    Column("dedupe_key", String(64), nullable=False),
    Column("channel_id", String(20), nullable=False),
    *tenant_module(),
    Column("operation", String(16), nullable=False),
    #: The record ids, JSON.
    Column("ids", Text, nullable=False),
    #: Zoho's ``affected_fields`` (``{id: [field, ...]}``), JSON.
    Column("affected_fields", Text, nullable=False),
    #: Zoho's ``server_time``: milliseconds since the epoch.
    Column("server_time", BigInteger, nullable=False),
    utc_column("received_at", required=True),
    utc_column("processed_at"),
    *lease_columns(),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Index("ux_notification_inbox_dedupe_key", "dedupe_key", unique=True),
    Index("ix_notification_inbox_pending", "processed_at", "tenant"),
)

sync_remote = Table(
    "sync_remote",
    metadata,
    *tenant_module(primary_key=True),
    Column("record_id", String(32), primary_key=True),
    #: The record's ``Modified_Time`` (a deletion: when Zoho said it happened).
    utc_column("modified_time"),
    Column("deleted", Boolean, nullable=False),
    #: SHA-256 of the record as taken in: Zoho's times have whole seconds, so two edits in
    #: one second share a ``Modified_Time`` and only the content tells them apart.
    Column("content_hash", String(64)),
    #: ``notification`` or ``reconcile``: which path took this version in.
    Column("via", String(16), nullable=False),
    utc_column("updated_at", required=True),
)
