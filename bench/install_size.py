"""Install size: ``pip install zohokit`` from a built wheel into a fresh venv, measured as the
newcomer review measured the whole-service install (157 MB): ``du`` of the venv.

Builds this tree's wheel, makes a fresh venv (``python -m venv``: pip and setuptools come with
it), installs the wheel with its dependencies from the configured index, and prints the venv's
size on disk, the empty venv's, and every installed distribution's (the files its ``RECORD``
lists, compiled ``.pyc`` included, as pip writes them), largest first. Then the target (half
of 157 MB) and the smallest size the core's hard requirements allow (:data:`FLOOR`): the
empty venv plus SQLAlchemy and its migrations, cryptography, httpx and zohokit itself, each
with what it needs in turn.

``--extras server`` measures ``pip install 'zohokit[server]'`` instead; ``--then REV`` also
builds and measures the tree at git revision ``REV`` (``650ea97`` is the one the review
installed: 157 MB). Needs the package index (``pip install`` downloads what it lacks).

Usage: ``python bench/install_size.py [--extras server] [--then 650ea97]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The whole-service install the issue measured (``du`` of a fresh venv, in MB).
TODAY_MB = 157.0
#: What the core cannot do without, with what each needs in turn: SQLAlchemy (the token
#: store; greenlet for its asyncio, typing-extensions) and its migrations (alembic, mako,
#: markupsafe); cryptography (Fernet and AES-GCM of the stored tokens; cffi, pycparser);
#: httpx (every Zoho call; httpcore, anyio, h11, idna, certifi, sniffio); zohokit itself.
FLOOR = (
    "sqlalchemy", "greenlet", "typing_extensions", "alembic", "mako", "markupsafe",
    "cryptography", "cffi", "pycparser",
    "httpx", "httpcore", "anyio", "h11", "idna", "certifi", "sniffio",
    "zohokit",
)  # fmt: skip
#: Sizes of the installed distributions, by name, from inside the venv.
_SIZES = """
import importlib.metadata as md, json
from pathlib import Path
out = {}
for dist in md.distributions():
    total = 0
    for file in dist.files or []:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    out[dist.metadata["Name"].lower()] = total
print(json.dumps(out))
"""


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def du_mb(path: Path) -> float:
    """Disk usage of ``path`` in MB (``du -sk``: what the review's 157 MB is)."""
    return int(_run("du", "-sk", path).split()[0]) / 1024


def build_wheel(tree: Path, out: Path) -> Path:
    """The wheel of ``tree``, built offline with this environment's hatchling."""
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", out, tree)  # fmt: skip
    (wheel,) = out.glob("zohokit-*.whl")
    return wheel


def measure(wheel: Path, where: Path, extras: str) -> tuple[float, dict[str, int]]:
    """``du`` of a fresh venv with ``wheel[extras]`` installed, and each distribution's bytes."""
    venv = where / "venv"
    _run(sys.executable, "-m", "venv", venv)
    target = f"zohokit[{extras}] @ {wheel.as_uri()}" if extras else str(wheel)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
         target)  # fmt: skip
    sizes: dict[str, int] = json.loads(_run(venv / "bin" / "python", "-c", _SIZES))
    return du_mb(venv), sizes


def at_revision(revision: str, where: Path) -> Path:
    """This repository's tree at ``revision``, unpacked into ``where``."""
    archive = where / "tree.tar"
    _run("git", "-C", ROOT, "archive", "-o", archive, revision)
    tree = where / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def report(label: str, total: float, base: float, sizes: dict[str, int]) -> None:
    """Print one install's sizes, largest distribution first."""
    print(f"\n{label}: {total:.1f} MB on disk ({total - base:.1f} MB over the empty venv)")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<24} {size / 2**20:7.2f} MB")


def main() -> int:
    """Measure, print, and exit 1 when the core install misses the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extras", default="", help="e.g. server")
    parser.add_argument("--then", help="also measure the tree at this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "empty").mkdir()
        _run(sys.executable, "-m", "venv", work / "empty" / "venv")
        base = du_mb(work / "empty" / "venv")
        (work / "wheel").mkdir()
        wheel = build_wheel(ROOT, work / "wheel")
        (work / "now").mkdir()
        total, sizes = measure(wheel, work / "now", args.extras)
        print(f"python {sys.version.split()[0]}; the empty venv (pip, setuptools): {base:.1f} MB")
        report(f"pip install 'zohokit{f'[{args.extras}]' if args.extras else ''}'", total, base,
               sizes)  # fmt: skip
        if args.then:
            (work / "then").mkdir()
            old = build_wheel(at_revision(args.then, work / "then"), work / "then")
            then_total, then_sizes = measure(old, work / "then", "")
            report(f"pip install zohokit at {args.then}", then_total, base, then_sizes)
    target = TODAY_MB / 2
    floor = base + sum(sizes.get(name, 0) for name in FLOOR) / 2**20
    print(f"\ntarget (half of the {TODAY_MB:.0f} MB whole-service install): < {target:.1f} MB")
    print(f"floor: the empty venv + what the core cannot do without ({', '.join(FLOOR)}):")
    print(f"  {floor:.1f} MB (bytes of the files; du, counting whole blocks, says more)")
    met = total < target
    print(f"this install: {total:.1f} MB: {'met' if met else 'MISSED'}")
    return 0 if met or args.extras else 1


if __name__ == "__main__":
    raise SystemExit(main())
