"""A COQL subset: enough for keyset and offset paging over one module.

::

    select f1, f2 from Module where <cond> [order by f [asc|desc], ...]
        [limit [offset,] n | limit n offset m]

``<cond>`` joins comparisons (``= != <> < > <= >=``, ``[not] like '%x%'``,
``[not] in (...)``, ``is [not] null``, ``between a and b``) with ``and``/``or`` and
parentheses. ``where`` is mandatory, as in Zoho. Lookup fields compare by id (``Field`` or
``Field.id``). Rows carry ``id`` and the selected fields; lookups come back as ``{"id": ...}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._metadata import FieldDef, ModuleDef
from ._store import Record
from ._values import comparable, literal

DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
MAX_OFFSET_ROWS = 100_000
#: Parentheses nested deeper than this in ``where`` are a syntax error: the parser is
#: recursive, and a long run of "(" would otherwise exhaust Python's stack (a 500).
MAX_DEPTH = 50

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_$][A-Za-z0-9_$.]*)
    )""",
    re.VERBOSE,
)

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Resolver = Callable[[str], "tuple[ModuleDef, list[Record]] | None"]


class CoqlError(Exception):
    """A query Zoho would refuse: ``SYNTAX_ERROR``, ``INVALID_QUERY`` or ``LIMIT_EXCEEDED``."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _near(tok: _Tok) -> CoqlError:
    """The ``SYNTAX_ERROR`` Zoho answers for an unexpected token, with where it sits."""
    return CoqlError(
        "SYNTAX_ERROR", f"error near '{tok.text}'", near=tok.text, column=tok.pos + 1, line=1
    )


@dataclass
class CoqlResult:
    """The rows of one page and whether more rows follow."""

    rows: list[Row]
    more: bool


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    query = query.rstrip().rstrip(";")
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            raise CoqlError(
                "SYNTAX_ERROR",
                "error in the query",
                near=query[pos : pos + 20].strip(),
                column=pos + 1,
                line=1,
            )
        kind = m.lastgroup or "word"
        tokens.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def is_word(self, *words: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise CoqlError("SYNTAX_ERROR", "unexpected end of query", clause="end")
        self.i += 1
        return tok

    def expect_word(self, word: str, clause: str) -> None:
        if not self.is_word(word):
            tok = self.peek()
            raise CoqlError(
                "SYNTAX_ERROR",
                f"{word} clause expected" if tok is None else f"error near '{tok.text}'",
                clause=clause,
                **({"near": tok.text, "column": tok.pos + 1, "line": 1} if tok else {}),
            )
        self.i += 1

    def expect_punct(self, char: str) -> None:
        tok = self.take()
        if tok.text != char:
            raise _near(tok)


@dataclass
class _Query:
    module: ModuleDef
    records: list[Record]
    columns: list[str]
    where: Predicate
    order: list[tuple[FieldDef, bool]]
    offset: int
    limit: int


def _field(module: ModuleDef, name: str) -> FieldDef:
    base, _, sub = name.partition(".")
    f = module.field_map.get(base)
    if f is None or (sub and (sub != "id" or f.data_type not in ("lookup", "ownerlookup"))):
        raise CoqlError("INVALID_QUERY", "column given seems to be invalid", column_name=name)
    return f


def _value(p: _Parser, f: FieldDef) -> Any:
    tok = p.take()
    if tok.kind == "string":
        text = tok.text[1:-1].replace("''", "'").replace("\\'", "'")
    elif tok.kind == "number":
        text = tok.text
    elif tok.kind == "word" and tok.text.lower() in ("true", "false"):
        text = tok.text.lower()
    else:
        raise _near(tok)
    try:
        return literal(f, text)
    except ValueError:
        raise CoqlError(
            "INVALID_QUERY",
            "value given seems to be invalid for the column",
            column_name=f.api_name,
            value=text,
        ) from None


def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "%" else re.escape(ch) for ch in pattern]
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _comparison(p: _Parser, module: ModuleDef) -> Predicate:
    tok = p.take()
    if tok.kind != "word":
        raise _near(tok)
    f = _field(module, tok.text)
    name = f.api_name

    def get(row: Row) -> Any:
        return comparable(f, row.get(name))

    if p.is_word("is"):
        p.take()
        negate = p.is_word("not")
        if negate:
            p.take()
        p.expect_word("null", "where")
        if negate:
            return lambda row: get(row) not in (None, "")
        return lambda row: get(row) in (None, "")
    negate = p.is_word("not")
    if negate:
        p.take()
    if p.is_word("like"):
        p.take()
        pattern_tok = p.take()
        if pattern_tok.kind != "string":
            raise CoqlError("SYNTAX_ERROR", "like needs a quoted pattern", near=pattern_tok.text)
        regex = _like(pattern_tok.text[1:-1].replace("''", "'"))
        return lambda row: (v := row.get(name)) is not None and bool(regex.match(str(v))) != negate
    if p.is_word("in"):
        p.take()
        p.expect_punct("(")
        values = [_value(p, f)]
        while p.peek() is not None and p.peek().text == ",":  # type: ignore[union-attr]
            p.take()
            values.append(_value(p, f))
        p.expect_punct(")")
        wanted = set(values)
        return lambda row: (get(row) in wanted) != negate
    if p.is_word("between"):
        p.take()
        low = _value(p, f)
        p.expect_word("and", "where")
        high = _value(p, f)
        return lambda row: (v := get(row)) is not None and (low <= v <= high) != negate
    if negate:
        raise CoqlError("SYNTAX_ERROR", "not must precede like, in or between", clause="where")
    op_tok = p.take()
    if op_tok.kind != "op":
        raise _near(op_tok)
    if p.is_word("null"):
        raise CoqlError("SYNTAX_ERROR", "use is null / is not null", clause="where")
    value = _value(p, f)
    ops: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v == value,
        "!=": lambda v: v != value,
        "<>": lambda v: v != value,
        "<": lambda v: v < value,
        ">": lambda v: v > value,
        "<=": lambda v: v <= value,
        ">=": lambda v: v >= value,
    }
    test = ops[op_tok.text]
    if op_tok.text in ("!=", "<>"):
        return lambda row: test(get(row))
    return lambda row: (v := get(row)) is not None and test(v)


def _atom(p: _Parser, module: ModuleDef) -> Predicate:
    tok = p.peek()
    if tok is not None and tok.text == "(":
        p.take()
        p.depth += 1
        if p.depth > MAX_DEPTH:
            raise CoqlError(
                "SYNTAX_ERROR", "parentheses nested too deeply", clause="where", limit=MAX_DEPTH
            )
        inner = _or(p, module)
        p.expect_punct(")")
        p.depth -= 1
        return inner
    return _comparison(p, module)


def _joined(
    p: _Parser, module: ModuleDef, word: str, part: Callable[[_Parser, ModuleDef], Predicate]
) -> Predicate:
    """``part (word part)*``: one predicate, or all of them joined by ``and``/``or``."""
    parts = [part(p, module)]
    while p.is_word(word):
        p.take()
        parts.append(part(p, module))
    if len(parts) == 1:
        return parts[0]
    join = all if word == "and" else any
    return lambda row: join(q(row) for q in parts)


def _and(p: _Parser, module: ModuleDef) -> Predicate:
    return _joined(p, module, "and", _atom)


def _or(p: _Parser, module: ModuleDef) -> Predicate:
    return _joined(p, module, "or", _and)


def _int(p: _Parser) -> int:
    tok = p.take()
    if tok.kind != "number" or not tok.text.isdigit():
        raise CoqlError("SYNTAX_ERROR", f"error near '{tok.text}'", clause="limit", near=tok.text)
    if len(tok.text) > 9:
        # Past any limit or offset Zoho allows; int() would refuse thousands of digits anyway.
        raise CoqlError(
            "LIMIT_EXCEEDED", "limit or offset too large", limit=MAX_OFFSET_ROWS, clause="limit"
        )
    return int(tok.text)


def parse_query(query: str, resolve: Resolver) -> _Query:
    """Parse ``query`` against the modules ``resolve`` knows (raises :class:`CoqlError`)."""
    p = _Parser(_tokenize(query))
    p.expect_word("select", "select")
    columns = [p.take().text]
    while p.peek() is not None and p.peek().text == ",":  # type: ignore[union-attr]
        p.take()
        columns.append(p.take().text)
    p.expect_word("from", "from")
    module_tok = p.take()
    found = resolve(module_tok.text)
    if found is None:
        raise CoqlError(
            "INVALID_QUERY", "invalid module given", module=module_tok.text, clause="from"
        )
    module, records = found
    for column in columns:
        if column == "*":
            raise CoqlError("SYNTAX_ERROR", "select * is not supported", clause="select")
        _field(module, column)
    if not p.is_word("where"):
        raise CoqlError("SYNTAX_ERROR", "where clause is mandatory", clause="where")
    p.take()
    where = _or(p, module)
    order: list[tuple[FieldDef, bool]] = []
    if p.is_word("order"):
        p.take()
        p.expect_word("by", "order by")
        while True:
            f = _field(module, p.take().text)
            descending = False
            if p.is_word("asc", "desc"):
                descending = p.take().text.lower() == "desc"
            order.append((f, descending))
            nxt = p.peek()
            if nxt is None or nxt.text != ",":
                break
            p.take()
    offset, limit = 0, DEFAULT_LIMIT
    if p.is_word("limit"):
        p.take()
        limit = _int(p)
        nxt = p.peek()
        if nxt is not None and nxt.text == ",":
            p.take()
            offset, limit = limit, _int(p)
        elif p.is_word("offset"):
            p.take()
            offset = _int(p)
    if p.peek() is not None:
        tok = p.take()
        raise _near(tok)
    if limit < 1 or limit > MAX_LIMIT:
        raise CoqlError(
            "LIMIT_EXCEEDED",
            f"limit must be between 1 and {MAX_LIMIT}",
            limit=MAX_LIMIT,
            clause="limit",
        )
    if offset + limit > MAX_OFFSET_ROWS:
        raise CoqlError(
            "LIMIT_EXCEEDED",
            "offset and limit together exceed 100000 rows",
            limit=MAX_OFFSET_ROWS,
            clause="limit",
        )
    return _Query(module, records, columns, where, order, offset, limit)


def _output(f: FieldDef, value: Any) -> Any:
    if f.data_type in ("lookup", "ownerlookup") and isinstance(value, dict):
        return {"id": value.get("id")}
    return value


def run_coql(query: str, resolve: Resolver) -> CoqlResult:
    """Run ``query``; ``resolve`` maps a module name to its definition and records (by id)."""
    q = parse_query(query, resolve)
    matched = [r for r in q.records if q.where(r.data)]
    for f, descending in reversed(q.order):
        name = f.api_name
        present = [r for r in matched if r.data.get(name) is not None]
        absent = [r for r in matched if r.data.get(name) is None]
        present.sort(key=lambda r: comparable(f, r.data.get(name)), reverse=descending)
        # Nulls sort first ascending and last descending, as in SQL engines Zoho fronts.
        matched = present + absent if descending else absent + present
    page = matched[q.offset : q.offset + q.limit]
    rows: list[Row] = []
    for rec in page:
        row: Row = {}
        for column in q.columns:
            f = _field(q.module, column)
            value = rec.data.get(f.api_name)
            row[column] = (
                value.get("id") if "." in column and isinstance(value, dict) else _output(f, value)
            )
        row["id"] = rec.id
        rows.append(row)
    return CoqlResult(rows, q.offset + q.limit < len(matched))
