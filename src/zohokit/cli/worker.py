"""``zohokit worker``: run the job loop until SIGTERM/SIGINT; ``zohokit worker status``.

The worker reads the environment as the rest of zohokit does (``ZOHOKIT_DATABASE_URL``: every
worker of a fleet points at the same database; ``ZOHO_*`` for tenants seeded from the
environment).
"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import make_console, run_on_root
from zohokit.cli._options import JsonOpt
from zohokit.cli.sync_schedule import schedules_table
from zohokit.errors import ZohoError
from zohokit.sync import SCHEDULED_SYNC, SyncSchedule
from zohokit.worker import KindStatus, Worker
from zohokit.worker._standard import install

app = typer.Typer(
    help="Run the background jobs (token refresh ahead, syncs, retries, ...) until stopped.",
    invoke_without_command=True,
)
console = make_console(stderr=True)
out = make_console(soft_wrap=True)


async def _serve_until_signalled(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


@app.callback()
def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by this process.", min=1)] = 8,
    poll: Annotated[
        float, typer.Option(help="Seconds between looks for due jobs with no wake-up.", min=0.01)
    ] = 1.0,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Run only this kind (repeatable).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
    grace: Annotated[
        float, typer.Option(help="Seconds running jobs get to finish on SIGTERM.", min=0)
    ] = 30.0,
) -> None:
    """Run the job loop until SIGTERM or Ctrl-C (graceful: running jobs finish or are handed
    back). Start as many as you like on one PostgreSQL; on SQLite, one host."""
    if ctx.invoked_subcommand is not None:
        return

    async def work(zoho: Zoho) -> int:
        worker = Worker(zoho, kinds=kind, concurrency=concurrency, poll_interval=poll, grace=grace)
        kinds = ", ".join(sorted(worker.kinds))
        if once:
            return await worker.run_due()
        console.print(f"zohokit worker {worker.name} running: {escape(kinds)}")
        await _serve_until_signalled(worker)
        console.print("zohokit worker stopped")
        return 0

    ran = run_on_root(work, console, errors=(ZohoError, ValueError))
    if once:
        console.print(f"ran {ran} job(s)")


def _when(status: KindStatus) -> str:
    last = status.last_run
    if last is None:
        return "never"
    return f"{last.started_at:%Y-%m-%d %H:%M:%S} {last.outcome}"


@app.command("status")
def status_command(
    as_json: JsonOpt = False,
) -> None:
    """Per job kind: due now, scheduled later, running, failed, and the last run."""

    async def work(zoho: Zoho) -> tuple[list[KindStatus], list[SyncSchedule]]:
        install(zoho.jobs)  # every kind a worker runs is listed, even before its first job
        return await zoho.jobs.status(), await zoho.sync_schedules.list()

    statuses, schedules = run_on_root(work, console)
    if as_json:
        listed = [s.as_dict() for s in statuses]
        for entry in listed:
            if entry["kind"] == SCHEDULED_SYNC:  # its jobs are the schedules: say which
                entry["schedules"] = [s.to_dict() for s in schedules]
        typer.echo(json.dumps(listed, indent=2))
        return
    table = Table("kind", "due", "scheduled", "running", "failed", "last run", "last error")
    for s in statuses:
        error = s.last_run.error if s.last_run and s.last_run.error else ""
        table.add_row(
            s.kind,
            str(s.due),
            str(s.scheduled),
            str(s.running),
            f"[red]{s.failed}[/red]" if s.failed else "0",
            _when(s),
            escape(error[:80]),
        )
    out.print(table)
    if schedules:
        out.print(schedules_table(schedules))
