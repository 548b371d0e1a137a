"""The ``zohokit`` command. Each concern lives in its own module and registers itself here."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from zohokit import __version__
from zohokit.errors import ConfigurationError
from zohokit.logs import configure_logging
from zohokit.settings import LogSettings

from . import bookings as bookings_cli
from . import budget as budget_cli
from . import db as db_cli
from . import notifications as notifications_cli
from . import schedule as schedule_cli
from . import sync as sync_cli
from . import tokens as tokens_cli
from . import webhooks as webhooks_cli
from . import worker as worker_cli
from ._console import make_console
from ._help import plain_help
from .doctor import doctor_command
from .setup import setup_command

#: The commands that need an extra, and the modules that extra installs.
EXTRAS = {
    "emulator": ("emulator", ("starlette", "uvicorn")),
    "serve": ("server", ("fastapi", "starlette", "uvicorn", "jinja2", "itsdangerous", "multipart")),
}

app = typer.Typer(
    name="zohokit",
    help="Zoho CRM and Zoho Calendar for many tenants: tokens, clients, and an offline Zoho.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(db_cli.app, name="db")
app.add_typer(sync_cli.app, name="sync")
app.add_typer(schedule_cli.app, name="schedule")
app.add_typer(bookings_cli.app, name="bookings")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(worker_cli.app, name="worker")
app.add_typer(webhooks_cli.app, name="webhooks")
app.add_typer(budget_cli.app, name="budget")
app.command("availability")(bookings_cli.availability_command)
app.command("doctor")(doctor_command)
app.command("setup")(setup_command)


def missing_extra(command: str) -> str | None:
    """The extra ``zohokit COMMAND`` needs and this install lacks (``None``: it can run)."""
    extra, modules = EXTRAS[command]
    if all(importlib.util.find_spec(module) is not None for module in modules):
        return None
    return extra


def _needs(command: str, extra: str) -> None:
    """Stand in for a command whose extra is missing: say what to install, whatever is typed."""

    def stand_in(ctx: typer.Context) -> None:
        make_console(stderr=True).print(
            f"[red]zohokit {command} needs the {extra} extra:[/red] "
            f"pip install 'zohokit\\[{extra}]'"
        )
        raise typer.Exit(1)

    stand_in.__doc__ = f"(needs: pip install 'zohokit[{extra}]')"
    settings = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
    app.command(command, context_settings=settings)(stand_in)


def _register_extras() -> None:
    # Imported only when their extra is installed: the core install has no Starlette.
    if (extra := missing_extra("emulator")) is None:
        from . import emulator as emulator_cli

        app.add_typer(emulator_cli.app, name="emulator")
    else:
        _needs("emulator", extra)
    if (extra := missing_extra("serve")) is None:
        from .serve import serve_command

        app.command("serve")(serve_command)
    else:
        _needs("serve", extra)


_register_extras()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zohokit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # A callback keeps typer in group mode, so `zohokit emulator` stays a subcommand even
    # while it is the only one.
    """Zoho CRM and Zoho Calendar for many tenants: tokens, clients, and an offline Zoho."""
    # Every command (serve and worker included) logs as ZOHOKIT_LOG_FORMAT says.
    logs = LogSettings()
    configure_logging(logs.zohokit_log_format, logs.zohokit_log_level)


plain_help(app)


def main() -> None:
    """Entry point of the ``zohokit`` console script."""
    try:
        app()
    except ConfigurationError as exc:
        # Raised while reading the settings (ZOHOKIT_SANDBOX naming no sandbox, ...).
        make_console(stderr=True).print(f"[red]error:[/red] {escape(exc.message)}")
        raise SystemExit(2) from None
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
