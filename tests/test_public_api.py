"""The public surface changes only on purpose."""

from __future__ import annotations

import inspect
import subprocess
import sys

import zohokit


def test_all_names_resolve_and_every_public_class_is_exported() -> None:
    lazy = {"oauth_token_service", "zoho_crm_service", "zoho_calendar_service"}
    for name in set(zohokit.__all__) - lazy:
        assert hasattr(zohokit, name), name
    defined_here = {
        name
        for name, value in vars(zohokit).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("zohokit")
    }
    assert defined_here <= set(zohokit.__all__), defined_here - set(zohokit.__all__)
    assert sorted(zohokit.__all__, key=str.lower) == sorted(zohokit.__all__, key=str.lower)


def test_public_names_have_docstrings() -> None:
    for name in zohokit.__all__:
        if name.startswith("_") or name in {
            "oauth_token_service",
            "zoho_crm_service",
            "zoho_calendar_service",
        }:
            continue
        value = getattr(zohokit, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_import_reads_no_environment_and_builds_no_service() -> None:
    # With no ZOHO_* set, a service built at import would raise or touch a database.
    code = (
        "import os, sys\n"
        "for k in list(os.environ):\n"
        "    if k.startswith(('ZOHO', 'ZOHOKIT')): del os.environ[k]\n"
        "import zohokit, zohokit.tokens, zohokit.crm, zohokit.calendar\n"
        "assert zohokit.tokens._default is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
