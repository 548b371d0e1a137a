"""The dependency arrows of ARCHITECTURE.md hold: server, cli -> scheduling, sync -> crm,
calendar -> http -> tokens -> db, settings; the emulator imports nothing of the client side,
and nothing in the library imports server, cli or emulator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "zohokit"

#: What each part of zohokit may import from zohokit (besides itself).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_clock": set(),
    "settings": {"errors", "datacenters"},
    "datacenters": {"errors"},
    "db": {"settings", "errors"},
    "migrations": {"db", "settings", "errors", "tokens", "sync", "scheduling", "server"},
    "tokens": {"_clock", "db", "settings", "errors", "datacenters"},
    "http": {"tokens", "db", "settings", "errors", "datacenters"},
    "availability": {"errors"},
    "crm": {"http", "tokens", "db", "settings", "errors", "datacenters"},
    "calendar": {"availability", "http", "tokens", "db", "settings", "errors", "datacenters"},
    "scheduling": {
        "_clock",
        "availability",
        "calendar",
        "crm",
        "http",
        "tokens",
        "db",
        "settings",
        "errors",
        "datacenters",
    },
    "sync": {"_clock", "crm", "http", "tokens", "db", "settings", "errors", "datacenters"},
    "emulator": set(),
}


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    parts: set[str] = set()
    package = ".".join(("zohokit", *path.relative_to(SRC).parent.parts))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
                if not node.module:
                    names = [f"{names[0]}.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.startswith("zohokit."):
                parts.add(name.split(".")[1])
    return parts


FILES = sorted(p for p in SRC.rglob("*.py") if _part(p) in ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_one_way(path: Path) -> None:
    part = _part(path)
    wrong = _imported_parts(path) - ALLOWED[part] - {part}
    assert not wrong, f"{path.relative_to(SRC)} ({part}) imports {sorted(wrong)}"
