"""``zohokit notifications``: watch tenants' CRM modules through Zoho's notification channels.

``enable`` opens (or renews) a channel per tenant and module that posts to ``zohokit serve``
(``ZOHOKIT_PUBLIC_URL`` + ``/zoho/notifications``, or ``--notify-url``); ``list`` shows them
with their expiry; ``disable`` closes one. The worker renews channels, processes the inbox
and runs the reconcile pull on its own; ``renew``, ``process`` and ``reconcile`` do the same
once, by hand (a cron line without the worker, or to check a tenant).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape  # messages may hold [brackets]
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import database_failures, make_console
from zohokit.cli._options import JsonOpt, OnlyTenantOpt
from zohokit.db import storage_errors
from zohokit.errors import ConfigurationError, ZohoError
from zohokit.settings import Settings

app = typer.Typer(
    help="Zoho CRM notification channels: enable, list, disable, renew; process, reconcile.",
    no_args_is_help=True,
)
console = make_console(stderr=True)
T = TypeVar("T")

#: The path ``zohokit serve`` receives notifications at.
NOTIFICATIONS_PATH = "/zoho/notifications"

Tenant = Annotated[str, typer.Option("--tenant", "-t", help="Whose CRM.")]
Module = Annotated[str, typer.Option("--module", "-m", help="The module's API name (Contacts).")]


def _run(work: Callable[[Zoho], Awaitable[T]]) -> T:
    """Run ``work`` on a root built from the environment; errors become a red line, exit 1."""
    settings = Settings()

    async def main() -> T:
        with storage_errors(settings.database_url()):
            async with Zoho.from_settings(settings) as zoho:
                return await work(zoho)

    try:
        with database_failures():
            return asyncio.run(main())
    except (ZohoError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(f'{type(exc).__name__}: {exc}')}")
        raise typer.Exit(1) from exc


def _notify_url(given: str | None) -> str:
    if given:
        return given
    public = Settings().zohokit_public_url
    if not public:
        raise ConfigurationError(
            "give --notify-url, or set ZOHOKIT_PUBLIC_URL to the URL Zoho reaches "
            "zohokit serve at (the channel posts to it + /zoho/notifications)",
            variables=("ZOHOKIT_PUBLIC_URL",),
        )
    return public.rstrip("/") + NOTIFICATIONS_PATH


@app.command("enable")
def enable_command(
    tenant: Tenant,
    module: Module,
    notify_url: Annotated[
        str | None,
        typer.Option(help="Where Zoho posts (default: $ZOHOKIT_PUBLIC_URL/zoho/notifications)."),
    ] = None,
    events: Annotated[
        str, typer.Option(help="Comma-separated operations to watch: create, edit, delete.")
    ] = "create,edit,delete",
) -> None:
    """Watch MODULE of TENANT: enable (or renew) its notification channel at Zoho."""
    try:
        url = _notify_url(notify_url)
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from exc
    operations = [op.strip() for op in events.split(",") if op.strip()]
    channel = _run(
        lambda zoho: zoho.notifications.enable(
            tenant, module, notify_url=url, operations=operations
        )
    )
    expires = channel.expires_at.isoformat() if channel.expires_at else "?"
    console.print(
        f"{escape(tenant)} {escape(module)}: channel {channel.channel_id} posts to "
        f"{escape(channel.notify_url)} until {expires} (the worker renews it)"
    )


@app.command("list")
def list_command(
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the notification channels zohokit keeps, with their expiry and last error."""
    channels = _run(lambda zoho: zoho.notifications.channels(tenant))
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in channels], indent=2))
        return
    table = Table("tenant", "module", "channel", "status", "expires", "last error")
    for c in channels:
        table.add_row(
            c.tenant,
            c.module,
            c.channel_id,
            c.status,
            c.expires_at.isoformat(timespec="seconds") if c.expires_at else "",
            c.last_error or "",
        )
    make_console().print(table)


@app.command("disable")
def disable_command(tenant: Tenant, module: Module) -> None:
    """Stop watching MODULE of TENANT (disabled at Zoho and here)."""
    if _run(lambda zoho: zoho.notifications.disable(tenant, module)):
        console.print(f"{escape(tenant)} {escape(module)}: notifications disabled")
    else:
        console.print(f"{escape(tenant)} has no active notification channel on {escape(module)}")
        raise typer.Exit(1)


@app.command("renew")
def renew_command() -> None:
    """Renew every channel that expires within a day (the worker does it on its own)."""
    due = _run(lambda zoho: zoho.notifications.renew_due())
    console.print(f"next renewal due {due.isoformat(timespec='seconds') if due else 'never'}")


@app.command("process")
def process_command(
    tenant: OnlyTenantOpt = None,
) -> None:
    """Process the notifications received and not processed yet."""
    count = _run(lambda zoho: zoho.notifications.process(tenant))
    console.print(f"{count} change(s) delivered")


@app.command("reconcile")
def reconcile_command(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Whose CRM.")] = None,
    module: Annotated[str | None, typer.Option("--module", "-m", help="The module.")] = None,
) -> None:
    """Pull what notifications may have missed (one module, or every watched one)."""
    if (tenant is None) != (module is None):
        console.print("[red]error:[/red] give both --tenant and --module, or neither (all)")
        raise typer.Exit(2)

    async def work(zoho: Zoho) -> int:
        if tenant is not None and module is not None:
            report = await zoho.notifications.reconcile(tenant, module)
            return report.created + report.updated + report.deleted
        return await zoho.notifications.reconcile_all()

    console.print(f"{_run(work)} change(s) read")
