"""How the CLI prints: rich, but never squeezed into 80 columns when piped."""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console

#: Width for output that is not a terminal (a file, a pipe, CI logs). Rich would assume 80
#: columns there, which truncates tables such as ``zohokit sync status`` to unreadable "…".
PIPED_WIDTH = 200


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console for the CLI; ``COLUMNS`` still wins when set."""
    stream: IO[str] = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=width)
