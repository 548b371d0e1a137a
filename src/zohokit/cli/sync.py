"""``zohokit sync``: push a file into Zoho CRM, pull changes back, list runs.

The commands read the environment as the rest of zohokit does (``ZOHOKIT_DATABASE_URL``
holds the ledger next to the tokens; ``ZOHO_*`` give the tenant's OAuth client).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape  # messages may hold [brackets]
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import database_failures, make_console
from zohokit.cli._options import OnlyTenantOpt
from zohokit.cli._sync_options import FileArg, PullOptions, PushOptions, with_options
from zohokit.crm import ZohoCRMService
from zohokit.db import storage_errors
from zohokit.errors import ZohoError
from zohokit.settings import Settings
from zohokit.sync import (
    DEFAULT_BULK_THRESHOLD,
    Ledger,
    MappingError,
    RunReport,
    SourceError,
    count_rows,
    pull,
    push,
    read_rows,
)

app = typer.Typer(
    help="Push records into Zoho CRM and pull changes back, through a ledger.",
    no_args_is_help=True,
)
console = make_console(stderr=True)
T = TypeVar("T")

ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Also write the run report as JSON to this file.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _run(tenant: str, work: Callable[[ZohoCRMService, Ledger], Awaitable[T]]) -> T:
    """Run ``work`` with the tenant's CRM service and the ledger; errors become exit code 1."""

    async def main() -> T:
        async with Zoho.from_settings(Settings()) as zoho:
            return await work(zoho.crm(tenant), zoho.ledger)

    try:
        return asyncio.run(main())
    except (ZohoError, MappingError, SourceError, OSError) as exc:
        # OSError: a file the user named (``--out``, ``--report``) cannot be written.
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc


#: How each status reads in a table: plain words, coloured by how much it needs a look.
_STATUS_STYLE = {
    "completed": "green",
    "completed_with_errors": "yellow",
    "budget_exhausted": "yellow",
    "failed": "red",
}


def _status(report: RunReport) -> str:
    style = _STATUS_STYLE.get(report.status)
    return f"[{style}]{report.status_text}[/{style}]" if style else report.status_text


def _summary(report: RunReport) -> Table:
    if report.status == "planned":
        return _plan(report)
    title = f"{report.direction} {report.module} for {report.tenant}: {_status(report)}"
    table = Table(title=title)
    counts = ["created", "updated", "unchanged", "failed", "parked", "invalid", "deleted"]
    counts.append("echoes")
    for column in counts:
        table.add_column(column, justify="right")
    table.add_column("API calls", justify="right")
    table.add_column("credits", justify="right")
    values = [getattr(report, name) for name in counts] + [report.api_calls, report.credits]
    table.add_row(*(str(v) for v in values))
    return table


def _plan(report: RunReport) -> Table:
    """A dry run: what the push would do, with a few rows of each kind."""
    title = f"dry run: push {report.module} for {report.tenant} (nothing sent)"
    table = Table("rows", "count", "for example", title=title)
    invalid = [f"row {p['row']}: {p['field']}" for p in report.problems[:3]]
    kinds = [
        ("to create", report.created, report.samples.get("create", [])),
        ("to update", report.updated, report.samples.get("update", [])),
        ("unchanged", report.unchanged, []),
        ("parked (skipped)", report.parked, []),
        ("invalid (would be refused)", report.invalid, invalid),
        ("without a usable key", report.failed, []),
    ]
    for label, count, samples in kinds:
        table.add_row(label, str(count), escape(", ".join(samples)) or "-")
    return table


def _problems(report: RunReport) -> Table | None:
    if not report.problems:
        return None
    title = "values refused before sending (nothing sent for these rows)"
    table = Table("row", "field", "expected", "got", title=title)
    for p in report.problems:
        table.add_row(str(p["row"]), p["field"], escape(p["expected"]), escape(p["got"]))
    if report.invalid > len(report.problems):
        table.caption = f"first {len(report.problems)} of {report.invalid} rows; see --report"
    return table


def _errors(report: RunReport) -> Table | None:
    if not report.errors:
        return None
    table = Table("code", "rows", "example row", "message", title="errors by code")
    for code, group in sorted(report.errors.items(), key=lambda item: -item[1].count):
        if code == "INVALID_VALUE":
            continue  # listed value by value below
        table.add_row(code, str(group.count), group.example_key or "-", group.example_message)
    return table if table.row_count else None


def _finish(report: RunReport, path: Path | None) -> None:
    console.print(_summary(report))
    for extra in (_errors(report), _problems(report)):
        if extra is not None:
            console.print(extra)
    if path is not None:
        try:
            path.write_text(report.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from exc


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


@app.command("push")
@with_options
def push_command(
    file: FileArg,
    options: PushOptions,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check and plan only: print what would change, write nothing."
        ),
    ] = False,
    report_path: ReportOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Upsert the rows of FILE into a CRM module; unchanged rows cost no API call.

    The module, the fields and every value are checked against the tenant's field metadata
    before the first write; rows whose values do not fit are left out and listed.
    """
    if not file.exists():
        raise typer.BadParameter(f"{file} does not exist", param_hint="FILE")
    mapping = options.mapping()
    total = count_rows(file)

    async def work(crm: ZohoCRMService, ledger: Ledger) -> RunReport:
        with _progress(quiet) as bar:
            task = bar.add_task(f"push {mapping.module}", total=total, detail="")

            def advance(report: RunReport) -> None:
                done = (
                    report.created
                    + report.updated
                    + report.unchanged
                    + report.failed
                    + report.parked
                    + report.invalid
                )
                detail = f"{report.api_calls} calls, {report.failed} failed"
                bar.update(task, completed=done, detail=detail)

            return await push(
                crm,
                ledger,
                read_rows(file),
                mapping,
                max_attempts=options.max_attempts,
                mirror=options.mirror and not dry_run,
                on_progress=advance,
                dry_run=dry_run,
                # The file's length is known: a small one goes straight to the records API.
                bulk_threshold=DEFAULT_BULK_THRESHOLD if total >= DEFAULT_BULK_THRESHOLD else None,
            )

    report = _run(options.tenant, work)
    _finish(report, report_path)
    if report.failed or report.invalid:
        raise typer.Exit(2)


@app.command("pull")
@with_options
def pull_command(
    options: PullOptions,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="JSONL file to write changes to.")
    ] = Path("changes.jsonl"),
    report_path: ReportOpt = None,
) -> None:
    """Write what changed in a CRM module since the last pull to a JSONL file."""
    wanted = options.field_list()

    async def work(crm: ZohoCRMService, ledger: Ledger) -> RunReport:
        return await pull(
            crm,
            ledger,
            options.module,
            fields=wanted,
            out=out,
            overlap=options.overlap_time(),
            deletions=options.deletions,
        )

    report = _run(options.tenant, work)
    _finish(report, report_path)


@app.command("status")
def status_command(
    tenant: OnlyTenantOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """List the latest sync runs and the ledger's rows by status."""

    settings = Settings()

    async def main() -> tuple[list[RunReport], dict[tuple[str, str, str], int]]:
        with storage_errors(settings.database_url()):
            async with Zoho.from_settings(settings) as zoho:
                return await zoho.ledger.runs(tenant, limit), await zoho.ledger.status_counts(
                    tenant
                )

    with database_failures():
        runs, counts = asyncio.run(main())
    if as_json:
        ledger_rows = [
            {"tenant": t, "module": m, "status": s, "rows": n}
            for (t, m, s), n in sorted(counts.items())
        ]
        payload = {"runs": [r.to_dict() for r in runs], "ledger": ledger_rows}
        typer.echo(json.dumps(payload, indent=2))
        return
    out = make_console()
    table = Table(
        "started", "tenant", "module", "dir", "status", "created", "updated", title="sync runs"
    )
    for column in ("unchanged", "failed", "parked", "invalid", "deleted", "calls", "seconds"):
        table.add_column(column, justify="right")
    for r in runs:
        table.add_row(
            r.started_at[:19],
            r.tenant,
            r.module,
            r.direction,
            _status(r),
            str(r.created),
            str(r.updated),
            str(r.unchanged),
            str(r.failed),
            str(r.parked),
            str(r.invalid),
            str(r.deleted),
            str(r.api_calls),
            f"{r.seconds:.1f}" if r.seconds is not None else "-",
        )
    out.print(table)
    ledger_table = Table("tenant", "module", "status", "rows", title="ledger")
    for (t, m, s), n in sorted(counts.items()):
        ledger_table.add_row(t, m, s, str(n))
    out.print(ledger_table)


from . import sync_schedule as _schedule_cli  # noqa: E402  (its commands use this group's)

app.add_typer(_schedule_cli.app, name="schedule")
