"""Options many commands share, so they read the same in every ``--help``: a listing's
``--tenant`` filter and its ``--json`` output."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["JsonOpt", "OnlyTenantOpt"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OnlyTenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant.")]
