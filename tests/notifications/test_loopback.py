"""The loop over real sockets: the emulator served on one loopback port, ``zohokit serve``
(uvicorn) on another, each on a thread of its own; an edit in the emulator is posted to the
service, which fetches the record back from the emulator and hands it to the handler
registered in the service, and to the outbox, within 2 seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from tests.fixtures.emulator import REFRESH_TOKEN, emulator_config
from tests.server.support import ServiceThread, free_socket, settings_for
from zohokit import Zoho
from zohokit.emulator import EmulatorServer
from zohokit.events import read_events
from zohokit.notifications import RecordChange
from zohokit.server import create_app
from zohokit.server._state import ServiceState


async def test_an_edit_crosses_loopback_to_the_services_handler(tmp_path: Path) -> None:
    received: list[RecordChange] = []

    async def setup(state: ServiceState) -> None:
        state.zoho.notifications.on_change(received.append)

    sock = free_socket()
    host, port = sock.getsockname()[:2]
    public = f"http://{host}:{port}"
    with EmulatorServer(emulator_config()) as emulator:
        settings = settings_for(
            tmp_path,
            zoho_api_url=emulator.url,
            zoho_accounts_url=emulator.url,
            zoho_refresh_token=SecretStr(REFRESH_TOKEN),
            zohokit_public_url=public,
        )
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

                async def arrived() -> list[object]:
                    while True:
                        events = await read_events(operator.engine, type="crm.record.changed")
                        if received and events:
                            return list(events)
                        await asyncio.sleep(0.02)

                events = await asyncio.wait_for(arrived(), timeout=2.0)
                assert asyncio.get_running_loop().time() - started < 2.0
    [change] = received
    assert (change.id, change.op, change.source) == (lead, "updated", "notification")
    assert change.record is not None
    assert change.record["Company"] == "B"
    assert len(events) == 1
    assert emulator.emulator.stats.counts["notifications_sent"] == 1
