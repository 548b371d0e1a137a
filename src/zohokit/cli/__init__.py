"""The ``zohokit`` command. Each concern lives in its own module and registers itself here."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from . import bookings as bookings_cli
from . import db as db_cli
from . import emulator as emulator_cli
from . import schedule as schedule_cli
from . import sync as sync_cli
from . import tokens as tokens_cli
from ._console import make_console
from .serve import serve_command

app = typer.Typer(
    name="zohokit",
    help="Zoho CRM and Zoho Calendar for many tenants: tokens, clients, and an offline Zoho.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(emulator_cli.app, name="emulator")
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(db_cli.app, name="db")
app.add_typer(sync_cli.app, name="sync")
app.add_typer(schedule_cli.app, name="schedule")
app.add_typer(bookings_cli.app, name="bookings")
app.command("availability")(bookings_cli.availability_command)
app.command("serve")(serve_command)


@app.callback()
def _root() -> None:
    # A callback keeps typer in group mode, so `zohokit emulator` stays a subcommand even
    # while it is the only one.
    """Zoho CRM and Zoho Calendar for many tenants: tokens, clients, and an offline Zoho."""


def main() -> None:
    """Entry point of the ``zohokit`` console script."""
    try:
        app()
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        # A bad ZOHO_* / ZOHOKIT_* variable: name it, without a traceback or its value
        # (the value may be a secret).
        console = make_console(stderr=True)
        for problem in exc.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            console.print(f"[red]invalid setting[/red] {escape(name)}: {escape(problem['msg'])}")
        raise SystemExit(2) from None
