"""Without PostgreSQL a PostgreSQL test is skipped on a developer's machine, and fails the run
under ``CI=true``: CI must never pass by hiding the half of the suite that needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

INNER = """
def test_needs_postgres(postgres_cluster):
    assert postgres_cluster.port
"""


def _run_without_postgres(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> pytest.RunResult:
    """A one-test project run in a subprocess (its environment: this one, changed here) with
    the PostgreSQL fixture pointed at a folder with no binaries."""
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.postgres"]\n')
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # a bare pytest starts fast
    monkeypatch.setenv("ZOHOKIT_TEST_PG_BIN", str(pytester.path / "no-such-bin"))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")


def test_a_missing_postgres_skips_on_a_developers_machine(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_without_postgres(pytester, monkeypatch, None)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*apt-get install postgresql-15*"])


def test_a_missing_postgres_fails_the_run_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_without_postgres(pytester, monkeypatch, "true")
    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*apt-get install postgresql-15*"])
