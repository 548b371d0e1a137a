"""Schedule files: a schedule as TOML (or JSON), plus where its bookings go in Zoho
(the schedule's keys are in ``docs/scheduling.md``).

::

    time_zone = "Europe/Berlin"
    [weekly_hours]
    monday = ["09:00-12:00"]
    [zoho]
    calendar_id = "..."          # optional: the calendar bookings go to
    user_email = "ann@acme.com"  # optional: whose free/busy is busy time
    [team]                       # optional: several hosts (see zohokit.scheduling._team)
    mode = "one"
    [[team.hosts]]
    id = "ann"
    email = "ann@acme.com"
    calendar_id = "..."
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from zohokit.availability import InvalidSchedule, Schedule
from zohokit.scheduling._tables import TenantSchedule
from zohokit.scheduling._team import Team

__all__ = ["load_schedule_file", "parse_schedule_file"]


def parse_schedule_file(tenant: str, data: Mapping[str, Any]) -> TenantSchedule:
    """A parsed schedule file (TOML or JSON): the schedule's keys plus an optional ``[zoho]``
    table with ``calendar_id`` and ``user_email`` and an optional ``[team]``. Raises
    ``InvalidSchedule``."""
    body = dict(data)
    team = body.pop("team", None)
    zoho = body.pop("zoho", None) or {}
    if not isinstance(zoho, Mapping):
        raise InvalidSchedule("zoho", "expected a table with calendar_id and user_email")
    unknown = set(zoho) - {"calendar_id", "user_email"}
    if unknown:
        raise InvalidSchedule(f"zoho.{sorted(unknown)[0]}", "unknown key")
    return TenantSchedule(
        tenant,
        Schedule.from_dict(body),
        calendar_id=zoho.get("calendar_id") or None,
        user_email=zoho.get("user_email") or None,
        team=Team.from_dict(team) if team is not None else None,
    )


def load_schedule_file(tenant: str, text: str) -> TenantSchedule:
    """:func:`parse_schedule_file` of a TOML document."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSchedule("(file)", f"not valid TOML: {exc}") from exc
    return parse_schedule_file(tenant, data)
