"""What a user gets from the built wheel, installed into a fresh virtual environment.

The fresh environment holds only the zohokit wheel; the libraries it depends on come from the
test environment through a ``.pth`` line, so the checks need no download and still import the
wheel, never this source tree.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class FreshVenv:
    """A virtual environment with only the zohokit wheel installed in it."""

    path: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """zohokit's wheel, built from this tree (hatchling from the test environment: offline)."""
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", out, ROOT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("zohokit-*.whl")
    return found


@pytest.fixture(scope="session")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    """A new venv with the wheel installed and the test environment's libraries reachable."""
    path = tmp_path_factory.mktemp("venv")
    made = _run(sys.executable, "-m", "venv", path)  # pip from ensurepip: offline
    assert made.returncode == 0, made.stderr
    venv = FreshVenv(path, wheel)
    site = _run(venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # A path line, not an import: the test environment's own .pth files (among them the
    # editable install of src/) are not processed, so `import zohokit` finds only the wheel.
    deps = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "_test_dependencies.pth").write_text(deps + "\n")
    installed = _run(venv.python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_wheel_ships_the_typing_marker(wheel: Path) -> None:
    assert "zohokit/py.typed" in zipfile.ZipFile(wheel).namelist()


def test_the_fresh_venv_imports_the_wheel_not_the_source_tree(fresh_venv: FreshVenv) -> None:
    where = _run(fresh_venv.python, "-c", "import zohokit; print(zohokit.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(fresh_venv.path)


USER_CODE = """\
from zohokit import ZohoCRMService, ZohoError


async def newest_lead_email(crm: ZohoCRMService) -> str | None:
    try:
        async for record in crm.list_records("Leads", fields=["Email"]):
            email = record.get("Email")
            return email if isinstance(email, str) else None
    except ZohoError:
        return None
    return None


async def wrong(crm: ZohoCRMService) -> None:
    await crm.get_record("Leads", 42)  # the record id is a str
"""


def test_a_users_mypy_strict_sees_zohokits_types(fresh_venv: FreshVenv, tmp_path: Path) -> None:
    """A user's ``mypy --strict`` type-checks calls into zohokit: the correct code passes and
    the wrong call is reported (without ``py.typed`` mypy would refuse the import instead)."""
    (tmp_path / "app.py").write_text(textwrap.dedent(USER_CODE))
    checked = _run(
        sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
        "--python-executable", fresh_venv.python, "--cache-dir", tmp_path / "cache", "app.py",
        cwd=tmp_path,
    )  # fmt: skip
    errors = checked.stdout.strip().splitlines()
    assert len(errors) == 1, checked.stdout + checked.stderr
    assert errors[0].startswith('app.py:15: error: Argument 2 to "get_record"')
    assert '"int"; expected "str"' in errors[0]
