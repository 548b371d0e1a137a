"""Columns that many migrations create alike, as small functions.

**Frozen.** A migration must create tomorrow exactly what it created the day it shipped, so
these functions never change: a column of another shape is a new function (or spelled out in
its migration), and nothing here reads the current table descriptions (``*_tables.py``).
``tests/test_migrations.py`` checks that the migrated database still matches them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["lease", "serial_id", "tenant", "tenant_module", "timestamps", "utc"]


def serial_id() -> sa.Column[Any]:
    """``id``: an integer key the database numbers itself."""
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def tenant(length: int = 255, *, primary_key: bool = False) -> sa.Column[Any]:
    """``tenant``: required, or (``primary_key``) the first part of the key."""
    return sa.Column("tenant", sa.String(length), primary_key=primary_key, nullable=False)


def tenant_module(*, primary_key: bool = False) -> tuple[sa.Column[Any], sa.Column[Any]]:
    """``tenant`` and ``module`` (a CRM module's API name), both required: the tenant and
    module a sync or notification row is about, or (``primary_key``) the first two parts of
    its key."""
    return tenant(primary_key=primary_key), sa.Column(
        "module", sa.String(100), primary_key=primary_key, nullable=False
    )


def utc(name: str, *, required: bool = False) -> sa.Column[Any]:
    """A timezone-aware time column (``required``: NOT NULL)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=not required)


def timestamps() -> tuple[sa.Column[Any], sa.Column[Any]]:
    """``created_at`` and ``updated_at``, both required."""
    return utc("created_at", required=True), utc("updated_at", required=True)


def lease(
    owner_length: int = 32, until: str = "lease_until"
) -> tuple[sa.Column[Any], sa.Column[Any]]:
    """``lease_owner`` and its expiry ``until``, both nullable."""
    return sa.Column("lease_owner", sa.String(owner_length)), utc(until)
