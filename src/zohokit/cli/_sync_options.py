"""The options ``zohokit sync push``/``pull`` and ``zohokit sync schedule add push``/``pull``
share, so a scheduled sync takes exactly the words of one run by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zohokit.sync import DEFAULT_MAX_ATTEMPTS, MappingError, SyncMapping, load_mapping

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DeletionsOpt",
    "FieldsOpt",
    "FileArg",
    "KeyOpt",
    "MapOpt",
    "MaxAttemptsOpt",
    "MirrorOpt",
    "ModuleOpt",
    "OverlapOpt",
    "PullModuleOpt",
    "TenantOpt",
    "field_list",
    "mapping_of",
]

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Whose Zoho account to use.")]
FileArg = Annotated[Path, typer.Argument(help="A .csv (with a header) or .jsonl file.")]
ModuleOpt = Annotated[str | None, typer.Option("--module", "-m", help="CRM module.")]
PullModuleOpt = Annotated[str, typer.Option("--module", "-m", help="CRM module.")]
KeyOpt = Annotated[str | None, typer.Option("--key", "-k", help="CRM field that identifies a row.")]
MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        # Escaped: help text is Rich markup, and "[fields]" would be read as a style.
        help="TOML mapping: module, key, \\[fields].",
    ),
]
MirrorOpt = Annotated[
    bool, typer.Option("--mirror", help="Delete records whose rows left the file.")
]
MaxAttemptsOpt = Annotated[
    int, typer.Option("--max-attempts", min=1, help="Runs a row may fail before it is parked.")
]
FieldsOpt = Annotated[
    str | None, typer.Option("--fields", help="Comma-separated API names (default: all).")
]
OverlapOpt = Annotated[
    float, typer.Option("--overlap", help="Seconds re-read before the cursor.", min=0)
]
DeletionsOpt = Annotated[
    bool, typer.Option("--deletions/--no-deletions", help="Also read deleted records.")
]


def mapping_of(mapping_file: Path | None, module: str | None, key: str | None) -> SyncMapping:
    """The mapping the options give; a bad one is a usage error naming the options."""
    try:
        return load_mapping(mapping_file, module=module, key=key)
    except MappingError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map/--module/--key") from exc


def field_list(fields: str | None) -> list[str] | None:
    """``--fields a,b`` as a list (``None``: every field)."""
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else None
