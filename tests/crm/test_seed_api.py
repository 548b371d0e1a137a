"""The seed's API of both services: constructor, for_client, is_configured, get_access_token,
environment precedence and the lazily built module-level instances."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.http.support import CREDENTIALS, bare_settings
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.http import ZohoHTTP
from zohokit.tokens import OAuthTokenService


def test_explicit_credentials_win_then_generic_then_product_specific() -> None:
    settings = bare_settings(
        zoho_client_id="generic-id",
        zoho_crm_client_id="crm-id",
        zoho_crm_client_secret="crm-secret",
    )
    crm = ZohoCRMService(settings=settings)
    assert crm.client_id == "generic-id"  # ZOHO_CLIENT_ID before ZOHO_CRM_CLIENT_ID
    assert crm.credentials.client_secret == "crm-secret"  # only the product-specific one set
    assert not crm.is_configured()  # no refresh token anywhere
    explicit = ZohoCRMService({"client_id": "mine"}, settings=settings)
    assert explicit.client_id == "mine"


def test_for_client_reads_the_client_row() -> None:
    row = {
        "zoho_client_id": "row-id",
        "zoho_client_secret": "row-secret",
        "zoho_refresh_token": "1000.row.token",
        "zoho_calendar_id": "cal-1",
    }
    crm = ZohoCRMService.for_client(row, "acme", settings=bare_settings())
    assert crm.tenant == "acme"
    assert crm.client_id == "row-id"
    assert crm.is_configured()
    cal = ZohoCalendarService.for_client(row, "acme", settings=bare_settings())
    assert cal.calendar_id == "cal-1"
    assert cal.is_configured()
    no_calendar = ZohoCalendarService.for_client(
        {**row, "zoho_calendar_id": None}, settings=bare_settings()
    )
    assert not no_calendar.is_configured()  # credentials alone are not enough for Calendar


def test_calendar_id_falls_back_to_the_environment() -> None:
    cal = ZohoCalendarService(CREDENTIALS, settings=bare_settings(zoho_calendar_id="env-cal"))
    assert cal.calendar_id == "env-cal"


def test_no_secret_in_the_repr() -> None:
    crm = ZohoCRMService(CREDENTIALS, "acme", settings=bare_settings())
    assert CREDENTIALS["client_secret"] not in repr(crm)
    assert CREDENTIALS["refresh_token"] not in repr(crm)


async def test_get_access_token_comes_from_the_token_service(
    crm: ZohoCRMService, zoho_http: ZohoHTTP, token_service: OAuthTokenService, emulator: Emulator
) -> None:
    token = await crm.get_access_token()
    assert token in emulator.accounts.access_tokens
    # The service keeps nothing: the token service answers again, from its cache.
    assert await crm.get_access_token() == token
    assert not any(token in repr(v) for v in vars(crm).values())
    status = await token_service.status("default", "zoho_crm")
    assert status is not None
    cal = ZohoCalendarService(CREDENTIALS, http=zoho_http, settings=bare_settings())
    assert await cal.get_access_token() in emulator.accounts.access_tokens
    assert await token_service.status("default", "zoho_calendar") is not None


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))},
        "ZOHOKIT_DATA_DIR": str(data_dir),
        **extra,
    }


def test_module_level_services_are_built_lazily_on_one_default_root(tmp_path: Path) -> None:
    code = (
        "import os, zohokit, zohokit.crm, zohokit.calendar, zohokit.tokens\n"
        "data = os.environ['ZOHOKIT_DATA_DIR']\n"
        "s = zohokit.crm.zoho_crm_service\n"
        "assert s is zohokit.crm.zoho_crm_service is zohokit.zoho_crm_service\n"
        "assert s.tenant == 'default'\n"
        "c = zohokit.calendar.zoho_calendar_service\n"
        "assert c is zohokit.calendar.zoho_calendar_service is zohokit.zoho_calendar_service\n"
        "assert os.listdir(data) == []  # no key file, no database yet\n"
        "tokens = zohokit.tokens.oauth_token_service\n"
        "assert tokens is zohokit.oauth_token_service is s.http.tokens is c.http.tokens\n"
        "assert s.http is c.http is zohokit.ZohoCRMService().http\n"
        "assert os.listdir(data) != []  # the token service made its key file on demand\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_clean_env(tmp_path),
        check=False,
        timeout=60,
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_unknown_attribute_is_an_attribute_error() -> None:
    import zohokit.crm

    with pytest.raises(AttributeError):
        _ = zohokit.crm.no_such_name  # type: ignore[attr-defined]
