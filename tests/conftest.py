"""Shared fixtures live in tests/fixtures/, one module per real component."""

pytest_plugins = ["tests.fixtures.emulator", "tests.fixtures.postgres"]
