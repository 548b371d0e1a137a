"""Connection health events: the token service writes ``connection.needs_reauth`` when Zoho
refuses a tenant's refresh token and ``connection.recovered`` when the connection works
again, each with the write that changes the row (no token in either)."""

from __future__ import annotations

import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from tests.tokens.conftest import FakeClock, ServiceFactory
from zohokit.emulator import Emulator
from zohokit.errors import NeedsReauthorization, TokenRefreshFailed
from zohokit.events import read_events
from zohokit.settings import EnvCredentials


async def test_needs_reauth_then_a_new_grant_recovers(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    service = await make_service(env_credentials=lambda p: EnvCredentials(None))
    await service.store_grant(
        "acme",
        "zoho_crm",
        refresh_token="1000.bad.bad",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        source="admin",
    )
    for _ in range(3):  # refused once at Zoho, then at once: one event
        with pytest.raises(NeedsReauthorization):
            await service.get_access_token("acme", "zoho_crm")
    await service.store_grant("acme", "zoho_crm", refresh_token=REFRESH_TOKEN, source="connect")
    assert await service.get_access_token("acme", "zoho_crm")

    found = await read_events(service.engine, tenant="acme")
    assert [e.type for e in found] == ["connection.needs_reauth", "connection.recovered"]
    assert found[0].data == {"provider": "zoho_crm", "error": "invalid_code", "failures": 1}
    assert found[1].data == {
        "provider": "zoho_crm",
        "previous_state": "needs_reauth",
        "via": "connect",
        "failures": 1,
    }
    assert REFRESH_TOKEN not in repr([e.data for e in found])


async def test_a_refresh_that_works_after_failures_is_a_recovery(
    make_service: ServiceFactory, emulator: Emulator
) -> None:
    clock = FakeClock()
    service = await make_service(clock=clock)
    emulator.faults.configure({"rules": [{"route": "token", "error_rate": 1}]})
    with pytest.raises(TokenRefreshFailed) as info:
        await service.get_access_token("default", "zoho_crm")
    assert await read_events(service.engine) == []  # a transient failure is no event
    emulator.faults.configure({"rules": []})
    assert info.value.retry_after is not None
    clock.advance(info.value.retry_after + 1)
    assert await service.get_access_token("default", "zoho_crm")
    assert await service.get_access_token("default", "zoho_crm")  # healthy: no second event
    [event] = await read_events(service.engine)
    assert event.type == "connection.recovered"
    assert event.data["previous_state"] == "failing"
    assert event.data["via"] == "refresh"
