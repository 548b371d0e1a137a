"""Which asked-for scopes a grant lacks, and where the asked-for ones come from."""

from __future__ import annotations

from zohokit.settings import DEFAULT_SCOPES, Settings
from zohokit.tokens._models import missing_scopes


def test_a_grant_covering_every_scope_lacks_nothing() -> None:
    assert missing_scopes(DEFAULT_SCOPES["zoho_crm"], DEFAULT_SCOPES["zoho_crm"]) == ()


def test_an_all_scope_covers_the_narrower_ones_under_it_whatever_the_case() -> None:
    granted = ("zohocrm.modules.all", "ZohoCRM.settings.ALL")
    required = (
        "ZohoCRM.modules.READ",
        "ZohoCRM.modules.contacts.CREATE",
        "ZohoCRM.settings.fields.READ",
    )
    assert missing_scopes(granted, required) == ()


def test_the_missing_ones_are_named_in_the_order_asked() -> None:
    granted = ("ZohoCRM.modules.READ", "ZohoCRM.settings.ALL")
    required = ("ZohoCRM.coql.READ", "ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL")
    # READ does not cover ALL, and an ALL of another group covers nothing here.
    assert missing_scopes(granted, required) == ("ZohoCRM.coql.READ", "ZohoCRM.modules.ALL")


def test_zohokit_scopes_splits_by_service_and_keeps_defaults_for_the_other() -> None:
    settings = Settings(zohokit_scopes=" ZohoCRM.modules.ALL, ZohoCalendar.event.READ ,")
    assert settings.scopes("zoho_crm") == ("ZohoCRM.modules.ALL",)
    assert settings.scopes("zoho_calendar") == ("ZohoCalendar.event.READ",)
    crm_only = Settings(zohokit_scopes="ZohoCRM.modules.ALL")
    assert crm_only.scopes("zoho_calendar") == DEFAULT_SCOPES["zoho_calendar"]
    assert Settings(zohokit_scopes=None).scopes("zoho_crm") == DEFAULT_SCOPES["zoho_crm"]
