"""The dependency arrows of ARCHITECTURE.md hold: `server`, `cli` (and `worker`) -> the root
package -> `scheduling`, `sync` -> `crm`, `calendar` -> `http` -> `tokens` -> `db`, `settings`;
the emulator imports nothing of the client side, and nothing in the library imports `server`,
`cli` or `emulator`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "zohokit"

#: Imported by any part of the client side: no dependencies of their own.
LEAVES = {"errors", "_clock", "_files", "logs", "_seed"}

#: What each part of the library may import from zohokit (besides itself and LEAVES).
LIBRARY: dict[str, set[str]] = {
    "errors": set(),
    "_clock": set(),
    "_files": set(),
    "logs": set(),
    "_seed": set(),
    "settings": {"datacenters"},
    "datacenters": set(),
    "db": {"settings"},
    # One Alembic chain holds every part's tables, so its env.py knows them all.
    "migrations": {
        "db",
        "settings",
        "tokens",
        "sync",
        "scheduling",
        "server",
        "events",
        "webhooks",
        "notifications",
        "jobs",
        "budget",
        "traffic",
    },
    # The outbox sits under everything that emits an event (tokens, sync, bookings, notify).
    "events": {"db", "settings"},
    # Delivery: endpoints' secrets are sealed with the token keys.
    "webhooks": {"events", "jobs", "tokens", "db", "settings", "datacenters"},
    "tokens": {"events", "db", "settings", "datacenters"},
    "budget": {"db", "settings"},
    "http": {"budget", "tokens", "events", "db", "settings", "datacenters"},
    "availability": set(),
    "crm": {"http", "budget", "tokens", "events", "db", "settings", "datacenters"},
    "calendar": {
        "availability",
        "http",
        "budget",
        "tokens",
        "events",
        "db",
        "settings",
        "datacenters",
    },
    "scheduling": {
        "availability",
        "calendar",
        "crm",
        "http",
        "budget",
        "tokens",
        "events",
        "db",
        "settings",
        "datacenters",
    },
    # Scheduled syncs are jobs of the worker.
    "sync": {"crm", "http", "budget", "tokens", "events", "jobs", "db", "settings", "datacenters"},
    # Channels, the inbox and the reconcile pull: over the sync ledger and the CRM client.
    "notifications": {
        "sync",
        "crm",
        "http",
        "budget",
        "tokens",
        "events",
        "jobs",
        "db",
        "settings",
        "datacenters",
    },
    # Durable jobs (tables, schedule, the registry of kinds): the worker runs them.
    "jobs": {"db", "settings"},
    # The Zoho call history: the root wires its recorder into the request path.
    "traffic": {"db", "settings"},
}
_LIB = set(LIBRARY)

#: The root package re-exports the library, and its ``Zoho`` object (``_zoho``) wires it;
#: the edges build on both.
ROOT = {"__init__", "_zoho"}
ALLOWED: dict[str, set[str]] = {
    **{part: deps | LEAVES for part, deps in LIBRARY.items() if part not in LEAVES},
    **{part: set() for part in LEAVES},
    "__init__": _LIB | {"_zoho"},
    "_zoho": _LIB,
    "worker": _LIB | ROOT,
    # The blocking API: an edge for Django/Flask/Celery code, over the async root.
    "blocking": _LIB | ROOT,
    # The sandbox runs an emulator in process; `serve --worker` runs the job loop.
    "server": _LIB | ROOT | {"emulator", "worker"},
    "cli": _LIB | ROOT | {"server", "emulator", "worker"},
    # The pytest plugin's fixtures: an edge for users' suites, wiring a root to an emulator.
    "testing": _LIB | ROOT | {"emulator"},
    "__main__": {"cli"},
    "emulator": set(),
}


def _part_of(dotted: str) -> str | None:
    """The part a ``zohokit...`` module name belongs to (``None`` outside zohokit)."""
    names = dotted.split(".")
    if names[0] != "zohokit":
        return None
    if len(names) == 1:
        return "__init__"
    return names[1]


def _imported_parts(source: str, package: str) -> set[str]:
    """Every part of zohokit that ``source`` (a module of ``package``) imports: ``import
    zohokit.x``, ``from zohokit.x import y``, ``from zohokit import x``, relative forms, and
    ``importlib.import_module("zohokit.x")`` with a literal name; nested and
    ``TYPE_CHECKING`` imports included."""
    modules: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "zohokit":
                # `from zohokit import x`: a part if x is one, else a name of the root package.
                for alias in node.names:
                    is_part = (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").exists()
                    modules.append(f"zohokit.{alias.name}" if is_part else "zohokit")
            else:
                modules.append(module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules.append(node.args[0].value)
    return {part for m in modules if (part := _part_of(m)) is not None}


def _part(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _package(path: Path) -> str:
    return ".".join(("zohokit", *path.relative_to(SRC).parent.parts))


FILES = sorted(SRC.rglob("*.py"))

#: The seed's module-level defaults (``ZohoCRMService()`` with no wiring,
#: ``oauth_token_service``, ``zoho_crm_service``, ...) run on the lazily built default root,
#: which sits above these modules and wires them. They may reach it only from inside a
#: function: at call time, never at import.
SEED_DEFAULT_HOOKS = {
    "_seed.py",
    "http/_service.py",
}


def _without_functions(source: str) -> str:
    """``source`` with every function body dropped: what runs at import."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [n for n in body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.unparse(tree)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_one_way(path: Path) -> None:
    part = _part(path)
    assert part in ALLOWED, f"{part} is a new part of zohokit: give it a rule in ALLOWED"
    found = _imported_parts(path.read_text(), _package(path))
    wrong = found - ALLOWED[part] - {part}
    if str(path.relative_to(SRC)) in SEED_DEFAULT_HOOKS:
        at_import = _imported_parts(_without_functions(path.read_text()), _package(path))
        assert "_zoho" not in at_import, f"{path.relative_to(SRC)} imports the root at import"
        wrong -= {"_zoho"}
    assert not wrong, f"{path.relative_to(SRC)} ({part}) imports {sorted(wrong)}"


#: Arrows that point up, on purpose. The chain's env.py describes the service's tables
#: (``tenants``, ``oauth_states``), which live in ``server/_tables.py`` (no FastAPI there).
KNOWN_INVERSIONS = {("migrations", "server")}


def test_the_library_imports_no_edge() -> None:
    edges = {"server", "cli", "worker", "emulator", "__main__"}
    for part in [*LIBRARY, "__init__"]:
        upward = {(part, edge) for edge in ALLOWED[part] & edges}
        assert upward <= KNOWN_INVERSIONS, part


def test_every_import_form_is_seen() -> None:
    source = (
        "from zohokit import http\n"
        "from zohokit import Settings\n"
        "import zohokit.server as s\n"
        "from .. import cli\n"
        "from ..sync._ledger import Ledger\n"
        "from . import _store\n"
        "import importlib\n"
        "importlib.import_module('zohokit.emulator')\n"
        "def later():\n"
        "    from zohokit.scheduling import BookingService\n"
    )
    assert _imported_parts(source, "zohokit.tokens") == {
        "http",
        "__init__",
        "server",
        "cli",
        "sync",
        "tokens",
        "emulator",
        "scheduling",
    }
