"""``zohokit.testing``, the pytest plugin, as a user meets it: a throwaway project made by
pytester uses its fixtures with nothing in a conftest, and a suite that uses none of them does
not pay for zohokit at start-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

#: The inner runs leave out the test environment's plugins that a user's project here has no
#: use for (schemathesis alone takes seconds to import): zohokit's plugin and pytest-asyncio
#: still come from their installed entry points.
OPTIONS = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
OPTIONS += ("-p", "no:anyio")

#: One user's test file: a sync written against zohokit, checked on the emulator.
USER_TESTS = """
import datetime as dt

import httpx
import pytest


@pytest.mark.asyncio
async def test_a_lead_lands_in_crm_and_an_event_in_the_calendar(zoho, zoho_emulator):
    [result] = await zoho.crm().insert_records("Leads", [{"Last_Name": "Lovelace"}])
    assert result.ok, result
    stored = zoho_emulator.emulator.crm.records("Leads")
    assert [(r["id"], r["Last_Name"]) for r in stored] == [(result.id, "Lovelace")]

    start = dt.datetime(2031, 3, 4, 10, tzinfo=dt.UTC)
    event = await zoho.calendar().create_event("Intro", start, start + dt.timedelta(hours=1))
    events = zoho_emulator.emulator.calendar.events(zoho_emulator.emulator.calendar.primary_uid)
    assert [e["uid"] for e in events] == [event["uid"]]


def test_the_loopback_emulator_answers_plain_http(zoho_emulator_server):
    answer = httpx.post(
        f"{zoho_emulator_server.url}/oauth/v2/token",
        data={"grant_type": "refresh_token", **zoho_emulator_server.credentials},
    )
    assert answer.json()["api_domain"] == zoho_emulator_server.url


@pytest.mark.zoho_emulator(edition="free")
def test_a_marker_configures_the_emulator(zoho_emulator):
    assert zoho_emulator.emulator.config.edition == "free"
"""


def test_a_throwaway_project_uses_the_plugin_with_no_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    # A subprocess: the plugin must come from the installed entry point, not from our suite.
    result = pytester.runpytest_subprocess(*OPTIONS, "--strict-markers")
    result.assert_outcomes(passed=3)


def test_a_bad_marker_names_the_settings_to_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.zoho_emulator(colour="red")
        def test_it(zoho_emulator):
            pass
        """
    )
    result = pytester.runpytest_subprocess(*OPTIONS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown setting colour; use *edition*"])


def test_a_suite_that_uses_no_fixture_imports_no_zohokit(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            heavy = sorted(
                m for m in sys.modules
                if m.split(".")[0] in ("zohokit", "sqlalchemy", "httpx", "pydantic")
            )
            print("PLUGIN", "zohokit_pytest" in sys.modules, "HEAVY", heavy)
        """
    )
    pytester.makepyfile("def test_nothing():\n    assert True\n")
    result = pytester.runpytest_subprocess(*OPTIONS, "-s")
    result.assert_outcomes(passed=1)
    assert "PLUGIN True HEAVY []" in result.stdout.str()


def test_the_docs_complete_example_passes(pytester: pytest.Pytester) -> None:
    """docs/emulator.md's example project, as printed."""
    text = (Path(__file__).parents[1] / "docs" / "emulator.md").read_text()
    section = text[text.index("### A complete example") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "docs/emulator.md lost its complete example"
    pytester.makepyfile(test_leads=found.group(1))
    result = pytester.runpytest_subprocess(*OPTIONS, "--strict-markers")
    result.assert_outcomes(passed=3)
