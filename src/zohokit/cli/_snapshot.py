"""``zohokit emulator snapshot``: record an org's CRM metadata as an emulator schema file.

It reads ``/settings/modules``, then each module's ``/settings/modules/{api_name}``,
``/settings/fields`` and ``/settings/layouts`` with the tenant's token (from the token store
or the ``ZOHO_*`` environment, as every zohokit command), against real Zoho or an emulator.
``zohokit emulator --schema FILE`` then serves the same metadata offline.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from zohokit import Zoho
from zohokit.cli._console import make_console
from zohokit.crm import ZohoCRMService
from zohokit.emulator.crm import snapshot_document
from zohokit.errors import ZohoError
from zohokit.settings import Settings


async def take_snapshot(crm: ZohoCRMService) -> dict[str, Any]:
    """The schema document of the org behind ``crm``: its API-reachable modules and subforms."""
    wanted = [
        m["api_name"]
        for m in await crm.modules()
        if m.get("api_supported") or m.get("generated_type") == "subform"
    ]
    details = await asyncio.gather(*(crm.module(name) for name in wanted))
    fields = await asyncio.gather(*(crm.fields(name) for name in wanted))
    layouts = await asyncio.gather(*(crm.layouts(name) for name in wanted))
    modules = [d for d in details if d is not None]
    return snapshot_document(
        modules,
        dict(zip(wanted, fields, strict=True)),
        dict(zip(wanted, layouts, strict=True)),
        taken_from=crm.tenant,
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def snapshot_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Schema file to write (JSON).")],
    tenant: Annotated[
        str, typer.Option("--tenant", "-t", help="Whose Zoho org to record.")
    ] = "default",
) -> None:
    """Record a Zoho CRM org's modules, fields and layouts into a schema file."""
    console = make_console(stderr=True)

    async def main() -> dict[str, Any]:
        async with Zoho.from_settings(Settings()) as zoho:
            return await take_snapshot(zoho.crm(tenant))

    try:
        document = asyncio.run(main())
        out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    except (ZohoError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    names = ", ".join(m["api_name"] for m in document["modules"])
    console.print(f"wrote {len(document['modules'])} modules to {escape(str(out))}: {names}")
