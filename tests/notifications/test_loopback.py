"""The loop over real sockets: the emulator served on one loopback port, ``zohokit serve``
(uvicorn) on another, each on a thread of its own. An edit in the emulator is posted to the
service; the records are fetched back from the emulator and handed to the user's handler and
the outbox within 2 seconds, whether the handler lives in the service or in a worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from tests.fixtures.emulator import REFRESH_TOKEN, emulator_config
from tests.server.support import ServiceThread, free_socket, settings_for
from zohokit import Zoho
from zohokit.emulator import EmulatorServer
from zohokit.events import Event, read_events
from zohokit.notifications import RecordChange
from zohokit.server import ServerSettings, create_app
from zohokit.server._state import ServiceState
from zohokit.worker import Worker


async def arrived(zoho: Zoho, received: list[RecordChange]) -> list[Event]:
    """The ``crm.record.changed`` events, once the handler got a change (at most 2 s)."""

    async def wait() -> list[Event]:
        while True:
            events = await read_events(zoho.engine, type="crm.record.changed")
            if received and events:
                return events
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(wait(), timeout=2.0)


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[None]:
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        await task


def service_settings(tmp_path: Path, emulator: EmulatorServer, public: str) -> ServerSettings:
    return settings_for(
        tmp_path,
        zoho_api_url=emulator.url,
        zoho_accounts_url=emulator.url,
        zoho_refresh_token=SecretStr(REFRESH_TOKEN),
        zohokit_public_url=public,
    )


async def test_a_handler_in_the_service_gets_the_edit(tmp_path: Path) -> None:
    received: list[RecordChange] = []

    async def setup(state: ServiceState) -> None:
        state.zoho.notifications.on_change(received.append)

    sock = free_socket()
    host, port = sock.getsockname()[:2]
    public = f"http://{host}:{port}"
    with EmulatorServer(emulator_config()) as emulator:
        settings = service_settings(tmp_path, emulator, public)
        [lead] = emulator.emulator.crm.seed("Leads", [{"Last_Name": "Loop", "Company": "A"}])
        with ServiceThread(create_app(settings, setup=setup), sock):
            # The operator's side (another process, as ``zohokit notifications enable``).
            async with Zoho.from_settings(settings) as operator:
                await operator.notifications.enable(
                    "acme", "Leads", notify_url=f"{public}/zoho/notifications"
                )
                emulator.emulator.clock.advance(1)
                started = asyncio.get_running_loop().time()
                emulator.emulator.crm.edit("Leads", lead, {"Company": "B"})
                events = await arrived(operator, received)
                assert asyncio.get_running_loop().time() - started < 2.0
    [change] = received
    assert (change.id, change.op, change.source) == (lead, "updated", "notification")
    assert change.record is not None
    assert change.record["Company"] == "B"
    assert len(events) == 1
    assert emulator.emulator.stats.counts["notifications_sent"] == 1


async def test_a_handler_in_a_worker_gets_the_edit_the_service_stored(tmp_path: Path) -> None:
    sock = free_socket()
    host, port = sock.getsockname()[:2]
    public = f"http://{host}:{port}"
    with EmulatorServer(emulator_config()) as emulator:
        settings = service_settings(tmp_path, emulator, public)
        [lead] = emulator.emulator.crm.seed("Contacts", [{"Last_Name": "Worker"}])
        # A plain service: it has no handler, so it stores and leaves the rest to the worker.
        with ServiceThread(create_app(settings), sock):
            async with Zoho.from_settings(settings) as app:
                received: list[RecordChange] = []
                app.notifications.on_change(received.append)
                await app.notifications.enable(
                    "acme", "Contacts", notify_url=f"{public}/zoho/notifications"
                )
                async with running(Worker(app, poll_interval=0.1)):
                    emulator.emulator.clock.advance(1)
                    started = asyncio.get_running_loop().time()
                    emulator.emulator.crm.edit("Contacts", lead, {"Phone": "+1 555 0100"})
                    events = await arrived(app, received)
                    assert asyncio.get_running_loop().time() - started < 2.0
    assert [(c.id, c.op) for c in received] == [(lead, "updated")]
    assert [e.data["record_id"] for e in events] == [lead]
