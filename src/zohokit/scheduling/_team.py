"""A tenant's team: the hosts a schedule books, how many each booking takes, and who gets it.

Stored beside the tenant's schedule (``booking_schedules.team``, JSON) and written in the
schedule file as a ``[team]`` table::

    [team]
    mode = "one"                 # "one" (round robin), "all" (collective) or k (k of n)
    assignment = "least_recent"  # or "weighted" (fewest recent bookings per weight)
    sticky = true                # a returning customer gets the host they met last, if free

    [[team.hosts]]
    id = "ann"                   # unique in the team; shown on bookings
    email = "ann@acme.com"       # invited to the event, a participant of the CRM meeting
    calendar_id = "..."          # the host's Zoho calendar (distinct per host)
    user_email = "ann@acme.com"  # optional: whose free/busy is the host's busy time
    weight = 2                   # optional, for "weighted" (default 1)
    [team.hosts.schedule]        # optional: the host's own hours and rules (own time_zone)
    time_zone = "America/New_York"

A host without a ``schedule`` uses the tenant's. :func:`choose_hosts` is the assignment
rule, pure: the booking store calls it inside the transaction that re-checks the slot, with
the free hosts and the booking history it read there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from zohokit.availability import InvalidSchedule, Mode, Schedule, hosts_needed

__all__ = ["Assignment", "Team", "TeamHost", "choose_hosts"]

Assignment = Literal["least_recent", "weighted"]
_HOST_KEYS = frozenset({"id", "email", "calendar_id", "user_email", "weight", "schedule"})
_TEAM_KEYS = frozenset({"mode", "assignment", "sticky", "hosts"})


@dataclass(frozen=True)
class TeamHost:
    """One host: an id, the address invited to the meeting, the Zoho calendar their events
    go to and their busy time is read from (or ``user_email``'s free/busy), a weight for
    weighted assignment, and optionally their own schedule."""

    id: str
    email: str
    calendar_id: str
    user_email: str | None = None
    weight: int = 1
    schedule: Schedule | None = None

    def to_dict(self) -> dict[str, Any]:
        """The dict (TOML/JSON) form."""
        out: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "calendar_id": self.calendar_id,
            "weight": self.weight,
        }
        if self.user_email:
            out["user_email"] = self.user_email
        if self.schedule is not None:
            out["schedule"] = self.schedule.to_dict()
        return out


@dataclass(frozen=True)
class Team:
    """The hosts of a tenant's schedule and how bookings are given to them."""

    hosts: tuple[TeamHost, ...]
    mode: Mode = "one"
    assignment: Assignment = "least_recent"
    sticky: bool = False

    @property
    def needed(self) -> int:
        """How many hosts each booking takes."""
        return hosts_needed(self.mode, len(self.hosts))

    def host(self, host_id: str) -> TeamHost:
        """The host called ``host_id`` (``KeyError`` if none)."""
        for host in self.hosts:
            if host.id == host_id:
                return host
        raise KeyError(host_id)

    def to_dict(self) -> dict[str, Any]:
        """The dict (TOML/JSON) form; :meth:`from_dict` reads it back equal."""
        return {
            "mode": self.mode,
            "assignment": self.assignment,
            "sticky": self.sticky,
            "hosts": [h.to_dict() for h in self.hosts],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Team:
        """Read the ``[team]`` table; raises :class:`InvalidSchedule` naming the bad key."""
        if not isinstance(data, Mapping):
            raise InvalidSchedule("team", "must be a table with hosts, mode, assignment")
        unknown = sorted(set(data) - _TEAM_KEYS)
        if unknown:
            raise InvalidSchedule(f"team.{unknown[0]}", "unknown key")
        raw_hosts = data.get("hosts")
        if not isinstance(raw_hosts, Sequence) or isinstance(raw_hosts, str) or not raw_hosts:
            raise InvalidSchedule("team.hosts", "list at least one host ([[team.hosts]])")
        hosts = tuple(_host(f"team.hosts[{i}]", raw) for i, raw in enumerate(raw_hosts))
        for key, values in (
            ("id", [h.id for h in hosts]),
            ("calendar_id", [h.calendar_id for h in hosts]),
        ):
            for i, value in enumerate(values):
                if value in values[:i]:
                    raise InvalidSchedule(
                        f"team.hosts[{i}].{key}", f"{value!r} is already another host's"
                    )
        mode = data.get("mode", "one")
        try:
            hosts_needed(mode, len(hosts))
        except ValueError as exc:
            raise InvalidSchedule("team.mode", str(exc)) from exc
        assignment = data.get("assignment", "least_recent")
        if assignment not in ("least_recent", "weighted"):
            raise InvalidSchedule("team.assignment", "must be 'least_recent' or 'weighted'")
        sticky = data.get("sticky", False)
        if not isinstance(sticky, bool):
            raise InvalidSchedule("team.sticky", "must be true or false")
        return cls(hosts, mode, assignment, sticky)


def _host(key: str, raw: Any) -> TeamHost:
    if not isinstance(raw, Mapping):
        raise InvalidSchedule(key, "must be a table with id, email and calendar_id")
    unknown = sorted(set(raw) - _HOST_KEYS)
    if unknown:
        raise InvalidSchedule(f"{key}.{unknown[0]}", "unknown key")
    for required in ("id", "email", "calendar_id"):
        value = raw.get(required)
        if not isinstance(value, str) or not value.strip():
            raise InvalidSchedule(f"{key}.{required}", "missing (a non-empty string)")
    if "@" not in raw["email"]:
        raise InvalidSchedule(f"{key}.email", f"not an e-mail address: {raw['email']!r}")
    user_email = raw.get("user_email")
    if user_email is not None and (not isinstance(user_email, str) or "@" not in user_email):
        raise InvalidSchedule(f"{key}.user_email", "must be an e-mail address")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        raise InvalidSchedule(f"{key}.weight", "must be a whole number of at least 1")
    schedule = None
    if raw.get("schedule") is not None:
        try:
            schedule = Schedule.from_dict(raw["schedule"])
        except InvalidSchedule as exc:
            raise InvalidSchedule(f"{key}.schedule.{exc.key}", exc.problem) from exc
    return TeamHost(raw["id"], raw["email"], raw["calendar_id"], user_email, weight, schedule)


def choose_hosts(
    team: Team,
    free: Sequence[str],
    *,
    last_booked: Mapping[str, datetime],
    recent: Mapping[str, int],
    returning_to: str | None = None,
) -> list[str]:
    """The hosts a booking gets, out of the ``free`` ones (ids, in the team's order), or
    ``[]`` when fewer than :attr:`Team.needed` are free.

    ``least_recent``: the hosts whose last booking (``last_booked``) is oldest, never booked
    first. ``weighted``: the fewest ``recent`` bookings per unit of weight, then the least
    recent. Ties go to the team's order. With ``sticky``, ``returning_to`` (the host the
    customer met last) comes first when free.
    """
    need = team.needed
    if len(free) < need:
        return []
    order = {h.id: i for i, h in enumerate(team.hosts)}
    weight = {h.id: h.weight for h in team.hosts}
    never = datetime.min

    def rank(host: str) -> tuple[float, datetime, int]:
        last = last_booked.get(host)
        last_naive = never if last is None else last.replace(tzinfo=None)
        share = recent.get(host, 0) / weight[host] if team.assignment == "weighted" else 0.0
        return share, last_naive, order[host]

    ranked = sorted(free, key=rank)
    if team.sticky and returning_to in ranked:
        ranked.remove(returning_to)
        ranked.insert(0, returning_to)
    return ranked[:need]
