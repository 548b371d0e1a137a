"""``zohokit webhooks``: the endpoints that receive zohokit's events, their delivery log, and
re-delivery. The database is ``ZOHOKIT_DATABASE_URL`` (the same as ``serve``'s); endpoint
secrets are sealed with ``ZOHOKIT_ENCRYPTION_KEYS``. The worker sends the deliveries
(``zohokit worker``); ``zohokit webhooks send`` runs one round by hand."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from zohokit import Zoho
from zohokit.cli._console import make_console, run_on_root
from zohokit.cli._options import JsonOpt
from zohokit.events import read_events
from zohokit.webhooks import Delivery, Webhooks

app = typer.Typer(
    help="Webhook endpoints for zohokit's events: add, list, rotate secrets, deliveries.",
    no_args_is_help=True,
)
console = make_console(stderr=True)
out = make_console(soft_wrap=True)
T = TypeVar("T")

EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (ep_...).")]


def run(work: Callable[[Zoho], Awaitable[T]]) -> T:
    """Run ``work`` on a root built from the environment; zohokit errors become one red line
    and exit code 1."""
    return run_on_root(work, console, say=lambda exc: exc.message)


def _hooks(work: Callable[[Webhooks], Awaitable[T]]) -> T:
    return run(lambda zoho: work(zoho.webhooks))


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


@app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="Where to POST events (https://...).")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help="An event type to send (repeat; default: all)."),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Only this tenant's events.")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="A note for you.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add an endpoint and print its signing secret (shown this once: keep it)."""
    endpoint, secret = _hooks(
        lambda w: w.add(url, event_types=event or (), tenant=tenant, description=description)
    )
    if as_json:
        _print_json({**endpoint.to_dict(), "secret": secret})
        return
    out.print(f"endpoint {endpoint.id} -> {escape(endpoint.url)}")
    out.print(f"secret   {secret}")
    console.print("Keep the secret: it verifies each request's webhook-signature header.")


@app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every endpoint: its URL, the types and tenant it wants, whether it is enabled."""
    found = _hooks(lambda w: w.endpoints())
    if as_json:
        _print_json([e.to_dict() for e in found])
        return
    table = Table("id", "url", "events", "tenant", "enabled", title=f"{len(found)} endpoint(s)")
    for e in found:
        types = ", ".join(e.event_types) or "all"
        table.add_row(e.id, escape(e.url), types, e.tenant or "all", "yes" if e.enabled else "no")
    out.print(table)


@app.command("remove")
def remove_command(endpoint_id: EndpointArg) -> None:
    """Remove an endpoint with its deliveries and their log."""
    _hooks(lambda w: w.remove(endpoint_id))
    out.print(f"removed {endpoint_id}")


@app.command("disable")
def disable_command(endpoint_id: EndpointArg) -> None:
    """Pause an endpoint: its pending deliveries wait, new events skip it."""
    _hooks(lambda w: w.set_enabled(endpoint_id, False))
    out.print(f"disabled {endpoint_id}")


@app.command("enable")
def enable_command(endpoint_id: EndpointArg) -> None:
    """Resume a paused endpoint."""
    _hooks(lambda w: w.set_enabled(endpoint_id, True))
    out.print(f"enabled {endpoint_id}")


@app.command("rotate-secret")
def rotate_command(
    endpoint_id: EndpointArg,
    keep_hours: Annotated[
        float,
        typer.Option("--keep-hours", min=0, help="Hours the old secret still signs too."),
    ] = 24.0,
) -> None:
    """Give an endpoint a new secret (printed once); the old one keeps signing beside it for
    --keep-hours, so the receiver can switch without missing a request."""
    from datetime import timedelta

    secret = _hooks(
        lambda w: w.rotate_secret(endpoint_id, keep_previous=timedelta(hours=keep_hours))
    )
    out.print(f"secret   {secret}")


def _deliveries_table(found: list[Delivery]) -> Table:
    columns = ("id", "event", "type", "tenant", "status", "attempts", "last", "next")
    table = Table(*columns, title=f"{len(found)} deliver(ies)")
    for d in found:
        last = f"{d.last_status_code or '-'} {d.last_error or ''}".strip()
        due = f"{d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.next_attempt_at else ""
        table.add_row(
            d.id, d.event_id, d.event_type, d.tenant, d.status, str(d.attempts), last, due
        )
    return table


@app.command("deliveries")
def deliveries_command(
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="Of this endpoint.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, succeeded or failed.")
    ] = None,
    event: Annotated[str | None, typer.Option("--event", help="Of this event id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Deliveries, newest first, with their last answer and next attempt."""
    found = _hooks(
        lambda w: w.deliveries(endpoint_id=endpoint, status=status, event_id=event, limit=limit)
    )
    if as_json:
        _print_json([d.to_dict() for d in found])
    else:
        out.print(_deliveries_table(found))


@app.command("log")
def log_command(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (dlv_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Every attempt of one delivery: when, the HTTP status, the error, how long."""
    found = _hooks(lambda w: w.attempts(delivery_id))
    if as_json:
        _print_json([a.to_dict() for a in found])
        return
    table = Table("attempt", "at (UTC)", "status", "error", "ms", title=delivery_id)
    for a in found:
        table.add_row(
            str(a.attempt),
            f"{a.attempted_at:%Y-%m-%d %H:%M:%S}",
            str(a.status_code or "-"),
            escape(a.error or ""),
            str(a.duration_ms),
        )
    out.print(table)


@app.command("redeliver")
def redeliver_command(
    delivery_id: Annotated[
        str | None, typer.Argument(help="The delivery to send again (dlv_...).")
    ] = None,
    failed_of: Annotated[
        str | None,
        typer.Option("--failed-of", help="Every given-up delivery of this endpoint instead."),
    ] = None,
) -> None:
    """Send a delivery again (or every failed one of an endpoint); the worker sends it on its
    next round, or run zohokit webhooks send."""
    if (delivery_id is None) == (failed_of is None):
        raise typer.BadParameter("give a delivery id or --failed-of ENDPOINT", param_hint="ID")
    if failed_of is not None:
        again = _hooks(lambda w: w.redeliver_failed(failed_of))
        out.print(f"{len(again)} deliver(ies) queued again")
        return
    assert delivery_id is not None
    _hooks(lambda w: w.redeliver(delivery_id))
    out.print(f"{delivery_id} queued again")


@app.command("send")
def send_command() -> None:
    """Run one delivery round now (what the worker does continuously)."""
    done = _hooks(lambda w: w.run_due())
    out.print(
        f"{done.fanned_out} new deliver(ies); {done.succeeded} succeeded, "
        f"{done.retrying} to retry, {done.failed} given up"
    )


@app.command("events")
def events_command(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """The outbox: events oldest first (JSON lines, as they are delivered)."""
    found = run(lambda z: read_events(z.engine, tenant=tenant, type=event_type, limit=limit))
    for event in found:
        out.print_json(json.dumps(event.to_dict()))
