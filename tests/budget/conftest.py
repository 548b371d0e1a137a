"""Budget tests: several roots ("processes": each its own engine, token service, request path
and budget) on one real database (SQLite file, and a private PostgreSQL), calling one
in-process emulator, so what they share is only what the fleet shares: the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.http.support import CREDENTIALS, FastRetry
from tests.scheduling.support import CIPHER_KEY
from zohokit import Zoho
from zohokit.budget import BudgetConfig
from zohokit.emulator import Emulator, create_app

TENANT = "default"
Roots = Callable[..., Awaitable[Zoho]]


@pytest.fixture
async def roots(db_url: str, emulator: Emulator) -> AsyncIterator[Roots]:
    """Build roots on the test's database and emulator; ``roots(**options)`` gives one more
    (options go to :class:`Zoho`; ``budget=`` a :class:`BudgetConfig`). All are closed after."""
    built: list[Zoho] = []
    app = create_app(emulator)

    async def make(**options: Any) -> Zoho:
        options.setdefault("retry", FastRetry())
        options.setdefault("budget", BudgetConfig(tick=0.05))
        options.setdefault("transport", httpx.ASGITransport(app=app))
        root = Zoho(
            database_url=db_url,
            encryption_keys=CIPHER_KEY,
            credentials=CREDENTIALS,
            accounts_url=emulator.base_url,
            calendar_id=emulator.calendar.primary_uid,
            **options,
        )
        built.append(root)
        await root.migrate()
        return root

    yield make
    for root in built:
        await root.aclose()


async def read(root: Zoho, tenant: str = TENANT) -> int:
    """One CRM read, as any caller makes it; its HTTP status."""
    answer = await root.http.request(
        tenant, "zoho_crm", "GET", "/crm/v8/Leads", params={"fields": "Email"}
    )
    return answer.status


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait until ``condition()`` holds (checked every 10 ms), at most ``seconds``."""
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")
