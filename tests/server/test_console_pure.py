"""The console's pure parts: a run's word and first errors, the chart's arithmetic, the
credit days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from zohokit.server._charts import Bar, layout
from zohokit.server._tenant_panels import FIRST_ERRORS, credit_days, run_view
from zohokit.sync import RunReport

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_run_whose_rows_failed_never_reads_completed() -> None:
    clean = RunReport("acme", "Leads", "push", NOW.isoformat(), created=2)
    clean.finish(now=NOW)
    assert run_view(clean).word == "completed"
    # A report saved as "completed" although rows failed (an older ledger wrote such).
    old = RunReport("acme", "Leads", "push", NOW.isoformat(), failed=3, status="completed")
    assert run_view(old).word == "completed_with_errors"
    parked = RunReport("acme", "Leads", "push", NOW.isoformat(), parked=1, status="completed")
    assert run_view(parked).word == "completed_with_errors"
    stopped = RunReport("acme", "Leads", "push", NOW.isoformat())
    stopped.finish("failed", "UnknownModule", now=NOW)
    assert run_view(stopped).word == "failed"


def test_the_first_errors_come_most_frequent_first_then_refused_values() -> None:
    run = RunReport("acme", "Leads", "push", NOW.isoformat())
    run.error("MANDATORY_NOT_FOUND", "r9", "required field not found: Last_Name")
    for who in ("a@x.com", "b@x.com"):
        run.error("DUPLICATE_DATA", who, "duplicate data: Email")
    run.problem({"row": 4, "field": "Email_Opt_Out", "expected": "boolean", "got": "maybe"})
    run.finish(now=NOW)
    lines = run_view(run).first_errors
    assert lines == [
        "DUPLICATE_DATA x2 (e.g. a@x.com): duplicate data: Email",
        "MANDATORY_NOT_FOUND x1 (e.g. r9): required field not found: Last_Name",
        "refused: row 4, field Email_Opt_Out, expected boolean, got maybe",
    ]
    for code in ("A", "B", "C", "D"):
        run.error(code, None, "")
    assert len(run_view(run).first_errors) == FIRST_ERRORS


def test_bars_are_stacked_and_scaled_to_the_tallest() -> None:
    chart = layout(
        "c", "Calls", ("ok", "bad"), [Bar("a", (3, 1)), Bar("b", (0, 0)), Bar("c", (2, 0))]
    )
    first, empty, third = chart.columns
    assert [r.height for r in first.rects] == [chart.baseline * 3 / 4, chart.baseline / 4]
    assert first.rects[0].y + first.rects[0].height == chart.baseline  # stacked from the axis
    assert first.rects[1].y + first.rects[1].height == pytest.approx(first.rects[0].y)
    assert empty.rects == ()
    assert third.rects[0].height == chart.baseline / 2
    assert chart.summary == "5 ok, 1 bad in all; the tallest bar is 4"
    assert first.tip == "a: 3 ok, 1 bad"
    # Nothing at all: no bar drawn, no division by zero.
    assert layout("z", "None", ("ok",), [Bar("a", (0,))]).columns[0].rects == ()
    with pytest.raises(ValueError, match="one value per series"):
        layout("c", "Calls", ("ok", "bad"), [Bar("a", (1,))])


def test_at_most_eight_axis_labels() -> None:
    chart = layout("c", "Calls", ("ok",), [Bar(f"{h:02d}:00", (h,)) for h in range(24)])
    labels = [c.label for c in chart.columns if c.label]
    assert labels == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"]


def test_credit_days_end_today_oldest_first() -> None:
    assert credit_days(date(2030, 3, 2), 3) == ["2030-02-28", "2030-03-01", "2030-03-02"]
