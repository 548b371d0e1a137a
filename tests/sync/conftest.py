"""Sync tests: a real ledger (SQLite file or private PostgreSQL) and a real CRM service over
the in-process emulator, with the token service minting tokens at its accounts server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.support import CREDENTIALS, zoho_for
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, create_app
from zohokit.sync import Ledger


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:
    """A migrated ledger on an empty database (SQLite, and PostgreSQL when available)."""
    opened = await Ledger.open(db_url)
    yield opened
    await opened.close()


@pytest.fixture
async def sqlite_ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    """A migrated ledger on a SQLite file (for the tests that need only one backend)."""
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'sync.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def sync_crm(tmp_path: Path, emulator: Emulator) -> AsyncIterator[ZohoCRMService]:
    """The ``default`` tenant's CRM service over the in-process emulator, fast retries and a
    short read timeout (stalls become timeouts quickly)."""
    async with zoho_for(
        tmp_path / "tokens.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        timeout=httpx.Timeout(0.5, connect=0.5),
    ) as zoho:
        yield zoho.crm("default", CREDENTIALS)


def contact(n: int, **changes: Any) -> dict[str, Any]:
    """Source row ``n`` of a customer list (columns named as in a CSV export)."""
    row: dict[str, Any] = {
        "email": f"customer{n:05d}@example.com",
        "first": f"First{n}",
        "last": f"Last{n}",
        "phone": f"+1 555 {n:07d}",
    }
    row.update(changes)
    return row


CONTACTS_MAPPING: dict[str, Any] = {
    "module": "Contacts",
    "key": "Email",
    "fields": {"email": "Email", "first": "First_Name", "last": "Last_Name", "phone": "Phone"},
}
