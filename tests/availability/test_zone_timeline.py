"""The engine's zone timeline gives exactly the UTC instants the per-range conversion gives.

``ZoneTimeline`` finds a zone's offset changes once over a whole query span, where
``wall_range_to_utc`` finds them around each wall-clock range; the slot engine relies on the
two agreeing on gaps, folds, half-hour shifts and a date the zone skipped.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from zohokit.availability._wallclock import ZoneTimeline, day_intervals, wall_range_to_utc
from zohokit.scheduling import TimeBlock

from .strategies import BASE_DAYS, ZONES, blocks

_EPOCH = dt.datetime(1970, 1, 1)


def _wall_seconds(moment: dt.datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


@settings(max_examples=300)
# The fold of New York (2024-11-03, 01:00-02:00 twice), the gap of Berlin (2024-03-31,
# 02:00-03:00 never) and Lord Howe's half-hour fold (2024-04-07), besides random ranges.
@example("America/New_York", dt.date(2024, 11, 2), 1, 0, 8)
@example("Europe/Berlin", dt.date(2024, 3, 30), 1, 4, 12)
@example("Australia/Lord_Howe", dt.date(2024, 4, 6), 1, 4, 8)
@given(
    zone_name=st.sampled_from(ZONES),
    base=st.sampled_from(BASE_DAYS),
    offset=st.integers(-1, 2),  # the base days sit just before a change of offset
    start_quarter=st.integers(0, 95),
    quarters=st.integers(1, 96 * 2),
)
def test_timeline_ranges_equal_the_per_range_conversion(
    zone_name: str, base: dt.date, offset: int, start_quarter: int, quarters: int
) -> None:
    zone = ZoneInfo(zone_name)
    day = base + dt.timedelta(days=offset)
    timeline = ZoneTimeline(zone, base - dt.timedelta(days=30), base + dt.timedelta(days=60))
    wall_start = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=15 * start_quarter)
    wall_end = wall_start + dt.timedelta(minutes=15 * quarters)
    expected = list(wall_range_to_utc(zone, wall_start, wall_end))
    assert timeline.wall_range(_wall_seconds(wall_start), _wall_seconds(wall_end)) == expected


@given(
    zone_name=st.sampled_from(ZONES),
    base=st.sampled_from(BASE_DAYS),
    offset=st.integers(-3, 12),
    day_blocks=blocks(),
)
def test_day_intervals_agree_with_and_without_a_timeline(
    zone_name: str, base: dt.date, offset: int, day_blocks: tuple[TimeBlock, ...]
) -> None:
    """Dates near the timeline's ends too: outside its span it falls back, same answer."""
    zone = ZoneInfo(zone_name)
    timeline = ZoneTimeline(zone, base, base + dt.timedelta(days=8))
    day = base + dt.timedelta(days=offset)
    assert day_intervals(zone, day, day_blocks, timeline) == day_intervals(zone, day, day_blocks)


def test_a_date_the_zone_skipped_has_no_time_and_its_neighbours_keep_theirs() -> None:
    apia = ZoneInfo("Pacific/Apia")  # went from UTC-10 to UTC+14 after 2011-12-29
    timeline = ZoneTimeline(apia, dt.date(2011, 12, 20), dt.date(2012, 1, 10))
    whole_day = (TimeBlock(dt.time(0), dt.time(0)),)
    for day in (dt.date(2011, 12, 29), dt.date(2011, 12, 30), dt.date(2011, 12, 31)):
        assert day_intervals(apia, day, whole_day, timeline) == day_intervals(apia, day, whole_day)
    assert day_intervals(apia, dt.date(2011, 12, 30), whole_day, timeline) == []
    (only,) = day_intervals(apia, dt.date(2011, 12, 31), whole_day, timeline)
    assert only[1] - only[0] == 24 * 3600
