"""Which ``Host`` the emulator answers: this machine's names, its own base URL's host, and
the names its operator allowed; nothing else.

A web page on an attacker's domain can make a browser send requests to ``127.0.0.1`` by
re-pointing its own DNS name there (DNS rebinding); those requests carry the attacker's name
in ``Host``. Refusing unknown names keeps such a page away from the emulator's routes (its
``/_emulator/*`` control routes take no key).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["host_allowed", "host_name"]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (no port, no IPv6 brackets), lower-cased."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


def _is_loopback(name: str) -> bool:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None, base_url: str, extra: Iterable[str] = ()) -> bool:
    """Whether a request with this ``Host`` header may be answered. A request without one
    (HTTP/1.0, in-process callers) has no name to rebind, so it is allowed."""
    if header is None:
        return True
    name = host_name(header)
    if _is_loopback(name):
        return True
    own = (urlsplit(base_url).hostname or "").lower()
    return name == own or name in {h.lower() for h in extra}
