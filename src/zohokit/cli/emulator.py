"""``zohokit emulator``: serve the offline Zoho in the foreground; ``snapshot`` an org."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from zohokit.emulator import (
    DEFAULT_EDITION,
    EDITIONS,
    FROM_EDITION,
    DataFileError,
    EmulatorConfig,
    FaultConfigError,
    SchemaError,
    load_schema,
)
from zohokit.emulator._server import bind, build_server

from ._snapshot import snapshot_command


def _fault_payload(
    faults: str | None,
    error_rate: float,
    html_rate: float,
    drop_rate: float,
    fault_route: str,
    throttle_token: bool,
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if faults:
        try:
            text = Path(faults).read_text() if not faults.lstrip().startswith("{") else faults
            payload = json.loads(text)
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {faults}: {exc.strerror or exc}", param_hint="--faults"
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="--faults") from exc
        if not isinstance(payload, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="--faults")
    if error_rate or html_rate or drop_rate:
        rule = {
            "route": fault_route,
            "error_rate": error_rate,
            "html_rate": html_rate,
            "drop_rate": drop_rate,
        }
        payload.setdefault("rules", []).append(rule)
    if throttle_token:
        payload["token_throttle"] = True
    return payload


app = typer.Typer(
    help="An offline Zoho (accounts, CRM v2 to v8, Calendar v1), and org snapshots for it.",
    invoke_without_command=True,
)
app.command("snapshot")(snapshot_command)


@app.callback()
def emulator_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8765,
    client_id: Annotated[
        str | None, typer.Option(help="OAuth client registered at start (generated if omitted).")
    ] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="That client's secret (generated if omitted).")
    ] = None,
    refresh_token: Annotated[
        str | None,
        typer.Option(help="Refresh token already granted with every scope (generated if omitted)."),
    ] = None,
    token_ttl: Annotated[int, typer.Option(min=1, help="Access token lifetime, seconds.")] = 3600,
    latency_ms: Annotated[
        float, typer.Option(min=0, help="Latency added to every Zoho request.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for ids and fault rolls.")] = 0,
    edition: Annotated[
        str,
        typer.Option(
            help="Zoho CRM edition: free, standard, professional, enterprise or ultimate. "
            "Sets /org's licence and Zoho's concurrency and credit limits for it."
        ),
    ] = DEFAULT_EDITION,
    licensed_users: Annotated[
        int, typer.Option(min=1, help="User licences of the org (credits grow with them).")
    ] = 10,
    concurrency_limit: Annotated[
        int | None,
        typer.Option(min=1, help="CRM requests in flight before 429 (default: the edition's)."),
    ] = None,
    daily_credits: Annotated[
        int | None,
        typer.Option(min=1, help="CRM credits per day before 429 (default: the edition's)."),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            help="JSON file with the org's own modules and fields (as `snapshot` writes it)."
        ),
    ] = None,
    location: Annotated[str, typer.Option(help="Data centre code sent in callbacks.")] = "us",
    faults: Annotated[
        str | None,
        typer.Option(help="Fault rules as JSON, or a file holding them (see /_emulator/faults)."),
    ] = None,
    error_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of requests answered 500.")
    ] = 0.0,
    html_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share answered with an HTML error page.")
    ] = 0.0,
    drop_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share whose connection is dropped.")
    ] = 0.0,
    fault_route: Annotated[
        str, typer.Option(help="Where the rates apply: *, token, accounts, crm, calendar, /path.")
    ] = "*",
    throttle_token: Annotated[
        bool, typer.Option(help="Answer every token request with 'Access Denied'.")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="SQLite file that keeps accounts, tokens, records and events across restarts "
            "(created if missing; in memory without it).",
            dir_okay=False,
        ),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            help="A redirect URI registered for the client (repeat for several); the consent "
            "page redirects only to these, as Zoho does."
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A Host name to answer besides this machine's (repeat for several); any "
            "other is refused."
        ),
    ] = None,
    adopt_refresh_tokens: Annotated[
        bool,
        typer.Option(
            help="Accept refresh tokens from an earlier run (clients that keep them in a database)."
        ),
    ] = False,
) -> None:
    """Serve an offline Zoho (accounts, CRM v2 to v8, Calendar v1) until interrupted."""
    if ctx.invoked_subcommand is not None:
        return  # ``zohokit emulator snapshot ...``: nothing to serve
    console = Console(soft_wrap=True)  # URLs and tokens must stay copyable on one line
    if edition.lower() not in EDITIONS:
        raise typer.BadParameter(f"choose one of {', '.join(EDITIONS)}", param_hint="--edition")
    config = EmulatorConfig(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        token_ttl=token_ttl,
        latency_ms=latency_ms,
        seed=seed,
        edition=edition,
        licensed_users=licensed_users,
        concurrency_limit=FROM_EDITION if concurrency_limit is None else concurrency_limit,
        daily_credits=FROM_EDITION if daily_credits is None else daily_credits,
        location=location,
        adopt_unknown_refresh_tokens=adopt_refresh_tokens,
        schema_file=str(schema) if schema else None,
        data=str(data) if data else None,
        redirect_uris=tuple(redirect_uri or ()),
        allowed_hosts=tuple(allowed_host or ()),
    )
    if schema is not None:
        try:
            load_schema(schema)  # refuse a bad file before listening, naming what to fix
        except SchemaError as exc:
            raise typer.BadParameter(str(exc), param_hint="--schema") from exc
    payload = _fault_payload(faults, error_rate, html_rate, drop_rate, fault_route, throttle_token)
    try:
        sock = bind(host, port)
    except OSError as exc:
        console.print(
            f"[red]Cannot listen on {host}:{port}: {exc.strerror}.[/] Try another --port."
        )
        raise typer.Exit(1) from exc
    try:
        emu, server = build_server(config, sock)
    except DataFileError as exc:
        sock.close()
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    try:
        emu.faults.configure(payload)
    except FaultConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    console.print(f"[bold]Zoho emulator[/] listening on [cyan]{emu.base_url}[/]")
    console.print(f"  accounts server  {emu.base_url}  (token: {emu.base_url}/oauth/v2/token)")
    console.print(f"  CRM              {emu.base_url}/crm/v8  (also v2, v2.1, v3 .. v7)")
    console.print(
        f"  edition          {config.edition}: {config.concurrency_limit} CRM calls in flight, "
        f"{config.daily_credits:,} credits a day"
    )
    console.print(f"  Calendar         {emu.base_url}/api/v1")
    console.print(f"  client id        {config.client_id}")
    console.print(f"  client secret    {config.client_secret}")
    console.print(f"  refresh token    {config.refresh_token}")
    console.print(f"  stats            {emu.base_url}/_emulator/stats")
    if data:
        console.print(f"  data             {data} (kept across restarts)")
    console.print("Press Ctrl-C to stop.", style="dim")
    try:
        server.run(sockets=[sock])  # sets up uvloop when installed, unlike asyncio.run
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass
    finally:
        sock.close()
        emu.close()
