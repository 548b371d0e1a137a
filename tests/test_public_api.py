"""The public surface changes only on purpose."""

from __future__ import annotations
import __future__

import inspect
import os
import pickle
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import zohokit

#: Built on first look-up (PEP 562), so absent from the module's namespace until then.
LAZY = {"oauth_token_service", "zoho_crm_service", "zoho_calendar_service"}


def _ruff_order(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps every __all__ in: CONSTANTS, then Classes, then the rest.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_exactly_the_public_names_in_order() -> None:
    public = {
        name
        for name, value in vars(zohokit).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType | __future__._Feature)  # subpackages, directives
    }
    expected = sorted(public | LAZY | {"__version__"}, key=_ruff_order)
    assert zohokit.__all__ == expected


def test_every_name_resolves() -> None:
    for name in set(zohokit.__all__) - LAZY:
        assert hasattr(zohokit, name), name


def test_exported_classes_and_functions_name_zohokit_as_their_module() -> None:
    exported = [getattr(zohokit, n) for n in zohokit.__all__ if n not in LAZY]
    named = [v for v in exported if inspect.isclass(v) or inspect.isfunction(v)]
    assert named
    assert {v.__qualname__: v.__module__ for v in named} == {
        v.__qualname__: "zohokit" for v in named
    }
    assert repr(zohokit.OAuthTokenService) == "<class 'zohokit.OAuthTokenService'>"


def test_exported_classes_still_pickle_and_resolve_their_annotations() -> None:
    error = pickle.loads(pickle.dumps(zohokit.NotFound("gone", tenant="acme")))
    assert type(error) is zohokit.NotFound
    assert "tenant=acme" in str(error)
    for name in zohokit.__all__:
        value = getattr(zohokit, name, None) if name not in LAZY else None
        if inspect.isclass(value):
            typing.get_type_hints(value)  # raises NameError if a name no longer resolves


def test_public_names_have_docstrings() -> None:
    for name in zohokit.__all__:
        if name.startswith("_") or name in LAZY:
            continue
        value = getattr(zohokit, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_importing_creates_no_file_and_opens_no_database(tmp_path: Path) -> None:
    """With a complete configuration, a service built at import would create its database
    and key file under the data folder and load a database driver."""
    home, work, data = tmp_path / "home", tmp_path / "work", tmp_path / "data"
    home.mkdir()
    work.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))},
        "HOME": str(home),
        "ZOHOKIT_DATA_DIR": str(data),
        "ZOHO_CLIENT_ID": "1000.TEST",
        "ZOHO_CLIENT_SECRET": "secret",
        "ZOHO_REFRESH_TOKEN": "1000.refresh",
    }
    code = (
        "import sys\n"
        "import zohokit, zohokit.tokens, zohokit.crm, zohokit.calendar, zohokit.http\n"
        "import zohokit.sync, zohokit.scheduling, zohokit.availability, zohokit.db\n"
        "print(sorted({'aiosqlite', 'asyncpg', 'sqlite3'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=work, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"  # no database driver loaded
    assert sorted(tmp_path.rglob("*")) == [home, work]  # no file anywhere
