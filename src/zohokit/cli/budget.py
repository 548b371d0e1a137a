"""``zohokit budget``: each org's fleet-wide Zoho budget (slots in flight, credits today,
pauses), and its limits (``docs/budget.md``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from zohokit import Zoho
from zohokit.budget import EDITION_NAMES, Budget, BudgetState
from zohokit.cli._options import JsonOpt
from zohokit.errors import ConfigurationError

from ._console import make_console
from .tokens import _run_root

app = typer.Typer(
    help="The fleet-wide Zoho budget of each tenant's org: slots, credits, pauses, limits.",
    no_args_is_help=True,
)
console = make_console()


def _budget(zoho: Zoho) -> Budget:
    if zoho.budget is None:
        raise ConfigurationError(
            "the budget is off (ZOHOKIT_BUDGET=false): nothing to show or set",
            variables=("ZOHOKIT_BUDGET",),
        )
    return zoho.budget


def _table(states: list[BudgetState]) -> Table:
    table = Table("tenant", "edition", "slots in use", "credits today", "left", "pause")
    for s in states:
        slots = (
            f"{s.slots['interactive']} interactive + {s.slots['batch']} batch of {s.concurrency}"
            f" (batch at most {s.batch_slots}; {s.holders} processes)"
        )
        spent = f"{s.credits['interactive']} interactive + {s.credits['batch']} batch"
        if s.zoho_used is not None:
            spent += f" (Zoho counts {s.zoho_used})"
        pause = f"{s.paused_for:.1f} s" if s.paused_for else "-"
        table.add_row(
            s.tenant,
            f"{s.edition} ({s.source})",
            slots,
            f"{spent}; batch at most {s.batch_credits}",
            f"{s.credits_left} of {s.daily_credits}",
            pause,
        )
    return table


@app.command("status")
def status_command(
    tenant: Annotated[str | None, typer.Argument(help="One tenant (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every org's budget now: slots in use by lane, credits spent today, what is left, pauses."""
    states = _run_root(lambda zoho: _budget(zoho).status(tenant))
    if as_json:
        typer.echo(json.dumps([s.as_json() for s in states], indent=2))
    elif states:
        console.print(_table(states))
    else:
        console.print(
            f"no budget kept for tenant {tenant!r} yet" if tenant else "no budget kept yet"
        )
    if tenant is not None and not states:
        raise typer.Exit(1)


@app.command("set")
def set_command(
    tenant: str,
    edition: Annotated[
        str | None, typer.Option(help=f"The org's edition: {', '.join(EDITION_NAMES)}.")
    ] = None,
    users: Annotated[int | None, typer.Option(help="User licences (credits grow with them).")] = (
        None
    ),
    concurrency: Annotated[int | None, typer.Option(help="Calls in flight at once.")] = None,
    heavy: Annotated[int | None, typer.Option(help="Heavy calls in flight at once.")] = None,
    daily_credits: Annotated[int | None, typer.Option(help="Credits per day.")] = None,
    batch_share: Annotated[
        float | None, typer.Option(help="Share batch work may use (0.8 keeps 20%).")
    ] = None,
) -> None:
    """Set TENANT's limits: from an edition, each number overriding it."""
    for name, value in (
        ("--users", users),
        ("--concurrency", concurrency),
        ("--heavy", heavy),
        ("--daily-credits", daily_credits),
    ):
        if value is not None and value < (0 if name == "--users" else 1):
            raise typer.BadParameter("must be at least 1", param_hint=name)

    async def work(zoho: Zoho) -> list[BudgetState]:
        try:
            await _budget(zoho).set_limits(
                tenant,
                edition=edition,
                users=users,
                concurrency=concurrency,
                heavy_concurrency=heavy,
                daily_credits=daily_credits,
                batch_share=batch_share,
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return await _budget(zoho).status(tenant)

    console.print(_table(_run_root(work)))


@app.command("read-edition")
def read_edition_command(tenant: str) -> None:
    """Size TENANT's budget from its Zoho org (GET /org: edition and user licences)."""

    async def work(zoho: Zoho) -> list[BudgetState]:
        try:
            await zoho.read_edition(tenant)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return await _budget(zoho).status(tenant)

    console.print(_table(_run_root(work)))
