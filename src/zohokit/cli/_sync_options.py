"""The options ``zohokit sync push``/``pull`` and ``zohokit sync schedule add push``/``pull``
share, so a scheduled sync takes exactly the words of one run by hand.

Each set is a frozen dataclass whose fields are the options (:class:`PushOptions`,
:class:`PullOptions`); a command names it as one parameter and :func:`with_options` hands
Typer the fields as options in its place, then the command the filled-in object. An option
added to a set reaches both commands of its kind at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from zohokit.sync import DEFAULT_MAX_ATTEMPTS, MappingError, SyncMapping, load_mapping

__all__ = [
    "FileArg",
    "PullOptions",
    "PushOptions",
    "TenantOpt",
    "field_list",
    "mapping_of",
    "with_options",
]

R = TypeVar("R")

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


@dataclass(frozen=True, slots=True)
class PushOptions:
    """What a push is told besides its file: whose account, the mapping (``--map``, else
    ``--module`` and ``--key``), ``--mirror`` and ``--max-attempts``."""

    tenant: TenantOpt = "default"
    module: ModuleOpt = None
    key: KeyOpt = None
    mapping_file: MapOpt = None
    mirror: MirrorOpt = False
    max_attempts: MaxAttemptsOpt = DEFAULT_MAX_ATTEMPTS

    def mapping(self) -> SyncMapping:
        """The mapping these options give; a bad one is a usage error naming the options."""
        return mapping_of(self.mapping_file, self.module, self.key)


@dataclass(frozen=True, slots=True)
class PullOptions:
    """What a pull is told besides where it writes: whose account, the module, the fields,
    how far before the cursor it reads again and whether it reads deletions."""

    tenant: TenantOpt = "default"
    module: PullModuleOpt = "Contacts"
    fields: FieldsOpt = None
    overlap: OverlapOpt = 300.0
    deletions: DeletionsOpt = True

    def field_list(self) -> list[str] | None:
        """``--fields`` as a list (``None``: every field)."""
        return field_list(self.fields)

    def overlap_time(self) -> timedelta:
        """``--overlap`` as a duration."""
        return timedelta(seconds=self.overlap)


def with_options(command: Callable[..., R]) -> Callable[..., R]:
    """A Typer command whose parameter annotated :class:`PushOptions` or :class:`PullOptions`
    takes that set's fields as options (in its place, with their defaults) and receives them
    as one object."""
    signature = inspect.signature(command, eval_str=True)
    params = list(signature.parameters.values())
    [(at, words)] = [
        (i, p) for i, p in enumerate(params) if p.annotation in (PushOptions, PullOptions)
    ]
    kind: type[Any] = words.annotation
    hints = get_type_hints(kind, include_extras=True)
    names = [f.name for f in fields(kind)]
    params[at : at + 1] = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=f.default,
            annotation=hints[f.name],
        )
        for f in fields(kind)
    ]

    @functools.wraps(command)
    def run(**given: Any) -> R:
        options = kind(**{name: given.pop(name) for name in names})
        return command(**given, **{words.name: options})

    # Typer reads the options from the signature (and its annotations) of what it calls.
    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run
