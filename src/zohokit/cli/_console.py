"""How the CLI prints: rich, but never squeezed into 80 columns when piped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import IO, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape  # messages may hold [brackets]

from zohokit import Zoho
from zohokit.errors import StorageUnavailable, ZohoError
from zohokit.settings import Settings

T = TypeVar("T")

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


def run_on_root(
    work: Callable[[Zoho], Awaitable[T]],
    console: Console,
    *,
    settings: Settings | None = None,
    errors: tuple[type[Exception], ...] = (ZohoError,),
    say: Callable[[Any], str] = str,
) -> T:
    """Run ``work`` on a root built from ``settings`` (else the environment), closed
    afterwards: what most commands do. An unreachable database ends the command as
    :func:`database_failures` says; any of ``errors`` as one red line, ``say(exc)``; both
    with exit code 1."""

    async def main() -> T:
        async with Zoho.from_settings(settings or Settings()) as zoho:
            return await work(zoho)

    try:
        with database_failures():
            return asyncio.run(main())
    except errors as exc:
        console.print(f"[red]error:[/red] {escape(say(exc))}")
        raise typer.Exit(1) from exc
