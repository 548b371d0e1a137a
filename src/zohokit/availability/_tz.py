"""Time zones by IANA name, with one clear error for every name that is not one."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from ..errors import ZohoError

__all__ = ["UnknownTimeZone", "load_zone"]


class UnknownTimeZone(ZohoError, ValueError):
    """A name that is not an IANA time zone; the message says what to give instead."""


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def load_zone(name: str | ZoneInfo) -> ZoneInfo:
    """The zone called ``name`` (``Europe/Berlin``); a ``ZoneInfo`` is returned as is.

    Names are checked against the IANA list before ``ZoneInfo`` sees them: ``ZoneInfo("Europe")``
    raises ``IsADirectoryError`` and a path-like name should never reach the file system.
    """
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str) or name not in _known():
        shown = repr(name[:64]) if isinstance(name, str) else type(name).__name__
        raise UnknownTimeZone(
            f"unknown time zone {shown}: use an IANA name such as 'Europe/Berlin'"
        )
    return ZoneInfo(name)
