"""``zohokit schedule``: show and set a tenant's availability schedule (stored in the database),
and explain why a time has no slot.

The file is the TOML of ``docs/scheduling.md`` plus an optional ``[zoho]`` table::

    [zoho]
    calendar_id = "..."          # where booking events go (default: ZOHO_CALENDAR_ID)
    user_email = "ann@acme.com"  # whose free/busy is busy time (default: the calendar's events)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape  # messages may hold [brackets]
from rich.table import Table

from zohokit.scheduling import BookingService, InvalidSchedule, TenantSchedule, load_schedule_file

from ._options import JsonOpt
from .bookings import SlotMinutesOpt, _aware, console, out, run

app = typer.Typer(help="Show and set tenants' availability schedules.", no_args_is_help=True)


@app.command("show")
def show_command(
    tenant: Annotated[str, typer.Argument(help="Whose schedule.")],
) -> None:
    """Print TENANT's schedule as JSON (the same keys as the TOML file)."""
    entry = run(lambda s: s.get_schedule(tenant))
    out.print_json(json.dumps(entry.to_dict()))


@app.command("set")
def set_command(
    tenant: Annotated[str, typer.Argument(help="Whose schedule.")],
    file: Annotated[
        Path, typer.Option("--file", "-f", exists=True, dir_okay=False, help="schedule.toml")
    ],
) -> None:
    """Replace TENANT's schedule with the one in a TOML file (checked before it is stored)."""
    try:
        parsed = load_schedule_file(tenant, file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        console.print(f"[red]error:[/red] {escape(f'{file}: not UTF-8; save it as UTF-8')}")
        raise typer.Exit(1) from exc
    except InvalidSchedule as exc:
        console.print(f"[red]error:[/red] {escape(f'{file}: {exc}')}")
        raise typer.Exit(1) from exc

    async def store(service: BookingService) -> TenantSchedule:
        return await service.set_schedule(
            tenant,
            parsed.schedule,
            calendar_id=parsed.calendar_id,
            user_email=parsed.user_email,
            team=parsed.team,
        )

    entry = run(store)
    console.print(f"schedule of {tenant} stored ({entry.schedule.time_zone})")


@app.command("explain")
def explain_command(
    tenant: Annotated[str, typer.Argument(help="Whose schedule.")],
    start: Annotated[str, typer.Option("--start", help="From, ISO 8601 with an offset.")],
    end: Annotated[str, typer.Option("--end", help="To (exclusive), ISO 8601 with an offset.")],
    duration: SlotMinutesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why TENANT offers no slot between two times: for each host and each slot its hours
    would hold, the rule that removed it (working_hours, time_off, busy, buffer, notice,
    window, daily_limit, weekly_limit), or "offered"."""
    first, last = _aware(start), _aware(end)
    if last <= first:
        raise typer.BadParameter("--end must be after --start", param_hint="--end")
    verdicts = run(lambda s: s.explain(tenant, first, last, duration=duration))
    if as_json:
        out.print_json(json.dumps([v.to_dict() for v in verdicts]))
        return
    table = Table("host", "UTC start", "UTC end", "rule", "why", title=f"{tenant}: why (not)")
    for v in verdicts:
        rule = v.rule.value if v.rule is not None else "offered"
        table.add_row(
            v.host, f"{v.start:%Y-%m-%d %H:%M}", f"{v.end:%Y-%m-%d %H:%M}", rule, escape(v.detail)
        )
    out.print(table)
