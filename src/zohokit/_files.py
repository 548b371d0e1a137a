"""Folders and files that hold secrets are created owner-only: folders 0700, files 0600.

The SQLite database holds encrypted tokens and booking customers' data, the key file holds
the key to them, and ``sandbox.json`` the sandbox's secrets; none should be readable by the
other users of a machine. Existing folders and files are left as their owner set them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["private_dir", "private_file"]


def private_dir(path: Path) -> None:
    """Create ``path`` and any missing parent folder with mode 0700."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a peer process made it first
            folder.mkdir(mode=0o700)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its folder too, 0700)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
