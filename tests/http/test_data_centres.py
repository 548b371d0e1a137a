"""Two tenants in two data centres: each tenant's calls reach only its own Zoho.

Two emulators run over loopback, one as the US data centre and one as the EU one. Each
tenant's grant names its own accounts server (as the connect flow stores it); the token
response's ``api_domain`` then routes CRM and Calendar calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, emulator_config
from tests.http.support import CREDENTIALS, zoho_for
from zohokit.emulator import EmulatorServer
from zohokit.http import calendar_url_for


@pytest.fixture
def two_dcs() -> Iterator[tuple[EmulatorServer, EmulatorServer]]:
    with (
        EmulatorServer(emulator_config(location="us")) as us,
        EmulatorServer(emulator_config(location="eu")) as eu,
    ):
        yield us, eu


async def test_two_tenants_never_cross(
    tmp_path: Path, two_dcs: tuple[EmulatorServer, EmulatorServer]
) -> None:
    us, eu = two_dcs
    zoho = zoho_for(tmp_path / "t.db")
    tokens = zoho.tokens
    for tenant, server in (("acme-us", us), ("acme-eu", eu)):
        for provider in ("zoho_crm", "zoho_calendar"):
            await tokens.store_grant(
                tenant,
                provider,
                refresh_token=REFRESH_TOKEN,
                accounts_server=server.url,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            )
    try:
        crm_us, crm_eu = zoho.crm("acme-us"), zoho.crm("acme-eu")
        cal_us = zoho.calendar("acme-us", calendar_id="primary")
        cal_eu = zoho.calendar("acme-eu", calendar_id="primary")
        start = datetime(2031, 5, 6, 9, tzinfo=UTC)
        await asyncio.gather(
            crm_us.insert_records("Leads", [{"Last_Name": f"US {i}"} for i in range(150)]),
            crm_eu.insert_records("Leads", [{"Last_Name": f"EU {i}"} for i in range(120)]),
            cal_us.create_event("US meeting", start, start + timedelta(hours=1)),
            cal_eu.create_event("EU meeting", start, start + timedelta(hours=1)),
        )
        us_leads = {r["Last_Name"] for r in us.emulator.crm.records("Leads")}
        eu_leads = {r["Last_Name"] for r in eu.emulator.crm.records("Leads")}
        assert len(us_leads) == 150
        assert all(name.startswith("US") for name in us_leads)
        assert len(eu_leads) == 120
        assert all(name.startswith("EU") for name in eu_leads)
        primary_us = us.emulator.calendar.primary_uid
        primary_eu = eu.emulator.calendar.primary_uid
        assert [e["title"] for e in us.emulator.calendar.events(primary_us)] == ["US meeting"]
        assert [e["title"] for e in eu.emulator.calendar.events(primary_eu)] == ["EU meeting"]
        listed = [r["Last_Name"] async for r in crm_eu.list_records("Leads", fields=["Last_Name"])]
        assert sorted(listed) == sorted(eu_leads)
        # Each emulator minted tokens only for the tenant that lives there.
        assert us.emulator.stats.snapshot()["token_refresh_requests"] == 2  # CRM + Calendar
        assert eu.emulator.stats.snapshot()["token_refresh_requests"] == 2
    finally:
        await zoho.aclose()


@pytest.mark.parametrize(
    ("api_domain", "calendar"),
    [
        ("https://www.zohoapis.com", "https://calendar.zoho.com"),
        ("https://www.zohoapis.eu", "https://calendar.zoho.eu"),
        ("https://www.zohoapis.in/", "https://calendar.zoho.in"),
        ("https://www.zohoapis.com.au", "https://calendar.zoho.com.au"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),  # the emulator serves both
    ],
)
def test_calendar_host_follows_the_crm_data_centre(api_domain: str, calendar: str) -> None:
    assert calendar_url_for(api_domain) == calendar


async def test_overrides_win_over_the_token(
    tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    # The token's api_domain is the emulator; the overrides name a proxy in front of it.
    proxy = emulator_server.url.replace("127.0.0.1", "localhost")
    async with zoho_for(
        tmp_path / "t.db", accounts_url=emulator_server.url, api_url=proxy, calendar_url=proxy
    ) as zoho:
        crm = zoho.crm("default", CREDENTIALS)
        cal = zoho.calendar("default", CREDENTIALS, calendar_id="primary")
        assert await crm.modules()
        assert await cal.list_calendars()
        assert (crm.base_url, cal.base_url) == (proxy, proxy)
