"""The seed's API of both services: constructor, for_client, is_configured, get_access_token,
environment precedence and the lazily built module-level instances."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.http.support import CREDENTIALS, both_apis
from zohokit import ConfigurationError, Settings, Zoho
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.http import ZohoHTTP
from zohokit.tokens import OAuthTokenService, generate_key


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The process environment with no ZOHO_* / ZOHOKIT_* variable and no .env file, for a
    test to set what a user would export."""
    for name in list(os.environ):
        if name.startswith(("ZOHO_", "ZOHOKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZOHOKIT_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def test_explicit_credentials_win_then_generic_then_product_specific(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("ZOHO_CLIENT_ID", "generic-id")
    environment.setenv("ZOHO_CRM_CLIENT_ID", "crm-id")
    environment.setenv("ZOHO_CRM_CLIENT_SECRET", "crm-secret")
    zoho = Zoho.from_settings(Settings())
    crm = zoho.crm()
    assert crm.client_id == "generic-id"  # ZOHO_CLIENT_ID before ZOHO_CRM_CLIENT_ID
    assert crm.credentials.client_secret == "crm-secret"  # only the product-specific one set
    assert not crm.is_configured()  # no refresh token anywhere
    assert zoho.crm("default", {"client_id": "mine"}).client_id == "mine"


def test_for_client_reads_the_client_row(zoho_http: ZohoHTTP) -> None:
    row = {
        "zoho_client_id": "row-id",
        "zoho_client_secret": "row-secret",
        "zoho_refresh_token": "1000.row.token",
        "zoho_calendar_id": "cal-1",
    }
    crm = ZohoCRMService.for_client(row, "acme", http=zoho_http)
    assert crm.tenant == "acme"
    assert crm.client_id == "row-id"
    assert crm.is_configured()
    cal = ZohoCalendarService.for_client(row, "acme", http=zoho_http)
    assert cal.calendar_id == "cal-1"
    assert cal.is_configured()
    no_calendar = ZohoCalendarService.for_client({**row, "zoho_calendar_id": None}, http=zoho_http)
    assert not no_calendar.is_configured()  # credentials alone are not enough for Calendar


def test_for_client_ignores_a_rows_own_columns_and_refuses_the_constructors_names(
    zoho_http: ZohoHTTP,
) -> None:
    row = {"id": 7, "name": "Acme", "zoho_client_id": "row-id", "calendar_id": "primary"}
    # A client row carries columns of its own: they are not zohokit's business.
    assert ZohoCRMService.for_client(row, "acme", http=zoho_http).client_id == "row-id"
    # The constructor's name for a part, where the row's zoho_ column is expected, is the
    # newcomer's typo: refused here rather than "no Zoho calendar id" at the first call.
    with pytest.raises(ConfigurationError) as caught:
        ZohoCalendarService.for_client(row, "acme", http=zoho_http)
    assert "give zoho_calendar_id (not calendar_id)" in str(caught.value)
    with pytest.raises(ConfigurationError, match=r"zoho_refresh_token \(not refresh_token\)"):
        ZohoCRMService.for_client({"refresh_token": "1000.x"}, http=zoho_http)
    # Beside its zoho_ column, the same name is one of the row's own.
    both = {**row, "zoho_calendar_id": "cal-1"}
    assert ZohoCalendarService.for_client(both, "acme", http=zoho_http).calendar_id == "cal-1"


def test_the_calendar_falls_back_to_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("ZOHO_CALENDAR_ID", "env-cal")
    zoho = Zoho.from_settings(Settings())
    assert zoho.calendar("default", CREDENTIALS).calendar_id == "env-cal"
    assert zoho.calendar("default", CREDENTIALS, calendar_id="mine").calendar_id == "mine"


def test_a_root_from_plain_arguments_reads_no_environment(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.setenv("ZOHO_CLIENT_ID", "from-the-environment")
    environment.setenv("ZOHO_CALENDAR_ID", "env-cal")
    zoho = Zoho(database_url=f"sqlite:///{tmp_path / 'z.db'}", encryption_keys=generate_key())
    assert zoho.crm().client_id == ""
    assert zoho.calendar().calendar_id == ""
    given = Zoho(
        database_url=f"sqlite:///{tmp_path / 'z.db'}",
        encryption_keys=generate_key(),
        credentials=CREDENTIALS,
        calendar_id="cal-2",
    )
    assert given.crm("acme").is_configured()
    assert given.calendar("acme").calendar_id == "cal-2"


def test_a_root_without_a_database_or_a_key_names_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as no_db:
        Zoho(encryption_keys=generate_key())
    assert no_db.value.variables == ("ZOHOKIT_DATABASE_URL",)
    with pytest.raises(ConfigurationError) as no_key:
        Zoho(database_url=f"sqlite:///{tmp_path / 'z.db'}")
    assert "ZOHOKIT_ENCRYPTION_KEYS" in no_key.value.variables
    with pytest.raises(ConfigurationError, match="max_in_flight"):
        Zoho(database_url="sqlite://", encryption_keys=generate_key(), max_in_flight=0)
    with pytest.raises(ConfigurationError, match="use one of us eu") as no_dc:
        Zoho(database_url="sqlite://", encryption_keys=generate_key(), data_center="mars")
    assert no_dc.value.variables == ("ZOHO_DC",)


def test_no_secret_in_the_repr(zoho_http: ZohoHTTP) -> None:
    crm = ZohoCRMService(CREDENTIALS, "acme", http=zoho_http)
    assert CREDENTIALS["client_secret"] not in repr(crm)
    assert CREDENTIALS["refresh_token"] not in repr(crm)
    zoho = Zoho(
        database_url="postgresql://u:pa55word@db/zk",
        encryption_keys=generate_key(),
        credentials=CREDENTIALS,
    )
    assert "pa55word" not in repr(zoho)
    assert CREDENTIALS["client_secret"] not in repr(zoho)


@both_apis
async def test_get_access_token_comes_from_the_token_service(
    crm: ZohoCRMService,
    calendar: ZohoCalendarService,
    token_service: OAuthTokenService,
    emulator: Emulator,
) -> None:
    token = await crm.get_access_token()
    assert token in emulator.accounts.access_tokens
    # The service keeps nothing: the token service answers again, from its cache.
    assert await crm.get_access_token() == token
    assert not any(token in repr(v) for v in vars(crm).values())
    assert token not in repr(crm)
    status = await token_service.status("default", "zoho_crm")
    assert status is not None
    assert await token_service.get_access_token("default", "zoho_crm") == token
    assert crm.is_configured()
    assert crm.tenant == "default"
    assert await calendar.get_access_token() in emulator.accounts.access_tokens
    assert await token_service.status("default", "zoho_calendar") is not None
    assert emulator.stats.snapshot()["access_tokens_minted"] == 2  # one per provider


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
        "assert zohokit.crm.get_zoho_crm_service() is s\n"
        "assert zohokit.calendar.get_zoho_calendar_service() is c\n"
        "assert zohokit.tokens.get_oauth_token_service() is tokens\n"
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
