"""zohokit's pytest plugin: the fixtures documented in :mod:`zohokit.testing`.

pytest imports every ``pytest11`` plugin of a virtualenv at the start of every run, whatever
the suite. This module is what the entry point names, and it imports only pytest at load:
zohokit (SQLAlchemy, httpx, pydantic, the emulator) is imported by a fixture when a test
asks for one. With plugin autoloading off, add ``-p zohokit_pytest`` (or list it in
``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from zohokit import Zoho
    from zohokit.emulator import EmulatorConfig
    from zohokit.testing import EmulatorHandle

__all__ = ["zoho", "zoho_emulator", "zoho_emulator_config", "zoho_emulator_server"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``zoho_emulator`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "zoho_emulator(**settings): EmulatorConfig fields for this test's zohokit emulator",
    )


@pytest.fixture
def zoho_emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """The configuration the emulator fixtures start from; override it in a conftest."""
    from zohokit.testing import emulator_config_for

    return emulator_config_for(request.node)


@pytest.fixture
def zoho_emulator(zoho_emulator_config: EmulatorConfig) -> Iterator[EmulatorHandle]:
    """A fresh emulator in process: ``.url``, ``.transport``, credentials, ``.emulator``."""
    from zohokit.testing import in_process

    handle = in_process(zoho_emulator_config)
    yield handle
    handle.emulator.close()  # a data file (``@pytest.mark.zoho_emulator(data=...)``)


@pytest.fixture
def zoho_emulator_server(zoho_emulator_config: EmulatorConfig) -> Iterator[EmulatorHandle]:
    """A fresh emulator on a loopback port, for code that opens its own connections."""
    from zohokit.testing import on_loopback

    with on_loopback(zoho_emulator_config) as handle:
        yield handle


async def _zoho(zoho_emulator: EmulatorHandle, tmp_path: Path) -> AsyncIterator[Zoho]:
    """A :class:`zohokit.Zoho` root on ``zoho_emulator``, migrated, closed afterwards."""
    from zohokit.testing import sqlite_url

    async with zoho_emulator.zoho(sqlite_url(tmp_path)) as root:
        yield root


def _needs_pytest_asyncio(zoho_emulator: EmulatorHandle, tmp_path: Path) -> Zoho:
    """Needs pytest-asyncio: the root's database and connections live on a test's loop."""
    raise pytest.UsageError(
        "the zoho fixture needs pytest-asyncio (pip install pytest-asyncio); or build a root "
        "yourself with zoho_emulator.zoho(database_url)"
    )


zoho: Any
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only where pytest-asyncio is missing
    zoho = pytest.fixture(_needs_pytest_asyncio, name="zoho")
else:
    # pytest-asyncio's own decorator: the fixture then works in its strict mode too.
    zoho = pytest_asyncio.fixture(_zoho, name="zoho")
