"""``zohokit serve``: the HTTP service (connect flow, token broker, admin page)."""

from __future__ import annotations

import ipaddress
import shlex
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape  # messages may hold [brackets]

from zohokit.server import ServerSettings, create_app
from zohokit.server._sandbox import build_sandbox
from zohokit.server._uvicorn import uvicorn_config

#: Where ``--sandbox`` keeps its database and secrets unless ``--data-dir`` says otherwise.
SANDBOX_DIR = Path(".zohokit") / "sandbox"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"  # a wildcard address is not something a browser can open
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8000,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="SQLite, an in-process Zoho emulator and a connected demo tenant."
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="ZOHOKIT_SANDBOX",
            show_envvar=False,
            help="Sandbox data folder (default: $ZOHOKIT_SANDBOX, else ./.zohokit/sandbox).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Also run the background jobs (zohokit worker) in this process"
            " (default: on with --sandbox, off otherwise).",
        ),
    ] = None,
) -> None:
    """Serve the zohokit HTTP API and admin page until interrupted."""
    console = Console(soft_wrap=True)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        console.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror}.[/] Try --port.")
        raise typer.Exit(1) from exc
    url = _url_of(sock)
    settings: ServerSettings
    if sandbox:
        box = build_sandbox(data_dir or SANDBOX_DIR, url)
        settings = box.settings
        app = create_app(
            box.settings,
            transport=box.transport,
            emulator=box.emulator,
            setup=box.setup,
            worker=worker is not False,
        )
        console.print(f"[bold]zohokit[/] sandbox on [cyan]{url}[/]")
        console.print(f"  admin page   {url}/admin")
        console.print(f"  API key      {box.api_key}")
        console.print(f"  try          curl -H 'X-API-Key: {box.api_key}' {url}/api/tenants")
        console.print(f"  emulator     {url}/_emulator/stats (Zoho, in process)")
        console.print(f"  data         {box.settings.zohokit_data_dir}")
        if worker is not False:
            console.print("  worker       on (background jobs run in this process)")
        # The one line that points the CLI (and the library's defaults) at this sandbox.
        folder = shlex.quote(str(box.settings.zohokit_data_dir.resolve()))
        console.print(f"  CLI          export ZOHOKIT_SANDBOX={folder}", markup=False)
        if not ipaddress.ip_address(sock.getsockname()[0]).is_loopback:
            # The emulator's /_emulator/* control routes take no key: on a shared network
            # anyone could reset it or inject faults.
            console.print(
                "[yellow]warning:[/] the sandbox listens beyond this machine; its emulator's "
                "/_emulator/* routes need no key. Prefer --host 127.0.0.1."
            )
    else:
        settings = ServerSettings()
        if settings.zohokit_api_keys is None:
            console.print(
                "[red]Set ZOHOKIT_API_KEYS[/] (comma-separated; KEY for every tenant, "
                "TENANT:KEY for one), or try [bold]zohokit serve --sandbox[/]."
            )
            sock.close()
            raise typer.Exit(2)
        try:
            app = create_app(settings, worker=bool(worker))
        except ValueError as exc:
            sock.close()
            console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from exc
        console.print(f"[bold]zohokit[/] serving on [cyan]{url}[/] (admin page: {url}/admin)")
    config = uvicorn_config(app, settings, log_level=log_level)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass
    finally:
        sock.close()
