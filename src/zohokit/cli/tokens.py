"""``zohokit tokens``: see, refresh, import, revoke and re-encrypt the stored Zoho tokens.

Every command prints a table without secrets; ``--show`` on ``refresh`` prints the access
token on purpose (for a quick ``curl``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import make_console, run_on_root
from zohokit.cli._options import JsonOpt
from zohokit.datacenters import DATA_CENTERS, by_code
from zohokit.settings import PROVIDERS, Settings
from zohokit.tokens import (
    OAuthTokenService,
    TokenStatus,
    ZohoCredentials,
    generate_key,
    state_label,
)

app = typer.Typer(help="Stored Zoho OAuth tokens, per tenant and provider.", no_args_is_help=True)
console = make_console()
T = TypeVar("T")

ProviderOpt = Annotated[str, typer.Option("--provider", "-p", help="zoho_crm or zoho_calendar.")]
OptionalProviderOpt = Annotated[
    str | None, typer.Option("--provider", "-p", help="Only this provider.")
]


def _check_provider(provider: str | None) -> None:
    if provider is not None and provider not in PROVIDERS:
        raise typer.BadParameter(f"use one of {', '.join(PROVIDERS)}", param_hint="--provider")


def _run(work: Callable[[OAuthTokenService], Awaitable[T]]) -> T:
    """Run ``work`` with a service built from the environment; errors become exit code 1."""
    return _run_root(lambda zoho: work(zoho.tokens))


def _run_root(work: Callable[[Zoho], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with the root built from ``settings`` (else the environment); errors
    become exit code 1."""
    return run_on_root(work, console, settings=settings)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    delta = (value - datetime.now(UTC)).total_seconds()
    rel = f"in {delta / 60:.0f} min" if delta >= 0 else f"{-delta / 60:.0f} min ago"
    return f"{value:%Y-%m-%d %H:%M:%S}Z ({rel})"


#: The words of the console and the API (TokenStatus.state), in the console's colours.
_COLOURS = {
    "healthy": "green",
    "expiring": "yellow",
    "cooldown": "yellow",
    "needs_reauth": "red",
    "revoked": "red",
}


def _table(rows: list[TokenStatus]) -> Table:
    table = Table(show_lines=False)
    for column in ("tenant", "provider", "state", "source", "expires", "api domain", "error"):
        table.add_column(column)
    for s in rows:
        state = s.state(datetime.now(UTC))
        status = f"[{_COLOURS.get(state, 'white')}]{state_label(state)}[/]"
        if state == "cooldown" and s.cooldown_until is not None:
            status += f" (until {s.cooldown_until:%H:%M:%S}Z)"
        table.add_row(
            s.tenant,
            s.provider,
            status,
            s.source,
            _when(s.expires_at),
            s.api_domain or "-",
            s.last_error or "",
        )
    return table


def _details(s: TokenStatus) -> Table:
    table = Table(show_header=False, title=f"{s.tenant} / {s.provider}")
    table.add_column("field", style="bold")
    table.add_column("value")
    fields = {
        "state": state_label(s.state(datetime.now(UTC))),
        "source": s.source,
        "OAuth client id": s.client_id or "-",
        "refresh token stored": "yes" if s.has_refresh_token else "no",
        "access token stored": "yes" if s.has_access_token else "no",
        "expires": _when(s.expires_at),
        "api domain": s.api_domain or "-",
        "accounts server": s.accounts_server or "-",
        "data centre": s.data_center or "-",
        "scopes": " ".join(s.scopes) or "-",
        "last error": s.last_error or "-",
        "failures": str(s.failure_count),
        "cooldown until": _when(s.cooldown_until),
        "lease": f"{s.lease_owner} until {_when(s.lease_expires_at)}" if s.lease_owner else "-",
        "version": str(s.version),
        "refreshed": _when(s.refreshed_at),
        "updated": _when(s.updated_at),
        "encryption key ids": ", ".join(s.key_ids) or "-",
    }
    for name, value in fields.items():
        table.add_row(name, value)
    return table


def _as_json(row: TokenStatus) -> dict[str, Any]:
    """A connection's status as JSON (it holds no secret: only whether tokens are stored)."""
    fields = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in dataclasses.asdict(row).items()
    }
    # last_error is the "kind: code" line the table shows, next to its three columns.
    return {"state": row.state(datetime.now(UTC)), **fields, "last_error": row.last_error}


@app.command("list")
def list_command(provider: OptionalProviderOpt = None, as_json: JsonOpt = False) -> None:
    """Every stored connection and its health."""
    _check_provider(provider)
    rows = _run(lambda service: service.list_tokens(provider=provider))
    if as_json:
        typer.echo(json.dumps([_as_json(row) for row in rows], indent=2))
        return
    if not rows:
        console.print("no tokens stored yet (they are seeded from ZOHO_* on first use)")
        return
    console.print(_table(rows))


@app.command("status")
def status_command(
    tenant: str, provider: ProviderOpt = "zoho_crm", as_json: JsonOpt = False
) -> None:
    """Everything known about one tenant's connection (no secret)."""
    _check_provider(provider)
    row = _run(lambda service: service.status(tenant, provider))
    if as_json:
        typer.echo(json.dumps(None if row is None else _as_json(row), indent=2))
        if row is None:
            raise typer.Exit(1)
        return
    if row is None:
        console.print(f"no {provider} token stored for tenant {tenant!r}")
        raise typer.Exit(1)
    console.print(_details(row))


@app.command("refresh")
def refresh_command(
    tenant: str,
    provider: ProviderOpt = "zoho_crm",
    show: Annotated[bool, typer.Option("--show", help="Print the access token itself.")] = False,
) -> None:
    """Mint a new access token now (through the lease; cooldowns are respected)."""
    _check_provider(provider)

    async def work(service: OAuthTokenService) -> tuple[str, TokenStatus | None]:
        access = await service.force_refresh(tenant, provider)
        return access.token, await service.status(tenant, provider)

    token, row = _run(work)
    if row is not None:
        console.print(_table([row]))
    if show:
        # Printed bare, on its own line, so it can be piped.
        typer.echo(token)


@app.command("import-env")
def import_env_command(
    tenant: Annotated[str, typer.Option(help="The tenant key to store the tokens under.")] = (
        "default"
    ),
    provider: OptionalProviderOpt = None,
) -> None:
    """Store the ZOHO_* refresh token for TENANT, replacing the row (source=env)."""
    _check_provider(provider)
    providers = [provider] if provider else list(PROVIDERS)

    async def work(service: OAuthTokenService) -> list[TokenStatus]:
        return [await service.import_env(tenant, p) for p in providers]

    console.print(_table(_run(work)))


@dataclasses.dataclass(frozen=True)
class Exchanged:
    """A grant code turned into a stored connection, and what Zoho answered to a first call."""

    status: TokenStatus
    #: The CRM modules the new connection sees (``None`` for Calendar).
    modules: int | None


def exchange_grant(
    settings: Settings,
    code: str,
    *,
    tenant: str,
    provider: str,
    client_id: str,
    client_secret: str,
    data_center: str,
) -> Exchanged:
    """Exchange a Self Client grant code through the token service's ``exchange_code`` (the
    one code-exchange path), requiring the configured scopes, and make a first CRM call with
    the stored connection. Errors end the command (exit code 1)."""
    scopes = settings.scopes(provider)

    async def work(zoho: Zoho) -> Exchanged:
        await zoho.tokens.exchange_code(
            tenant,
            provider,
            code=code,
            credentials=ZohoCredentials(client_id, client_secret),
            accounts_server=by_code(data_center).accounts_url,
            required_scopes=scopes,
        )
        status = await zoho.tokens.status(tenant, provider)
        assert status is not None  # just stored
        modules = len(await zoho.crm(tenant).modules()) if provider == "zoho_crm" else None
        return Exchanged(status, modules)

    return _run_root(work, settings)


def print_exchanged(done: Exchanged) -> None:
    """What ``tokens exchange`` and ``setup`` say once a code is exchanged."""
    console.print(_table([done.status]))
    if done.modules is not None:
        console.print(f"Zoho CRM answered: {done.modules} modules visible to {done.status.tenant}")


def client_of(
    settings: Settings,
    provider: str,
    client_id: str | None,
    client_secret: str | None,
    *,
    ask: bool | None = None,
) -> tuple[str, str]:
    """The OAuth client: the options given, else ``ZOHO_CLIENT_ID``/``ZOHO_CLIENT_SECRET``
    (or the provider's own names); asked for when ``ask`` (default: on a terminal), else a
    clear error."""
    env = settings.env_credentials(provider)
    client_id = client_id or env.client_id
    client_secret = client_secret or env.client_secret
    interactive = sys.stdin.isatty() if ask is None else ask
    if not client_id and interactive:
        client_id = typer.prompt("Client ID (api-console.zoho.com, e.g. 1000.XXXX)")
    if not client_secret and interactive:
        client_secret = typer.prompt("Client Secret", hide_input=True)
    if not client_id or not client_secret:
        raise typer.BadParameter(
            "give the OAuth client: --client-id and --client-secret, or set ZOHO_CLIENT_ID "
            "and ZOHO_CLIENT_SECRET (the Self Client's Client Secret tab at "
            "api-console.zoho.com)",
            param_hint="--client-id/--client-secret",
        )
    return client_id, client_secret


#: The data centre codes, as ``--dc`` and ``ZOHO_DC`` take them.
CODES = tuple(dc.code for dc in DATA_CENTERS)

DataCenterOpt = Annotated[
    str | None,
    typer.Option(
        "--dc", help=f"Data centre of the Zoho account ({', '.join(CODES)}); default $ZOHO_DC."
    ),
]
ClientIdOpt = Annotated[
    str | None, typer.Option("--client-id", help="OAuth client id (default $ZOHO_CLIENT_ID).")
]
ClientSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        help="OAuth client secret (default $ZOHO_CLIENT_SECRET; asked for on a terminal).",
    ),
]


def data_center_of(settings: Settings, dc: str | None) -> str:
    """``--dc``, else ``ZOHO_DC``; an unknown code is a usage error naming the known ones."""
    code = dc or settings.zoho_dc
    try:
        return by_code(code).code
    except KeyError:
        raise typer.BadParameter(
            f"use one of {', '.join(CODES)}, not {code!r}", param_hint="--dc"
        ) from None


@app.command("exchange")
def exchange_command(
    code: Annotated[
        str, typer.Argument(help="The grant code (API console: Self Client, Generate Code).")
    ],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Store the connection as.")] = (
        "default"
    ),
    provider: ProviderOpt = "zoho_crm",
    dc: DataCenterOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: ClientSecretOpt = None,
) -> None:
    """Turn a Self Client grant code into TENANT's stored refresh token, checking its scopes."""
    _check_provider(provider)
    settings = Settings()
    key = client_of(settings, provider, client_id, client_secret)
    done = exchange_grant(
        settings,
        code,
        tenant=tenant,
        provider=provider,
        client_id=key[0],
        client_secret=key[1],
        data_center=data_center_of(settings, dc),
    )
    print_exchanged(done)


@app.command("revoke")
def revoke_command(
    tenant: str,
    provider: ProviderOpt = "zoho_crm",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revoke TENANT's refresh token at Zoho and mark the connection revoked."""
    _check_provider(provider)
    if not yes:
        typer.confirm(f"Revoke the {provider} tokens of tenant {tenant!r} at Zoho?", abort=True)
    confirmed = _run(lambda service: service.revoke(tenant, provider))
    console.print(
        "revoked at Zoho" if confirmed else "Zoho did not confirm; the row is marked revoked"
    )


@app.command("rotate-key")
def rotate_key_command() -> None:
    """Re-encrypt every row (tokens, booking customers) with the first key of
    ZOHOKIT_ENCRYPTION_KEYS."""
    changed = _run_root(lambda zoho: zoho.rotate_encryption_key())
    console.print(f"re-encrypted {changed} row(s) with the primary key")


@app.command("gen-key")
def gen_key_command() -> None:
    """Print a new random encryption key for ZOHOKIT_ENCRYPTION_KEYS."""
    typer.echo(generate_key())
