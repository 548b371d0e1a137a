"""Shared fixtures live in tests/fixtures/, one module per real component; the emulator's
come from zohokit's own pytest plugin (listed too, for a venv installed before it existed)."""

pytest_plugins = [
    "pytester",
    "zohokit_pytest",
    "tests.fixtures.emulator",
    "tests.fixtures.postgres",
]
