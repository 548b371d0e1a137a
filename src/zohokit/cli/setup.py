"""``zohokit setup``: from nothing to a tenant connected to real Zoho, with prompts or flags.

It asks for the data centre and the OAuth client, prints the redirect URI to register and the
scopes zohokit asks for, then connects the tenant: from a Self Client grant code at once
(the same path as ``zohokit tokens exchange``), or by printing what ``zohokit serve`` needs
and its connect URL for the browser flow. ``docs/getting-started.md`` walks through it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import typer

from zohokit.datacenters import by_code
from zohokit.settings import CALLBACK_PATH, PROVIDERS, Settings

from ._console import make_console
from .tokens import (
    ClientIdOpt,
    ClientSecretOpt,
    DataCenterOpt,
    ProviderOpt,
    client_of,
    data_center_of,
    exchange_grant,
    print_exchanged,
)

console = make_console(soft_wrap=True)

#: Where ``zohokit serve`` is reached when ``--public-url`` / ``ZOHOKIT_PUBLIC_URL`` is unset.
LOCAL_URL = "http://127.0.0.1:8000"


def api_console_url(data_center: str) -> str:
    """Zoho's API console of a data centre (``https://api-console.zoho.eu`` for ``eu``)."""
    return by_code(data_center).accounts_url.replace("://accounts.", "://api-console.", 1)


def setup_command(
    tenant: Annotated[
        str, typer.Option("--tenant", "-t", help="The tenant to connect.")
    ] = "default",
    dc: DataCenterOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: ClientSecretOpt = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            envvar="ZOHOKIT_PUBLIC_URL",
            show_envvar=False,
            help=f"Where browsers reach zohokit serve (default $ZOHOKIT_PUBLIC_URL, else "
            f"{LOCAL_URL}): the redirect URI is this plus {CALLBACK_PATH}.",
        ),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="A Self Client grant code: connect now, no browser."),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser", help="Connect through zohokit serve's browser flow.")
    ] = False,
    provider: ProviderOpt = "zoho_crm",
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt: fail on what is missing.")
    ] = False,
) -> None:
    """Connect TENANT to real Zoho: data centre, OAuth client, redirect URI, scopes, grant."""
    if provider not in PROVIDERS:
        raise typer.BadParameter(f"use one of {', '.join(PROVIDERS)}", param_hint="--provider")
    settings = Settings()
    if settings.zohokit_sandbox is not None:
        # The sandbox wins over every Zoho host: the tenant would be connected to its emulator.
        console.print(
            f"[yellow]warning:[/yellow] ZOHOKIT_SANDBOX={settings.zohokit_sandbox} is set, so "
            "this connects the tenant inside the sandbox; `unset ZOHOKIT_SANDBOX` for real Zoho"
        )
    ask = not no_input
    if dc is None and ask:
        dc = typer.prompt(
            "Data centre of your Zoho account (us, eu, in, au, jp, ca, sa, uk, ae, cn)",
            default=settings.zoho_dc,
        )
    data_center = data_center_of(settings, dc)
    home = by_code(data_center)
    console.print(
        f"[bold]1. Data centre[/bold] {home.code} ({home.name}): accounts server "
        f"{home.accounts_url}, API console {api_console_url(home.code)}"
    )
    base = (public_url or LOCAL_URL).rstrip("/")
    console.print(
        f"[bold]2. Redirect URI[/bold] to register for a Server-based client: "
        f"{base}{CALLBACK_PATH} (a Self Client needs none)"
    )
    console.print("[bold]3. Scopes[/bold] zohokit asks for (ZOHOKIT_SCOPES changes them):")
    for each in PROVIDERS:
        console.print(f"   {each}: {','.join(settings.scopes(each))}", markup=False)
    key_id, secret = client_of(settings, provider, client_id, client_secret, ask=ask)
    if code is None and not browser and ask:
        code = typer.prompt(
            "Self Client grant code (empty: connect in the browser through zohokit serve)",
            default="",
            show_default=False,
        ).strip()
    if code:
        console.print(f"[bold]4. Connecting[/bold] {tenant} ({provider}) with the grant code")
        done = exchange_grant(
            settings,
            code,
            tenant=tenant,
            provider=provider,
            client_id=key_id,
            client_secret=secret,
            data_center=data_center,
        )
        print_exchanged(done)
        return
    connect = f"{base}/connect/zoho?{urlencode({'tenant': tenant, 'provider': provider})}"
    console.print("[bold]4. Connect in the browser[/bold]: start the service with", markup=True)
    console.print(
        f"   export ZOHO_DC={data_center} ZOHO_CLIENT_ID={key_id} "
        f"ZOHO_CLIENT_SECRET=<your client secret> ZOHOKIT_PUBLIC_URL={base}",
        markup=False,
    )
    console.print(
        "   export ZOHOKIT_API_KEYS=$(openssl rand -hex 24)   # your admin login", markup=False
    )
    console.print("   zohokit serve", markup=False)
    console.print(
        f"   then log in at {base}/admin with that key, add tenant {tenant} "
        f"(data centre {data_center}) and open {connect}",
        markup=False,
    )
