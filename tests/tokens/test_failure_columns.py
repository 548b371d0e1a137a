"""The last refresh failure is stored as columns (kind, code, time), and databases that held
the old ``"kind: code"`` text keep what it said after the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit.db import create_engine, upgrade_async
from zohokit.errors import NeedsReauthorization
from zohokit.tokens._store import oauth_tokens

from .conftest import FakeClock, ServiceFactory

BEFORE = "0005_admin_sessions"  # the head before the failure columns


async def test_old_last_error_strings_become_columns(empty_db_url: str) -> None:
    await upgrade_async(empty_db_url, BEFORE)
    written = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            for tenant, text in [
                ("throttled", "throttled: Access Denied"),
                ("reauth", "permanent: invalid_code"),
                ("healthy", None),
                ("odd", "something unexpected"),
            ]:
                await conn.execute(
                    sa.text(
                        "INSERT INTO oauth_tokens (tenant, provider, source, status, last_error,"
                        " failure_count, version, created_at, updated_at) VALUES (:t, 'zoho_crm',"
                        " 'env', 'active', :e, 1, 1, :w, :w)"
                    ),
                    {"t": tenant, "e": text, "w": written.replace(tzinfo=None)},
                )
        await upgrade_async(engine)
        async with engine.connect() as conn:
            rows = {
                r.tenant: (r.last_failure_kind, r.last_failure_code, r.last_failure_at)
                for r in await conn.execute(sa.select(oauth_tokens))
            }
    finally:
        await engine.dispose()
    assert rows == {
        "throttled": ("throttled", "Access Denied", written),
        "reauth": ("permanent", "invalid_code", written),
        "healthy": (None, None, None),
        "odd": ("transient", "something unexpected", written),
    }


async def test_a_failed_refresh_is_recorded_and_shown_as_before(
    make_service: ServiceFactory,
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    bad = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": "1000.x.y"}
    with pytest.raises(NeedsReauthorization):
        await service.get_access_token("broken", "zoho_crm", bad)
    status = await service.status("broken", "zoho_crm")
    assert status is not None
    assert (status.last_failure_kind, status.last_failure_code) == ("permanent", "invalid_code")
    assert status.last_failure_at == clock.now
    assert status.last_error == "permanent: invalid_code"
