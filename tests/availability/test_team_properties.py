"""The team engine against the single-host engine, on random teams of hosts in random zones.

Each host's own slots come from ``slots_between``; the team's answer must be exactly the
intersection (``all``), the union (``one``) or the at-least-k count (``k`` of n) of them, and
every slot must name exactly the hosts whose own slots hold it. Then named cases: hosts in
Berlin and New York across the weeks the two change their clocks on different dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.availability.strategies import BASE_DAYS, UTC, busy_lists, schedules
from zohokit.scheduling import (
    Host,
    Schedule,
    TeamSlot,
    hosts_needed,
    slots_between,
    team_available_slots,
    team_slots,
)

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)

Team = tuple[list[Host], dt.datetime, dt.datetime, dt.datetime]
Key = tuple[dt.datetime, dt.datetime]


@st.composite
def teams(draw: st.DrawFn) -> Team:
    """1-4 hosts, each in a random zone with random hours, rules and busy time; one slot
    length and grid for the team (else hosts would share few slots to compare)."""
    base = draw(st.sampled_from(BASE_DAYS))
    around = dt.datetime.combine(base, dt.time(0), UTC)
    now = around + dt.timedelta(minutes=draw(st.integers(-1440, 1440)))
    range_start = now + dt.timedelta(minutes=draw(st.integers(-600, 1440)))
    days = draw(st.integers(1, 5))
    range_end = range_start + dt.timedelta(days=days)
    length = dt.timedelta(minutes=draw(st.sampled_from((15, 30, 60))))
    step = draw(st.sampled_from((None, dt.timedelta(minutes=15))))
    hosts = []
    for i in range(draw(st.integers(1, 4))):
        schedule = replace(draw(schedules(around=base)), slot_duration=length, slot_interval=step)
        hosts.append(Host(f"h{i}", schedule, draw(busy_lists(range_start, days))))
    return hosts, now, range_start, range_end


def own_slots(team: Team) -> dict[str, set[Key]]:
    hosts, now, lo, hi = team
    return {
        h.id: {
            (s.start_utc, s.end_utc)
            for s in slots_between(h.schedule, h.busy, range_start=lo, range_end=hi, now=now)
        }
        for h in hosts
    }


def run(team: Team, mode: str | int) -> list[TeamSlot]:
    hosts, now, lo, hi = team
    return team_slots(hosts, range_start=lo, range_end=hi, now=now, mode=mode)  # type: ignore[arg-type]


def keys(slots: list[TeamSlot]) -> set[Key]:
    return {(s.start_utc, s.end_utc) for s in slots}


def check_hosts(slots: list[TeamSlot], own: dict[str, set[Key]]) -> None:
    for slot in slots:
        key = (slot.start_utc, slot.end_utc)
        assert slot.hosts == tuple(h for h, held in own.items() if key in held), slot


@relaxed
@given(teams())
def test_collective_slots_are_the_intersection_of_each_hosts_slots(team: Team) -> None:
    own = own_slots(team)
    slots = run(team, "all")
    assert keys(slots) == set.intersection(*own.values())
    assert all(slot.hosts == tuple(own) for slot in slots)
    assert [s.start_utc for s in slots] == sorted(s.start_utc for s in slots)


@relaxed
@given(teams())
def test_round_robin_slots_are_the_union_with_the_free_hosts_named(team: Team) -> None:
    own = own_slots(team)
    slots = run(team, "one")
    assert keys(slots) == set.union(*own.values())
    check_hosts(slots, own)


@relaxed
@given(teams(), st.integers(1, 4))
def test_k_of_n_lies_between_and_counts_hosts(team: Team, k: int) -> None:
    hosts = team[0]
    k = min(k, len(hosts))
    own = own_slots(team)
    slots = run(team, k)
    counted = {key for key in set.union(*own.values()) if sum(key in o for o in own.values()) >= k}
    assert keys(slots) == counted
    assert keys(run(team, "all")) <= keys(slots) <= keys(run(team, "one"))
    assert all(len(slot.hosts) >= k for slot in slots)
    check_hosts(slots, own)


def test_a_team_of_one_is_the_single_host_engine() -> None:
    schedule = Schedule.from_dict(
        {"time_zone": "Europe/Berlin", "weekly_hours": {"monday": ["09:00-12:00"]}}
    )
    now = dt.datetime(2024, 3, 1, tzinfo=UTC)
    lo, hi = dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC)
    single = slots_between(schedule, [], range_start=lo, range_end=hi, now=now)
    team = team_slots([Host("ann", schedule)], range_start=lo, range_end=hi, now=now, mode="one")
    assert [(s.start_utc, s.end_utc, s.local_start) for s in team] == [
        (s.start_utc, s.end_utc, s.local_start) for s in single
    ]
    assert {s.hosts for s in team} == {("ann",)}


def office(zone: str) -> Schedule:
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    return Schedule.from_dict(
        {
            "time_zone": zone,
            "duration_minutes": 60,
            "weekly_hours": {d: ["09:00-17:00"] for d in weekdays},
        }
    )


BERLIN, NEW_YORK = Host("berlin", office("Europe/Berlin")), Host("nyc", office("America/New_York"))


def one_day(day: dt.date, mode: str) -> list[TeamSlot]:
    """Berlin's and New York's team slots on one UTC date."""
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    team = [BERLIN, NEW_YORK]
    return team_available_slots(team, start=day, end=day, now=now, mode=mode, booker_zone="UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "utc_hours"),
    [
        # Both on standard time: New York 09:00 EST is 14:00 UTC, Berlin 17:00 CET 16:00 UTC.
        (dt.date(2024, 3, 4), [14, 15]),
        # New York moved on 10 March, Berlin not yet: 09:00 EDT is 13:00 UTC, an hour more.
        (dt.date(2024, 3, 11), [13, 14, 15]),
        # Berlin moved on 31 March too: 17:00 CEST is 15:00 UTC.
        (dt.date(2024, 4, 1), [13, 14]),
        # Autumn: Berlin back on 27 October, New York only on 3 November.
        (dt.date(2024, 10, 28), [13, 14, 15]),
        (dt.date(2024, 11, 4), [14, 15]),
    ],
)
def test_collective_hours_of_hosts_whose_clocks_change_on_different_days(
    day: dt.date, utc_hours: list[int]
) -> None:
    slots = one_day(day, "all")
    assert [s.start_utc.hour for s in slots] == utc_hours
    assert all(s.hosts == ("berlin", "nyc") for s in slots)


def test_round_robin_across_zones_names_who_is_working() -> None:
    day = dt.date(2024, 3, 11)
    slots = one_day(day, "one")
    by_hour = {s.start_utc.hour: s.hosts for s in slots}
    assert by_hour[8] == ("berlin",)  # 09:00 CET
    assert by_hour[13] == ("berlin", "nyc")
    assert by_hour[20] == ("nyc",)  # 16:00 EDT
    assert sorted(by_hour) == list(range(8, 21))


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0, "between 1 and 2"),
        (3, "between 1 and 2"),
        ("some", "mode must be"),
        (True, "mode must be"),
    ],
)
def test_a_bad_mode_says_what_to_give(mode: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        hosts_needed(mode, 2)  # type: ignore[arg-type]


def test_host_ids_must_be_unique() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="listed twice"):
        team_slots([BERLIN, BERLIN], range_start=now, range_end=now, now=now)
