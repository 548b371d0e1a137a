"""Slots for a team: several hosts, each with their own schedule and busy time.

A team books in one of three modes (:data:`Mode`):

- ``"one"`` (round robin): a slot is offered when *any* host is free: the union of the
  hosts' own slots;
- ``"all"`` (collective): only when *every* host is free: the intersection;
- an integer ``k`` (``k`` of ``n``, a panel): when at least ``k`` hosts are free.

A slot is a start *and* an end, so hosts whose schedules have different lengths or grids
share only the slots they have in common. Each host's slots come from the single-host engine
(:func:`~zohokit.availability.slots_between`, each host in its own zone, with its own
rules); this module counts, per start, which hosts offer it. Every :class:`TeamSlot` names
those hosts in the order the team lists them, so the booking flow can choose among them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from zohokit.availability._busy import Busy, Slot
from zohokit.availability._engine import free_starts
from zohokit.availability._schedule import Schedule
from zohokit.availability._tz import load_zone
from zohokit.availability._wallclock import dates_to_range, instant

__all__ = ["Host", "Mode", "TeamSlot", "hosts_needed", "team_available_slots", "team_slots"]

#: ``"one"`` (any host: round robin), ``"all"`` (every host: collective) or ``k`` (k of n).
Mode = Literal["one", "all"] | int


@dataclass(frozen=True)
class Host:
    """One host of a team: a name (``id``, unique in the team), when they can be booked
    (``schedule``, in their own zone) and their busy time."""

    id: str
    schedule: Schedule
    busy: Sequence[Busy] = ()


@dataclass(frozen=True, order=True)
class TeamSlot(Slot):
    """A slot of a team, with the hosts (ids, in the team's order) free to take it."""

    hosts: tuple[str, ...] = field(default=())


def hosts_needed(mode: Mode, count: int) -> int:
    """How many of ``count`` hosts must be free for a slot in ``mode``.

    Raises ``ValueError`` for a mode that is not ``"one"``, ``"all"`` or a ``k`` from 1 to
    ``count``.
    """
    if count < 1:
        raise ValueError("a team needs at least one host")
    if mode == "one":
        return 1
    if mode == "all":
        return count
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise ValueError(f"mode must be 'one', 'all' or a number of hosts, not {mode!r}")
    if not 1 <= mode <= count:
        raise ValueError(f"mode {mode} of {count} hosts: k must lie between 1 and {count}")
    return mode


def team_slots(
    hosts: Sequence[Host],
    *,
    range_start: dt.datetime,
    range_end: dt.datetime,
    now: dt.datetime,
    mode: Mode = "all",
    booker_zone: str | ZoneInfo | None = None,
) -> list[TeamSlot]:
    """The team's slots whose start lies in ``[range_start, range_end)``, sorted by start.

    A slot is offered when at least :func:`hosts_needed` hosts offer it on their own (each by
    :func:`~zohokit.availability.slots_between` with their schedule and busy time); its
    ``hosts`` are all of those. ``booker_zone`` (default: the first host's zone) sets the
    zone of ``local_start``/``local_end``.
    """
    _check_ids(hosts)
    need = hosts_needed(mode, len(hosts))
    booker = load_zone(booker_zone) if booker_zone is not None else hosts[0].schedule.zone
    # Per slot length, each start's free hosts as a bit mask (bit i: the team's host i): one
    # dict update per host and start, and one int for each start rather than a list.
    free: dict[int, dict[int, int]] = {}
    for index, host in enumerate(hosts):
        length = int(host.schedule.slot_duration.total_seconds())
        starts = free_starts(
            host.schedule, host.busy, range_start=range_start, range_end=range_end, now=now
        )
        by_start = free.setdefault(length, {})
        bit = 1 << index
        get = by_start.get
        for start in starts:
            by_start[start] = get(start, 0) | bit
        left = len(hosts) - index - 1
        if left < need and not _reachable(free, need - left):
            return []  # no start can gather enough hosts any more: skip the rest
    return _build(hosts, free, need, booker)


def _build(
    hosts: Sequence[Host], free: dict[int, dict[int, int]], need: int, booker: ZoneInfo
) -> list[TeamSlot]:
    """The :class:`TeamSlot` of each start (per length) that ``need`` hosts share, by start."""
    found = sorted(
        (start, length, mask)
        for length, by_start in free.items()
        for start, mask in by_start.items()
        if need == 1 or mask.bit_count() >= need
    )
    # A team's slots share few host sets and, on a grid, most ends are other slots' starts:
    # build each host tuple and each instant's pair of datetimes once.
    names: dict[int, tuple[str, ...]] = {}
    bits = [(1 << i, host.id) for i, host in enumerate(hosts)]
    instants: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    out: list[TeamSlot] = []
    for start, length, mask in found:
        team = names.get(mask)
        if team is None:
            team = names[mask] = tuple([name for bit, name in bits if mask & bit])
        begin = instants.get(start)
        if begin is None:
            begin = instants[start] = instant(start, booker)
        finish = instants.get(start + length)
        if finish is None:
            finish = instants[start + length] = instant(start + length, booker)
        out.append(TeamSlot(begin[0], finish[0], begin[1], finish[1], team))
    return out


def team_available_slots(
    hosts: Sequence[Host],
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    mode: Mode = "all",
    booker_zone: str | ZoneInfo | None = None,
) -> list[TeamSlot]:
    """:func:`team_slots` starting on the booker's local dates ``start`` to ``end``
    (inclusive), as :func:`~zohokit.availability.available_slots` is for one host."""
    _check_ids(hosts)
    zone = load_zone(booker_zone) if booker_zone is not None else hosts[0].schedule.zone
    covered = dates_to_range(zone, start, end)
    if covered is None:
        return []
    return team_slots(
        hosts, range_start=covered[0], range_end=covered[1], now=now, mode=mode, booker_zone=zone
    )


def _reachable(free: dict[int, dict[int, int]], count: int) -> bool:
    """Whether some start already has ``count`` free hosts."""
    return any(
        mask.bit_count() >= count for by_start in free.values() for mask in by_start.values()
    )


def _check_ids(hosts: Iterable[Host]) -> None:
    seen: set[str] = set()
    for host in hosts:
        if host.id in seen:
            raise ValueError(f"host {host.id!r} is listed twice: host ids must be unique")
        seen.add(host.id)
    if not seen:
        raise ValueError("a team needs at least one host")
