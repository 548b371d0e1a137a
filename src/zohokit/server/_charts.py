"""Charts for the console, drawn on the server as inline SVG: no script, no CDN, no asset to
fetch, so they show on a machine with no internet and in a page saved to disk.

A chart is stacked bars (one per hour or per day, each split into series) scaled to the
largest bar, in a ``viewBox`` that shrinks with the page (no horizontal scroll at 390 px).
:func:`layout` does the arithmetic (a pure function); the ``chart`` macro of
``templates/_chart.html`` draws it, autoescaped like every page: each bar carries a
``<title>`` with its numbers (a tooltip on hover), and the same numbers follow in a table
inside ``<details>``, for the keyboard and screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..traffic import CallHour

__all__ = ["CALL_SERIES", "Bar", "Chart", "Rect", "calls_chart", "layout"]

#: The drawing's size in SVG units (it is scaled to the card's width).
WIDTH: Final = 640
HEIGHT: Final = 160
AXIS: Final = 18
#: Each series' colour, in order (the console's palette: calm, then warning, then error).
COLOURS: Final = ("#2457d6", "#d08a00", "#a0201b", "#5a6375")
#: At most this many axis labels, so they never overlap.
LABELS: Final = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its axis label (``"14:00"``, ``"12-01"``) and a value per series."""

    label: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Rect:
    """One drawn piece of a bar, in SVG units."""

    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True, slots=True)
class Column:
    """One bar as drawn: its pieces, its tooltip, and its axis label (``None``: not shown)."""

    rects: tuple[Rect, ...]
    tip: str
    label: str | None
    centre: float


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the ``chart`` macro draws."""

    id: str
    title: str
    summary: str
    series: tuple[tuple[str, str], ...]  # (name, colour)
    columns: tuple[Column, ...]
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - AXIS


def layout(chart_id: str, title: str, series: Sequence[str], bars: Sequence[Bar]) -> Chart:
    """The chart of ``bars`` (each with one value per name in ``series``, stacked in that
    order), scaled so the tallest bar fills the plot; ``chart_id`` names its elements."""
    if len(series) > len(COLOURS):
        raise ValueError(f"series: at most {len(COLOURS)}, got {len(series)}")
    for bar in bars:
        if len(bar.values) != len(series):
            raise ValueError(f"bar {bar.label!r}: one value per series ({len(series)})")
    top = max((sum(b.values) for b in bars), default=0)
    slot = WIDTH / max(len(bars), 1)
    width = max(slot * 0.7, 1.0)
    plot = HEIGHT - AXIS
    every = max(1, -(-len(bars) // LABELS))
    columns = []
    for i, bar in enumerate(bars):
        x = i * slot + (slot - width) / 2
        y = float(plot)
        rects = []
        for colour, value in zip(COLOURS, bar.values, strict=False):
            if value <= 0:
                continue
            h = plot * value / top
            y -= h
            rects.append(Rect(round(x, 1), round(y, 1), round(width, 1), round(h, 1), colour))
        tip = ", ".join(f"{n} {name}" for name, n in zip(series, bar.values, strict=True))
        label = bar.label if i % every == 0 else None
        columns.append(Column(tuple(rects), f"{bar.label}: {tip}", label, round(x + width / 2, 1)))
    totals = [sum(b.values[k] for b in bars) for k in range(len(series))]
    summary = ", ".join(f"{n} {name}" for name, n in zip(series, totals, strict=True))
    return Chart(
        id=chart_id,
        title=title,
        summary=f"{summary} in all; the tallest bar is {top}",
        series=tuple(zip(series, COLOURS, strict=False)),
        columns=tuple(columns),
        bars=tuple(bars),
    )


#: The parts of an hour's Zoho calls, stacked (a 429 counts as a failure too, so the three
#: add up to the calls).
CALL_SERIES: Final = ("answered", "throttled (429)", "other failures")


def calls_chart(chart_id: str, title: str, hours: Sequence[CallHour]) -> Chart:
    """Zoho calls per hour from the call history (:func:`zohokit.traffic.calls_by_hour`),
    each bar split into :data:`CALL_SERIES`: the overview's chart and the tenant page's."""
    bars = [
        Bar(h.hour.strftime("%H:00"), (h.calls - h.errors, h.throttled, h.errors - h.throttled))
        for h in hours
    ]
    return layout(chart_id, title, CALL_SERIES, bars)
