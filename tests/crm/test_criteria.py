"""The criteria builder: escaping and limits (pure, no emulator)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohokit.crm import where
from zohokit.emulator.crm._criteria import parse


def test_special_characters_are_escaped() -> None:
    c = where("Company", "equals", r"A (B), C\D")
    assert str(c) == r"(Company:equals:A \(B\)\, C\\D)"


def test_combining_and_limits() -> None:
    c = where("A", "equals", 1) & where("B", "in", ["x", "y"]) | where("C", "equals", True)
    assert str(c) == "(((A:equals:1)and(B:in:x,y))or(C:equals:true))"
    many = where("A", "equals", 0)
    for i in range(9):
        many = many & where("A", "equals", i)
    with pytest.raises(ValueError, match="10"):
        _ = many & where("A", "equals", 10)


def test_values_are_formatted_as_zoho_expects() -> None:
    moment = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert str(where("Created_Time", "greater_than", moment)) == (
        "(Created_Time:greater_than:2031-01-02T03:04:05+00:00)"
    )
    assert str(where("D", "between", [date(2031, 1, 1), date(2031, 2, 1)])) == (
        "(D:between:2031-01-01,2031-02-01)"
    )
    with pytest.raises(ValueError, match="timezone"):
        where("Created_Time", "greater_than", datetime(2031, 1, 1))
    with pytest.raises(ValueError, match="two"):
        where("D", "between", [1])
    with pytest.raises(ValueError, match="single"):
        where("D", "equals", ["a", "b"])


@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and "\x00" not in t))
def test_any_value_round_trips_through_zohos_grammar(value: str) -> None:
    # The emulator's parser follows Zoho's documented grammar: what we escape, it reads back.
    node = parse(str(where("Company", "equals", value)))
    assert node.values == (value,)  # type: ignore[union-attr]
