"""``zohokit sync schedule``: pushes and pulls that the worker runs every N minutes.

``add push`` and ``add pull`` take the options of ``zohokit sync push`` / ``pull`` plus
``--every``; the worker (``zohokit worker``, ``zohokit serve --worker``) runs each schedule as
the job ``sync.scheduled``, never two runs of one tenant at once.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from zohokit.cli._console import make_console
from zohokit.cli._options import JsonOpt, OnlyTenantOpt
from zohokit.cli._sync_options import FileArg, PullOptions, PushOptions, TenantOpt, with_options
from zohokit.sync import InvalidSyncSchedule, SyncSchedule, format_interval, parse_interval

from .tokens import _run_root

app = typer.Typer(
    help="Pushes and pulls the worker runs every N minutes: add, list, remove, run-now.",
    no_args_is_help=True,
)
add_app = typer.Typer(help="Add a scheduled push or pull.", no_args_is_help=True)
app.add_typer(add_app, name="add")
console = make_console(stderr=True)

NameArg = Annotated[str, typer.Argument(help="The schedule's name (unique per tenant).")]
EveryOpt = Annotated[
    str, typer.Option("--every", "-e", help="How often: 90s, 15m, 1h30m, 1d (1 minute to 31 days).")
]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Replace a schedule of the same name.")]
CheckOpt = Annotated[
    bool,
    typer.Option("--check/--no-check", help="Check the module and fields at Zoho first."),
]


def _interval(every: str) -> timedelta:
    try:
        return parse_interval(every)
    except InvalidSyncSchedule as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from exc


def _added(found: SyncSchedule) -> None:
    console.print(
        f"schedule {escape(found.name)} of {escape(found.tenant)}: {escape(found.what)}, every"
        f" {format_interval(found.interval)}; first run due now (the worker runs it)"
    )


@add_app.command("push")
@with_options
def add_push_command(
    name: NameArg,
    file: FileArg,
    every: EveryOpt,
    options: PushOptions,
    replace: ReplaceOpt = False,
    check: CheckOpt = True,
) -> None:
    """Push FILE into a CRM module every --every, as `zohokit sync push` does (unchanged rows
    cost nothing). FILE is read again at each run."""
    interval = _interval(every)
    mapping = options.mapping()
    found = _run_root(
        lambda zoho: zoho.sync_schedules.add_push(
            options.tenant,
            name,
            source=file,
            mapping=mapping,
            every=interval,
            mirror=options.mirror,
            max_attempts=options.max_attempts,
            replace=replace,
            check=check,
        )
    )
    _added(found)


@add_app.command("pull")
@with_options
def add_pull_command(
    name: NameArg,
    every: EveryOpt,
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", help="JSONL file per run; {time} becomes the run's start time."
        ),
    ],
    options: PullOptions,
    replace: ReplaceOpt = False,
    check: CheckOpt = True,
) -> None:
    """Pull what changed in a CRM module every --every into a new JSONL file per run, as
    `zohokit sync pull` does (a run with no change leaves no file)."""
    interval = _interval(every)
    wanted = options.field_list()
    found = _run_root(
        lambda zoho: zoho.sync_schedules.add_pull(
            options.tenant,
            name,
            module=options.module,
            out=out,
            every=interval,
            fields=wanted,
            overlap=options.overlap_time(),
            deletions=options.deletions,
            replace=replace,
            check=check,
        )
    )
    _added(found)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "-"


def schedules_table(schedules: list[SyncSchedule]) -> Table:
    """The schedules as a table (``list``, and ``zohokit worker status``)."""
    table = Table(
        "tenant", "name", "what", "every", "next run", "last run", "status", title="sync schedules"
    )
    for s in schedules:
        status = s.last_status or "-"
        if s.last_status == "failed":
            status = f"[red]{status}[/red]"
        elif s.last_status in ("budget_exhausted", "completed_with_errors"):
            status = f"[yellow]{status}[/yellow]"
        table.add_row(
            escape(s.tenant),
            escape(s.name),
            escape(s.what),
            format_interval(s.interval),
            _when(s.next_run_at),
            _when(s.last_started_at),
            status,
        )
    return table


@app.command("list")
def list_command(
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every scheduled sync: what it does, how often, when it runs next, how the last run went."""
    found = _run_root(lambda zoho: zoho.sync_schedules.list(tenant))
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in found], indent=2))
        return
    if not found:
        console.print("no sync schedule yet (zohokit sync schedule add push|pull ...)")
        return
    make_console().print(schedules_table(found))


@app.command("remove")
def remove_command(name: NameArg, tenant: TenantOpt = "default") -> None:
    """Remove a schedule: a run in progress finishes, no other starts."""
    if not _run_root(lambda zoho: zoho.sync_schedules.remove(tenant, name)):
        console.print(
            f"[red]error:[/red] tenant {escape(tenant)!r} has no schedule {escape(name)!r}"
        )
        raise typer.Exit(1)
    console.print(f"schedule {escape(name)} of {escape(tenant)} removed")


@app.command("run-now")
def run_now_command(name: NameArg, tenant: TenantOpt = "default") -> None:
    """Make a schedule due now (the worker runs it at once; the later runs keep their times)."""
    found = _run_root(lambda zoho: zoho.sync_schedules.run_now(tenant, name))
    console.print(f"schedule {escape(found.name)} of {escape(found.tenant)} is due now")
