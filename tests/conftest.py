"""Shared fixtures live in tests/fixtures/, one module per real component; the emulator's
come from zohokit's own pytest plugin (listed too, for a venv installed before it existed)."""

import os

# pytest-xdist gives its workers COLUMNS=80 and LINES=24, which no user's pipe has: the CLI's
# tables would wrap at 80 columns there and not in a serial run. Both runs see the same now.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

pytest_plugins = [
    "pytester",
    "zohokit_pytest",
    "tests.fixtures.emulator",
    "tests.fixtures.postgres",
]
