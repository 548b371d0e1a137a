"""How the CLI prints: rich, but never squeezed into 80 columns when piped."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import IO

import typer
from rich.console import Console

from zohokit.errors import StorageUnavailable

#: Width for output that is not a terminal (a file, a pipe, CI logs). Rich would assume 80
#: columns there, which truncates tables such as ``zohokit sync status`` to unreadable "…".
PIPED_WIDTH = 200


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console for the CLI; ``COLUMNS`` still wins when set."""
    stream: IO[str] = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=width)


@contextlib.contextmanager
def database_failures() -> Iterator[None]:
    """An unreachable database ends the command with one line on stderr and exit code 1.

    The line names the database (password hidden) and what to check; no traceback.
    """
    try:
        yield
    except StorageUnavailable as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
