"""``zohokit db``: database maintenance."""

from __future__ import annotations

import typer

from zohokit.cli._console import make_console
from zohokit.db import upgrade
from zohokit.settings import Settings

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply the migrations to ZOHOKIT_DATABASE_URL (a SQLite file in the data dir by default)."""
    url = Settings().database_url()
    upgrade(url)
    # Render without the password: the URL may carry one.
    from sqlalchemy.engine import make_url

    make_console().print(
        f"database is up to date: {make_url(url).render_as_string(hide_password=True)}"
    )
