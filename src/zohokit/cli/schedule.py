"""``zohokit schedule``: show and set a tenant's availability schedule (stored in the database).

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

from zohokit.scheduling import BookingService, InvalidSchedule, TenantSchedule, load_schedule_file

from .bookings import console, out, run

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
