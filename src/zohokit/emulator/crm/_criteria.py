"""The search ``criteria`` language: ``((Field:operator:value)and(Field:operator:value))``.

Grammar (Zoho's, as its search docs describe it)::

    expr      := group (("and" | "or") group)*       "and" binds tighter than "or"
    group     := "(" (expr | condition) ")"
    condition := field ":" operator ":" value

Inside a value a backslash escapes the next character, so ``\\(``, ``\\)``, ``\\,`` and ``\\\\``
stand for themselves; unescaped commas separate the values of ``in`` and ``between``. At most
ten conditions. ``equals`` on text fields matches as *contains* (Zoho's documented quirk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._metadata import FieldDef, ModuleDef
from ._values import comparable, literal

MAX_CONDITIONS = 10
MAX_LENGTH = 3000
#: Parentheses nested deeper than this are refused: the parser is recursive, and 3000
#: characters of "(" would otherwise exhaust Python's stack (a 500 instead of a 400).
MAX_DEPTH = 50

Predicate = Callable[[dict[str, Any]], bool]

_TEXT_TYPES = {"text", "email", "phone", "website", "textarea"}
_ORDERED_TYPES = {"date", "datetime", "integer", "bigint", "currency", "double"}
_OPERATORS_BY_TYPE: dict[str, frozenset[str]] = {
    **{t: frozenset({"equals", "not_equal", "starts_with", "in"}) for t in _TEXT_TYPES},
    "textarea": frozenset({"equals", "not_equal", "starts_with"}),
    "picklist": frozenset({"equals", "not_equal", "in"}),
    "boolean": frozenset({"equals", "not_equal"}),
    "lookup": frozenset({"equals", "not_equal", "in"}),
    "ownerlookup": frozenset({"equals", "not_equal", "in"}),
    "userlookup": frozenset({"equals", "not_equal", "in"}),
    "multiselectpicklist": frozenset({"equals", "not_equal", "in"}),
    "autonumber": frozenset({"equals", "not_equal", "starts_with", "in"}),
    **{
        t: frozenset(
            {
                "equals",
                "not_equal",
                "in",
                "greater_than",
                "greater_equal",
                "less_than",
                "less_equal",
                "between",
            }
        )
        for t in _ORDERED_TYPES
    },
}
#: Zoho's placeholder for "the field is empty" in criteria values.
EMPTY = "${empty}"


class CriteriaError(Exception):
    """The criteria cannot be run: answered as 400 ``INVALID_QUERY`` with these details."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.details: dict[str, Any] = {"reason": reason, **details}


@dataclass(frozen=True)
class Condition:
    """``field:operator:values`` with escapes already removed from each value."""

    field: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """Conditions joined by one boolean operator (``and`` or ``or``)."""

    op: str
    items: tuple[Condition | Group, ...]


Node = Condition | Group


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.conditions = 0
        self.depth = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            raise CriteriaError(f"expected '{char}' at position {self.pos}")
        self.pos += 1

    def keyword(self) -> str | None:
        self.skip_space()
        for word in ("and", "or"):
            end = self.pos + len(word)
            if self.text[self.pos : end].lower() != word:
                continue
            after = end
            while after < len(self.text) and self.text[after].isspace():
                after += 1
            if self.text[after : after + 1] == "(":
                self.pos = end
                return word
        return None

    def expr(self) -> Node:
        # Collect "a and b or c and d" into or(and(a, b), and(c, d)).
        ors: list[Node] = []
        ands: list[Node] = [self.group()]
        while (word := self.keyword()) is not None:
            if word == "or":
                ors.append(ands[0] if len(ands) == 1 else Group("and", tuple(ands)))
                ands = []
            ands.append(self.group())
        ors.append(ands[0] if len(ands) == 1 else Group("and", tuple(ands)))
        return ors[0] if len(ors) == 1 else Group("or", tuple(ors))

    def group(self) -> Node:
        self.expect("(")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CriteriaError("parentheses nested too deeply", limit=MAX_DEPTH)
        self.skip_space()
        node = self.expr() if self.text[self.pos : self.pos + 1] == "(" else self.condition()
        self.expect(")")
        self.depth -= 1
        return node

    def condition(self) -> Condition:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise CriteriaError("more than 10 conditions", limit=MAX_CONDITIONS)
        raw: list[str] = []  # the condition text up to its closing ")", escapes kept
        while True:
            if self.pos >= len(self.text):
                raise CriteriaError("unbalanced parentheses")
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                raw.append(self.text[self.pos : self.pos + 2])
                self.pos += 2
                continue
            if ch == ")":
                break
            if ch == "(":
                raise CriteriaError("unescaped '(' in a value")
            raw.append(ch)
            self.pos += 1
        parts = _split("".join(raw), ":", maxsplit=2)
        if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
            raise CriteriaError("a condition must be field:operator:value")
        field, operator, value = parts[0].strip(), parts[1].strip().lower(), parts[2]
        values = tuple(_unescape(v) for v in _split(value, ","))
        return Condition(field, operator, values)


def _split(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on unescaped ``sep``, keeping escapes in the pieces."""
    out: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(out) < maxsplit):
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse(text: str) -> Node:
    """Parse criteria text into a tree (raises :class:`CriteriaError`)."""
    if len(text) > MAX_LENGTH:
        raise CriteriaError("criteria longer than 3000 characters", limit=MAX_LENGTH)
    parser = _Parser(text.strip())
    if not parser.text:
        raise CriteriaError("empty criteria")
    node = parser.expr()
    parser.skip_space()
    if parser.pos != len(parser.text):
        raise CriteriaError(f"unexpected text at position {parser.pos}")
    return node


def compile_criteria(
    text: str, module: ModuleDef, operators: frozenset[str] | None = None
) -> Predicate:
    """A record predicate for ``text`` in ``module`` (raises :class:`CriteriaError`).

    ``operators``, when given, is all an API version accepts (v2 and v2.1: ``equals`` and
    ``starts_with``), whatever the field's type allows.
    """
    return _compile(parse(text), module, operators)


def _compile(node: Node, module: ModuleDef, operators: frozenset[str] | None) -> Predicate:
    if isinstance(node, Group):
        parts = [_compile(item, module, operators) for item in node.items]
        if node.op == "and":
            return lambda rec: all(p(rec) for p in parts)
        return lambda rec: any(p(rec) for p in parts)
    return _condition(node, module, operators)


def _condition(cond: Condition, module: ModuleDef, operators: frozenset[str] | None) -> Predicate:
    f = module.field_map.get(cond.field)
    if f is None:
        raise CriteriaError("the field is not available for search", api_name=cond.field)
    allowed = _OPERATORS_BY_TYPE.get(f.data_type, frozenset())
    if f.api_name == "id":
        allowed = frozenset({"equals", "not_equal", "in"})
    if operators is not None:
        allowed &= operators
    if cond.operator not in allowed:
        raise CriteriaError("invalid operator found", api_name=f.api_name, operator=cond.operator)
    op = cond.operator
    if op == "between" and len(cond.values) != 2:
        raise CriteriaError("between needs two values", api_name=f.api_name)
    if op not in ("in", "between") and len(cond.values) != 1:
        # An unescaped comma in a single value is almost always a forgotten escape.
        raise CriteriaError("unescaped ',' in a value", api_name=f.api_name)
    if op in ("in",) and len(cond.values) > 100:
        raise CriteriaError("more than 100 values for in", api_name=f.api_name)
    name = f.api_name
    if len(cond.values) == 1 and cond.values[0].strip().lower() == EMPTY:
        empty_wanted = op == "equals"
        return lambda rec: (rec.get(name) in (None, "")) == empty_wanted
    try:
        values = [literal(f, v) for v in cond.values]
    except ValueError:
        raise CriteriaError(
            "the value does not match the field's data type",
            api_name=name,
            expected_data_type=f.data_type,
        ) from None
    return _matcher(f, op, values)


def _matcher(f: FieldDef, op: str, values: list[Any]) -> Predicate:
    name = f.api_name
    contains = f.data_type in _TEXT_TYPES

    def value_of(rec: dict[str, Any]) -> Any:
        return comparable(f, rec.get(name))

    first = values[0]
    if op == "equals":
        if contains:
            return lambda rec: (v := value_of(rec)) is not None and first in v
        return lambda rec: value_of(rec) == first
    if op == "not_equal":
        if contains:
            return lambda rec: (v := value_of(rec)) is None or first not in v
        return lambda rec: value_of(rec) != first
    if op == "starts_with":
        return lambda rec: (v := value_of(rec)) is not None and v.startswith(first)
    if op == "in":
        wanted = set(values)
        return lambda rec: value_of(rec) in wanted
    low, high = (values[0], values[1]) if op == "between" else (first, first)
    compare: dict[str, Callable[[Any], bool]] = {
        "greater_than": lambda v: v > first,
        "greater_equal": lambda v: v >= first,
        "less_than": lambda v: v < first,
        "less_equal": lambda v: v <= first,
        "between": lambda v: low <= v <= high,
    }
    test = compare[op]
    return lambda rec: (v := value_of(rec)) is not None and test(v)
