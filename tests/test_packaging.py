"""What a user gets from the built wheel, installed into a fresh virtual environment.

Each fresh environment holds only the zohokit wheel. The libraries it depends on are the test
environment's own, but only those the wheel's metadata asks for: the closure of its
requirements (for the extras asked) is linked into one folder that a ``.pth`` line adds. So the
checks need no download, import the wheel and never this source tree, and a library the core
install lacks (FastAPI, uvicorn) cannot be found by accident.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(sysconfig.get_paths()["purelib"])

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class FreshVenv:
    """A virtual environment with only the zohokit wheel installed in it."""

    path: Path
    wheel: Path
    dependencies: tuple[str, ...]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def zohokit(self) -> Path:
        return self.path / "bin" / "zohokit"


def _run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, check=False
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


def _wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    return re.findall(r"^Requires-Dist: (.+)$", metadata, re.MULTILINE)


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    marker = requirement.marker
    return marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""})


def closure(wheel: Path, extras: set[str]) -> dict[str, md.Distribution]:
    """The installed distributions ``pip install 'zohokit[EXTRAS]'`` would bring, by name."""
    found: dict[str, md.Distribution] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    own = _wheel_requirements(wheel)
    todo: list[tuple[Requirement, set[str]]] = [(Requirement(r), extras) for r in own]
    while todo:
        requirement, wanted = todo.pop()
        if not _applies(requirement, wanted):
            continue
        name = requirement.name.lower().replace("_", "-")
        if name == "zohokit":  # an extra naming others: zohokit[emulator]
            todo += [(Requirement(r), set(requirement.extras)) for r in own]
            continue
        # Seen before, its extras may still add requirements (sqlalchemy[asyncio]).
        if (name, frozenset(requirement.extras)) in done:
            continue
        done.add((name, frozenset(requirement.extras)))
        dist = md.distribution(name)
        found[name] = dist
        todo += [(Requirement(r), set(requirement.extras)) for r in dist.requires or []]
    return found


def installed_size(dists: dict[str, md.Distribution]) -> int:
    """Bytes on disk of the files those distributions installed."""
    total = 0
    for dist in dists.values():
        for file in dist.files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total


def _link_into(folder: Path, dists: dict[str, md.Distribution]) -> None:
    folder.mkdir()
    for dist in dists.values():
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            if not (folder / top).exists() and (SITE / top).exists():
                (folder / top).symlink_to(SITE / top)


def make_venv(wheel: Path, where: Path, extras: set[str]) -> FreshVenv:
    """A new venv with the wheel installed and exactly its dependency closure reachable."""
    made = _run(sys.executable, "-m", "venv", where / "venv")  # pip from ensurepip: offline
    assert made.returncode == 0, made.stderr
    dists = closure(wheel, extras)
    venv = FreshVenv(where / "venv", wheel, tuple(sorted(dists)))
    _link_into(where / "deps", dists)
    site = _run(venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # A path line, not an import: no other .pth file of the test environment (among them the
    # editable install of src/) is processed, so `import zohokit` finds only the wheel.
    (Path(site.stdout.strip()) / "_test_dependencies.pth").write_text(f"{where / 'deps'}\n")
    installed = _run(venv.python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture(scope="session")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    """``pip install zohokit``: no extra."""
    return make_venv(wheel, tmp_path_factory.mktemp("core"), set())


@pytest.fixture(scope="session")
def server_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    """``pip install 'zohokit[server]'``."""
    return make_venv(wheel, tmp_path_factory.mktemp("server"), {"server"})


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env.update(HOME=str(tmp_path), ZOHOKIT_DATA_DIR=str(tmp_path / "data"))
    return env


def test_the_wheel_ships_the_typing_marker(wheel: Path) -> None:
    assert "zohokit/py.typed" in zipfile.ZipFile(wheel).namelist()


def test_the_fresh_venv_imports_the_wheel_not_the_source_tree(core_venv: FreshVenv) -> None:
    where = _run(core_venv.python, "-c", "import zohokit; print(zohokit.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(core_venv.path)


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


def test_a_users_mypy_strict_sees_zohokits_types(core_venv: FreshVenv, tmp_path: Path) -> None:
    """A user's ``mypy --strict`` type-checks calls into zohokit: the correct code passes and
    the wrong call is reported (without ``py.typed`` mypy would refuse the import instead)."""
    (tmp_path / "app.py").write_text(textwrap.dedent(USER_CODE))
    checked = _run(
        sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
        "--python-executable", core_venv.python, "--cache-dir", tmp_path / "cache", "app.py",
        cwd=tmp_path,
    )  # fmt: skip
    errors = checked.stdout.strip().splitlines()
    assert len(errors) == 1, checked.stdout + checked.stderr
    assert errors[0].startswith('app.py:15: error: Argument 2 to "get_record"')
    assert '"int"; expected "str"' in errors[0]


SERVICE_STACK = {"fastapi", "uvicorn", "starlette", "jinja2", "itsdangerous", "python-multipart"}


def test_the_core_install_leaves_the_service_stack_and_postgres_out(wheel: Path) -> None:
    core = closure(wheel, set())
    assert {"httpx", "sqlalchemy", "typer", "cryptography", "alembic"} <= set(core)
    assert not (SERVICE_STACK | {"asyncpg", "uvloop"}) & set(core)
    everything = closure(wheel, {"server", "emulator", "postgres"})
    # The figure the issue asks for: how much of the full install the core one is.
    share = installed_size(core) / installed_size(everything)
    print(f"core install: {installed_size(core) / 1e6:.1f} MB, {share:.0%} of the full one")
    assert share < 0.75


def test_the_core_cli_runs_token_commands_without_the_service(
    core_venv: FreshVenv, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    assert _run(core_venv.python, "-c", "import fastapi").returncode != 0
    helped = _run(core_venv.zohokit, "tokens", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "Stored Zoho OAuth tokens" in helped.stdout
    # A real command: migrates a SQLite database (every part's tables, the service's too).
    listed = _run(core_venv.zohokit, "tokens", "list", env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "no tokens stored yet" in listed.stdout


@pytest.mark.parametrize(("command", "extra"), [("serve", "server"), ("emulator", "emulator")])
def test_a_command_whose_extra_is_missing_says_what_to_install(
    core_venv: FreshVenv, tmp_path: Path, command: str, extra: str
) -> None:
    answer = _run(core_venv.zohokit, command, "--port", "0", env=_env(tmp_path))
    assert answer.returncode == 1
    assert f"pip install 'zohokit[{extra}]'" in " ".join(answer.stderr.split())


def test_a_postgres_url_without_the_extra_says_what_to_install(
    core_venv: FreshVenv, tmp_path: Path
) -> None:
    env = {**_env(tmp_path), "ZOHOKIT_DATABASE_URL": "postgresql://u@127.0.0.1:1/db"}
    answer = _run(core_venv.zohokit, "tokens", "list", env=env)
    assert answer.returncode == 1
    assert "pip install 'zohokit[postgres]'" in " ".join(answer.stdout.split())


def test_the_server_extra_runs_the_sandbox(server_venv: FreshVenv, tmp_path: Path) -> None:
    assert "fastapi" in server_venv.dependencies
    proc = subprocess.Popen(
        [server_venv.zohokit, "serve", "--sandbox", "--port", "0", "--data-dir", tmp_path / "box"],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found is not None, line + proc.stderr.read() if proc.stderr else line
        answer = httpx.get(f"{found.group(0)}/healthz", timeout=30)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
