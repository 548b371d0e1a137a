"""Hypothesis strategies for schedules and busy time, shared by the property tests."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from zohokit.scheduling import (
    WEEKDAYS,
    BookingWindow,
    Busy,
    BusySource,
    DateOverride,
    Schedule,
    TimeBlock,
    TimeOff,
)

UTC = dt.UTC

# Zones with DST both ways, half-hour offsets, a 30-minute DST shift, and none at all.
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "UTC",
)

# Days close to DST changes in both hemispheres, so random ranges often cross one.
BASE_DAYS = (
    dt.date(2024, 3, 9),
    dt.date(2024, 3, 30),
    dt.date(2024, 4, 6),
    dt.date(2024, 10, 5),
    dt.date(2024, 10, 26),
    dt.date(2024, 11, 2),
    dt.date(2024, 7, 15),
)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[TimeBlock, ...]:
    """0-3 ordered, non-overlapping blocks on a 15-minute grid, "24:00" ends included."""
    count = draw(st.sampled_from((0, 1, 1, 2, 2, 3)))
    points = sorted(draw(st.sets(st.integers(0, 96), min_size=2 * count, max_size=2 * count)))
    out = []
    for i in range(count):
        a, b = points[2 * i], points[2 * i + 1]
        start = dt.time(a // 4, a % 4 * 15)
        end = dt.time(0) if b == 96 else dt.time(b // 4, b % 4 * 15)
        out.append(TimeBlock(start, end))
    return tuple(out)


minutes = st.sampled_from


@st.composite
def schedules(draw: st.DrawFn, around: dt.date = BASE_DAYS[0]) -> Schedule:
    """A random valid schedule, with overrides and time off near ``around``."""
    override_days = draw(st.sets(st.integers(-2, 12), max_size=2))
    off = draw(st.none() | st.tuples(st.integers(-2, 12), st.integers(0, 3)))
    window = draw(
        st.none()
        | st.none()
        | st.builds(BookingWindow, st.integers(1, 15), st.sampled_from(("calendar", "business")))
    )
    return Schedule(
        time_zone=draw(st.sampled_from(ZONES)),
        weekly_hours=tuple(draw(blocks()) for _ in WEEKDAYS),
        overrides=tuple(
            DateOverride(around + dt.timedelta(days=d), draw(blocks()))
            for d in sorted(override_days)
        ),
        time_off=()
        if off is None
        else (
            TimeOff(
                around + dt.timedelta(days=off[0]), around + dt.timedelta(days=off[0] + off[1])
            ),
        ),
        slot_duration=dt.timedelta(minutes=draw(minutes((15, 20, 30, 45, 60, 90)))),
        slot_interval=draw(st.none() | st.sampled_from((5, 10, 15, 25, 30, 60)).map(_mins)),
        buffer_before=_mins(draw(minutes((0, 0, 5, 15, 30)))),
        buffer_after=_mins(draw(minutes((0, 0, 10, 15, 45)))),
        minimum_notice=_mins(draw(minutes((0, 0, 30, 120, 1440)))),
        booking_window=window,
        max_bookings_per_day=draw(st.none() | st.none() | st.integers(1, 3)),
        max_bookings_per_week=draw(st.none() | st.none() | st.integers(1, 6)),
        all_day_events_block_day=draw(st.booleans()),
    )


def _mins(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@st.composite
def busy_lists(draw: st.DrawFn, around: dt.datetime, days: int) -> list[Busy]:
    """0-40 busy entries on whole minutes, from a day before ``around`` to ``days`` after."""
    out = []
    for _ in range(draw(st.integers(0, 40))):
        start = around + _mins(draw(st.integers(-1440, days * 1440)))
        if draw(st.integers(0, 9)) == 0:
            day = start.date()
            out.append(Busy.all_day_event(day, day + dt.timedelta(days=draw(st.integers(0, 1)))))
            continue
        source = draw(st.sampled_from(list(BusySource)))
        out.append(
            Busy(
                start,
                start + _mins(draw(st.integers(0, 240))),
                source,
                buffer_before=_mins(draw(minutes((0, 10))) if source is BusySource.BOOKING else 0),
                buffer_after=_mins(draw(minutes((0, 15))) if source is BusySource.BOOKING else 0),
            )
        )
    return out


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[Schedule, list[Busy], dt.datetime, dt.datetime, dt.datetime]:
    """(schedule, busy, now, range_start, range_end) around a DST-prone date."""
    base = draw(st.sampled_from(BASE_DAYS))
    schedule = draw(schedules(around=base))
    around = dt.datetime.combine(base, dt.time(0), UTC)
    now = around + _mins(draw(st.integers(-1440, 2 * 1440)))
    # Mostly a range after "now", as a booker asks; sometimes one that starts in the past.
    range_start = now + _mins(draw(st.integers(-1440, 2 * 1440)))
    days = draw(st.integers(1, 9))
    range_end = range_start + _mins(days * 1440 - draw(st.integers(0, 1380)))
    return schedule, draw(busy_lists(range_start, days)), now, range_start, range_end
