"""The root object across a close: what it built on its engine is built again on the next
engine, and what it keeps for the process (the registered job kinds) stays."""

from __future__ import annotations

from pathlib import Path

from zohokit import Zoho
from zohokit.jobs import JobContext
from zohokit.tokens import generate_key


async def _nothing(_context: JobContext) -> None:
    return None


async def test_a_closed_root_opens_again_on_a_new_engine_keeping_its_job_kinds(
    tmp_path: Path,
) -> None:
    zoho = Zoho(database_url=f"sqlite:///{tmp_path / 'z.db'}", encryption_keys=generate_key())
    zoho.jobs.register("test.nothing", _nothing)
    async with zoho:
        first = zoho.engine
        schedules, ledger = zoho.sync_schedules, zoho.ledger
        await zoho.jobs.schedule("test.nothing", "once")
        assert await zoho.sync_schedules.list() == []
    async with zoho:
        assert zoho.engine is not first
        # The scheduled syncs, the ledger and the job store run on the new engine, not the
        # disposed one (which nothing would close again).
        assert zoho.sync_schedules is not schedules
        assert zoho.ledger is not ledger
        assert zoho.sync_schedules.engine is zoho.engine
        assert zoho.sync_schedules.ledger is zoho.ledger
        assert zoho.jobs.store.engine is zoho.engine
        assert await zoho.sync_schedules.list() == []
        status = {s.kind: s for s in await zoho.jobs.status()}
        assert status["test.nothing"].due == 1  # the kind stayed registered across the close
