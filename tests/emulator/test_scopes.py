"""Tokens reach only what their scopes cover, as Zoho enforces with OAUTH_SCOPE_MISMATCH."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit.emulator import Emulator
from zohokit.emulator._scopes import allows, calendar_need, crm_need


@pytest.mark.parametrize(
    ("granted", "method", "path", "allowed"),
    [
        ("ZohoCRM.modules.ALL", "DELETE", "/crm/v8/Leads", True),
        ("ZohoCRM.modules.READ", "GET", "/crm/v8/Leads/search", True),
        ("ZohoCRM.modules.READ", "POST", "/crm/v8/Leads", False),
        ("ZohoCRM.modules.leads.CREATE", "POST", "/crm/v8/Leads", True),
        ("ZohoCRM.modules.leads.CREATE", "POST", "/crm/v8/Contacts", False),
        ("ZohoCRM.modules.WRITE", "PUT", "/crm/v8/Leads/1", True),
        ("ZohoCRM.modules.WRITE", "DELETE", "/crm/v8/Leads/1", False),
        ("ZohoCRM.modules.contacts.UPDATE", "POST", "/crm/v8/Contacts/upsert", True),
        ("ZohoCRM.settings.fields.READ", "GET", "/crm/v8/settings/fields", True),
        ("ZohoCRM.settings.fields.READ", "GET", "/crm/v8/settings/modules", False),
        ("ZohoCRM.modules.ALL", "POST", "/crm/v8/coql", False),
        ("ZohoCRM.coql.READ", "POST", "/crm/v8/coql", True),
        ("ZohoCRM.modules.ALL", "POST", "/crm/v8/actions/watch", False),
        ("ZohoCRM.notifications.ALL", "DELETE", "/crm/v2/actions/watch", True),
        ("ZohoCRM.notifications.READ", "GET", "/crm/v8/actions/watch", True),
        ("ZohoCRM.notifications.READ", "POST", "/crm/v8/actions/watch", False),
        ("ZohoCRM.notifications.CREATE", "POST", "/crm/v8/actions/watch", True),
    ],
)
def test_crm_scope_rules(granted: str, method: str, path: str, allowed: bool) -> None:
    assert allows((granted,), crm_need(method, path)) is allowed


@pytest.mark.parametrize(
    ("granted", "method", "path", "allowed"),
    [
        ("ZohoCalendar.freebusy.READ", "GET", "/api/v1/calendars/freebusy", True),
        ("ZohoCalendar.freebusy.READ", "GET", "/api/v1/calendars/abc/events", False),
        ("ZohoCalendar.event.READ", "GET", "/api/v1/calendars/abc/events", True),
        ("ZohoCalendar.event.READ", "POST", "/api/v1/calendars/abc/events", False),
        ("ZohoCalendar.calendar.READ", "GET", "/api/v1/calendars", True),
    ],
)
def test_calendar_scope_rules(granted: str, method: str, path: str, allowed: bool) -> None:
    assert allows((granted,), calendar_need(method, path)) is allowed


async def _token(emu_client: httpx.AsyncClient, emulator: Emulator, *scopes: str) -> str:
    refresh = emulator.accounts.grant_refresh_token(CLIENT_ID, scopes=scopes).token
    answer = await emu_client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh,
        },
    )
    token: str = answer.json()["access_token"]
    return token


async def test_a_read_only_leads_token_can_read_leads_and_nothing_more(
    emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Lee", "Email": "lee@example.com"}])
    token = await _token(emu_client, emulator, "ZohoCRM.modules.leads.READ")
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    listed = await emu_client.get("/crm/v8/Leads", params={"fields": "Email"}, headers=headers)
    assert listed.status_code == 200
    write = await emu_client.post(
        "/crm/v8/Leads", json={"data": [{"Last_Name": "X"}]}, headers=headers
    )
    assert write.status_code == 401
    assert write.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert write.json()["details"] == {"required": "ZohoCRM.modules.leads.CREATE"}
    other = await emu_client.get("/crm/v8/Contacts", params={"fields": "Email"}, headers=headers)
    assert other.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert emulator.crm.count("Leads") == 1
