"""Sync run events: a finished run writes ``sync.run.completed`` or ``sync.run.failed`` with
the report that saves it; a run still going writes none."""

from __future__ import annotations

import pytest

from zohokit.events import read_events
from zohokit.sync import Ledger
from zohokit.sync._report import tracked_run


async def test_a_finished_run_is_one_event_and_a_failed_run_another(ledger: Ledger) -> None:
    async with tracked_run(ledger, "acme", "Contacts", "push") as report:
        report.created, report.updated = 3, 1
        assert await read_events(ledger.engine) == []  # running: nothing yet
    with pytest.raises(RuntimeError, match="disk full"):
        async with tracked_run(ledger, "acme", "Contacts", "pull"):
            raise RuntimeError("disk full")

    done, failed = await read_events(ledger.engine, tenant="acme")
    assert done.type == "sync.run.completed"
    assert done.data["run_id"] == report.run_id
    assert (done.data["status"], done.data["created"], done.data["updated"]) == (
        "completed",
        3,
        1,
    )
    assert failed.type == "sync.run.failed"
    assert (failed.data["direction"], failed.data["message"]) == (
        "pull",
        "RuntimeError: disk full",
    )
