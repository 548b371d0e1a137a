"""Why no slot: which rule of which host removed each slot of a time range.

:func:`explain` walks the same grid as the engine, but of the schedule *without* its rules
(working hours only: no time off, notice, window, limits or buffers, no busy time). Every
start of that grid is a slot the host would offer if nothing stood in the way; each one gets
a :class:`Verdict`: offered (``rule is None``), or the first rule that removes it, checked in
the order of :class:`Rule`. The parts of the range no candidate covers are outside working
hours (``Rule.WORKING_HOURS``). A start the engine offers is exactly a candidate no rule
removes (the property tests check both against each other).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from zohokit.availability._busy import Busy, BusySource
from zohokit.availability._engine import free_starts
from zohokit.availability._schedule import Schedule
from zohokit.availability._team import Host
from zohokit.availability._wallclock import from_epoch, to_epoch_ceil, to_epoch_floor

__all__ = ["Rule", "Verdict", "explain"]

_ZERO = dt.timedelta(0)
_COUNTED = (BusySource.BOOKING, BusySource.HOLD)


class Rule(StrEnum):
    """A rule that removes a slot, in the order :func:`explain` checks them."""

    WORKING_HOURS = "working_hours"
    """Outside the working hours of that date (weekly hours or a date override), or in a
    stretch of them too short for a slot."""
    TIME_OFF = "time_off"
    """The date is time off."""
    WINDOW = "window"
    """The date lies past the booking window."""
    NOTICE = "notice"
    """The slot starts in the past or sooner than the minimum notice allows."""
    DAILY_LIMIT = "daily_limit"
    """``max_bookings_per_day`` bookings and holds already start on that date."""
    WEEKLY_LIMIT = "weekly_limit"
    """``max_bookings_per_week`` bookings and holds already start in that ISO week."""
    BUSY = "busy"
    """Busy time (a Zoho event, a booking, a hold, an all-day event) overlaps the slot."""
    BUFFER = "buffer"
    """Busy time overlaps only the buffers around the slot or around the busy entry."""


@dataclass(frozen=True)
class Verdict:
    """What happened to one slot (or, for ``WORKING_HOURS``, one stretch) of one host.

    ``start``/``end`` are UTC; ``rule`` is ``None`` when the slot is offered; ``detail`` says
    which entry of the schedule or which busy interval it was, in words.
    """

    host: str
    start: dt.datetime
    end: dt.datetime
    rule: Rule | None
    detail: str

    @property
    def offered(self) -> bool:
        """Whether the host offers this slot."""
        return self.rule is None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready (ISO 8601 times)."""
        return {
            "host": self.host,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rule": None if self.rule is None else self.rule.value,
            "detail": self.detail,
        }


def explain(
    hosts: Host | Sequence[Host],
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> list[Verdict]:
    """A :class:`Verdict` for every slot each host could have in ``[start, end)`` (aware
    datetimes), and for the stretches outside working hours; by host (in the given order),
    then by start. A single schedule is one :class:`Host`.
    """
    if end <= start:
        raise ValueError("explain: end must be after start")
    team = [hosts] if isinstance(hosts, Host) else list(hosts)
    out: list[Verdict] = []
    for host in team:
        out.extend(_explain_host(host, start, end, now))
    return out


def _relaxed(schedule: Schedule) -> Schedule:
    return replace(
        schedule,
        time_off=(),
        minimum_notice=_ZERO,
        booking_window=None,
        max_bookings_per_day=None,
        max_bookings_per_week=None,
        buffer_before=_ZERO,
        buffer_after=_ZERO,
    )


def _explain_host(
    host: Host, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[Verdict]:
    schedule = host.schedule
    duration = int(schedule.slot_duration.total_seconds())
    candidates = free_starts(_relaxed(schedule), [], range_start=start, range_end=end, now=start)
    judge = _Judge(schedule, host.busy, now)
    verdicts: list[tuple[int, Verdict]] = []
    for s in candidates:
        rule, detail = judge.rule_for(s, duration)
        verdict = Verdict(host.id, from_epoch(s), from_epoch(s + duration), rule, detail)
        verdicts.append((s, verdict))
    for g0, g1 in _gaps(to_epoch_ceil(start), to_epoch_ceil(end), candidates, duration):
        detail = "outside working hours (or too short a stretch of them for a slot)"
        gap = Verdict(host.id, from_epoch(g0), from_epoch(g1), Rule.WORKING_HOURS, detail)
        verdicts.append((g0, gap))
    verdicts.sort(key=lambda pair: pair[0])
    return [v for _, v in verdicts]


def _gaps(lo: int, hi: int, starts: list[int], duration: int) -> list[tuple[int, int]]:
    """The parts of ``[lo, hi)`` no slot ``[s, s + duration)`` covers."""
    gaps: list[tuple[int, int]] = []
    cursor = lo
    for s in starts:
        if s > cursor:
            gaps.append((cursor, min(s, hi)))
        cursor = max(cursor, s + duration)
        if cursor >= hi:
            break
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps


class _Judge:
    """The rules of one schedule and its busy time, applied to one candidate at a time."""

    def __init__(self, schedule: Schedule, busy: Sequence[Busy], now: dt.datetime) -> None:
        self.schedule = schedule
        self.zone = schedule.zone
        self.today = now.astimezone(self.zone).date()
        self.now = to_epoch_ceil(now)
        self.earliest = to_epoch_ceil(now + schedule.minimum_notice)
        self.all_day: set[dt.date] = set()
        self.per_day: Counter[dt.date] = Counter()
        self.per_week: Counter[tuple[int, int]] = Counter()
        self.timed: list[tuple[int, int, int, int, Busy]] = []
        for entry in busy:
            if entry.all_day:
                if schedule.all_day_events_block_day:
                    self.all_day.update(entry.all_day_dates())
                continue
            if entry.source in _COUNTED:
                day = entry.start.astimezone(self.zone).date()
                self.per_day[day] += 1
                self.per_week[_week(day)] += 1
            b0, b1 = to_epoch_floor(entry.start), to_epoch_ceil(entry.end)
            w0 = to_epoch_floor(entry.start - entry.buffer_before)
            w1 = to_epoch_ceil(entry.end + entry.buffer_after)
            if w1 > w0:
                self.timed.append((b0, b1, w0, w1, entry))

    def rule_for(self, s: int, duration: int) -> tuple[Rule | None, str]:
        """The first rule that removes the slot ``[s, s + duration)``, with its detail."""
        sc = self.schedule
        day = from_epoch(s).astimezone(self.zone).date()
        for off in sc.time_off:
            if off.covers(day):
                reason = f" ({off.reason})" if off.reason else ""
                return Rule.TIME_OFF, f"time off {off.first_day} to {off.last_day}{reason}"
        window = sc.booking_window
        if window is not None and day > window.last_day(self.today):
            last = window.last_day(self.today)
            return Rule.WINDOW, f"past the {window.days}-{window.kind}-day window (ends {last})"
        if s < self.earliest:
            if s < self.now:
                return Rule.NOTICE, "starts in the past"
            minutes = int(sc.minimum_notice.total_seconds()) // 60
            return Rule.NOTICE, f"less than the minimum notice of {minutes} minutes"
        if day in self.all_day:
            return Rule.BUSY, f"an all-day event on {day}"
        if sc.max_bookings_per_day is not None and self.per_day[day] >= sc.max_bookings_per_day:
            return Rule.DAILY_LIMIT, f"{sc.max_bookings_per_day} bookings already on {day}"
        limit = sc.max_bookings_per_week
        if limit is not None and self.per_week[_week(day)] >= limit:
            year, week = _week(day)
            return Rule.WEEKLY_LIMIT, f"{limit} bookings already in week {week} of {year}"
        before = int(sc.buffer_before.total_seconds())
        after = int(sc.buffer_after.total_seconds())
        buffered: Busy | None = None
        overlapping: list[Busy] = []
        for b0, b1, w0, w1, entry in self.timed:
            if b1 > b0 and s < b1 and s + duration > b0:
                overlapping.append(entry)
            elif buffered is None and s - before < w1 and s + duration + after > w0:
                buffered = entry
        if overlapping:
            # Our own booking or hold says more than the Zoho event it wrote.
            overlapping.sort(key=lambda entry: entry.source is BusySource.ZOHO)
            return Rule.BUSY, _busy_detail(overlapping[0])
        if buffered is not None:
            return Rule.BUFFER, f"the buffers around the slot meet {_busy_detail(buffered)}"
        return None, "offered"


def _week(day: dt.date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def _busy_detail(entry: Busy) -> str:
    what = {
        BusySource.ZOHO: "a Zoho Calendar event",
        BusySource.BOOKING: "a booking",
        BusySource.HOLD: "a held slot",
    }[entry.source]
    start, end = entry.start.astimezone(dt.UTC), entry.end.astimezone(dt.UTC)
    return f"{what} {start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"
