"""Record filters of the Intacct emulator: readByQuery query strings and ``query`` filter trees.

Both compile to a :data:`Predicate` over stored rows (tuples in ``ObjectDef.columns`` order) with
SQL three-valued logic: an empty value is NULL, a comparison with NULL is unknown (None), and
only ``IS NULL`` / ``isnull`` match it. Values compare by the field's datatype (numbers as
``Decimal``, dates and timestamps as dates, text case-sensitively unless the ``query`` option
``caseinsensitive`` is set). readByQuery strings may use the database codes of enum fields
(``STATUS = 'T'``, ``ITEMTYPE = 'NS'``); ``query`` filters use display words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from intacct_sync.sandbox.intacct.schema import NUMERIC_TYPES, Field, ObjectDef

__all__ = [
    "Predicate",
    "QueryError",
    "compile_filter",
    "compile_readbyquery",
    "sort_key",
    "to_comparable",
]

Row = Sequence[str | None]
#: True, False, or None (unknown: a NULL was compared)
Predicate = Callable[[Row], bool | None]
Comparable = str | Decimal | date | datetime


class QueryError(ValueError):
    """A query string or filter the emulator cannot evaluate."""


def parse_date(text: str) -> date | None:
    """``mm/dd/yyyy`` (or ISO ``yyyy-mm-dd``) to a date; None if it is neither."""
    text = text.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - wire dates are naive
        except ValueError:
            continue
    return None


def parse_timestamp(text: str) -> datetime | None:
    """``mm/dd/yyyy HH:MM:SS`` (or a bare date, at midnight) to a naive datetime."""
    text = text.strip()
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - wire timestamps are naive
        except ValueError:
            continue
    d = parse_date(text)
    return datetime(d.year, d.month, d.day) if d else None  # noqa: DTZ001


def to_comparable(field: Field, value: str, *, fold: bool = False) -> Comparable | None:
    """A stored or literal value in the form it compares in; None if it does not parse."""
    dt = field.datatype
    if dt in NUMERIC_TYPES:
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    if dt == "DATE":
        return parse_date(value)
    if dt == "TIMESTAMP":
        return parse_timestamp(value)
    if dt == "BOOLEAN":
        low = value.strip().lower()
        return {"t": "true", "f": "false", "1": "true", "0": "false"}.get(low, low)
    return value.lower() if fold else value


def sort_key(field: Field, value: str | None) -> tuple[int, Comparable]:
    """Ordering key: NULLs last, then typed values (unparseable values sort as text)."""
    if not value:
        return (2, "")
    conv = to_comparable(field, value)
    if conv is None or isinstance(conv, str):
        return (1, value)
    return (0, conv)


def _like_regex(pattern: str, fold: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if fold else 0))


class _Resolver:
    """Field name -> (column index, Field) for one object.

    ``layout``: the rows hold only these columns, in this order (a projection); a field the
    filter names that is not in it yet is appended, so the caller fetches what was named.
    """

    def __init__(self, obj: ObjectDef, layout: list[str] | None = None) -> None:
        self.obj = obj
        self.index = {name: i for i, name in enumerate(obj.columns)}
        self.fields = obj.field_map
        self.layout = layout

    def __call__(self, name: str) -> tuple[int, Field]:
        key = self.obj.canonical(name) or name.strip().upper()
        if key not in self.index:
            raise QueryError(f"Invalid field {name!r} for object {self.obj.name}")
        if self.layout is None:
            return self.index[key], self.fields[key]
        if key not in self.layout:
            self.layout.append(key)
        return self.layout.index(key), self.fields[key]


def _literal(field: Field, raw: str, *, codes: bool, fold: bool) -> Comparable:
    value = field.codes.get(raw, raw) if codes else raw
    conv = to_comparable(field, value, fold=fold)
    if conv is None:
        raise QueryError(f"Invalid value {raw!r} for {field.name} ({field.datatype})")
    return conv


_CMP: dict[str, Callable[[Comparable, Comparable], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}


def _leaf(
    idx: int, field: Field, op: str, literals: Sequence[Comparable], *, fold: bool
) -> Predicate:
    """One comparison. ``op``: a key of ``_CMP``, ``in``, ``notin``, ``like``, ``notlike``,
    ``between``, ``isnull``, ``isnotnull``.
    """
    if op == "isnull":
        return lambda row: not row[idx]
    if op == "isnotnull":
        return lambda row: bool(row[idx])

    def conv(row: Row) -> Comparable | None:
        value = row[idx]
        if not value:
            return None
        return to_comparable(field, value, fold=fold)

    if op in ("like", "notlike"):
        regex = _like_regex(str(literals[0]), fold)
        want = op == "like"

        def like(row: Row) -> bool | None:
            value = row[idx]
            if not value:
                return None
            return (regex.fullmatch(value) is not None) == want

        return like
    if op in ("in", "notin"):
        members = set(literals)
        want_in = op == "in"

        def member(row: Row) -> bool | None:
            value = conv(row)
            return None if value is None else (value in members) == want_in

        return member
    if op == "between":
        low, high = literals[0], literals[1]

        def between(row: Row) -> bool | None:
            value = conv(row)
            if value is None or type(value) is not type(low):
                return None
            return bool(low <= value <= high)  # type: ignore[operator]

        return between
    cmp = _CMP[op]
    lit = literals[0]

    def compare(row: Row) -> bool | None:
        value = conv(row)
        if value is None or type(value) is not type(lit):
            return None
        return cmp(value, lit)

    return compare


def _and(preds: Sequence[Predicate]) -> Predicate:
    def both(row: Row) -> bool | None:
        unknown = False
        for p in preds:
            r = p(row)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return both


def _or(preds: Sequence[Predicate]) -> Predicate:
    def either(row: Row) -> bool | None:
        unknown = False
        for p in preds:
            r = p(row)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return either


def _not(pred: Predicate) -> Predicate:
    def negate(row: Row) -> bool | None:
        r = pred(row)
        return None if r is None else not r

    return negate


# -- readByQuery query strings ----------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op><>|!=|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z0-9_.\-+:/]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"Invalid query near {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)
        elif kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, text: str, resolve: _Resolver) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.resolve = resolve

    def peek(self, kind: str, value: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        k, v = self.tokens[self.pos]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: str | None = None) -> str:
        if not self.peek(kind, value):
            got = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of query"
            raise QueryError(f"Invalid query: expected {value or kind}, found {got!r}")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.pos != len(self.tokens):
            raise QueryError(f"Invalid query: unexpected {self.tokens[self.pos][1]!r}")
        return pred

    def or_expr(self) -> Predicate:
        preds = [self.and_expr()]
        while self.peek("kw", "OR"):
            self.pos += 1
            preds.append(self.and_expr())
        return preds[0] if len(preds) == 1 else _or(preds)

    def and_expr(self) -> Predicate:
        preds = [self.not_expr()]
        while self.peek("kw", "AND"):
            self.pos += 1
            preds.append(self.not_expr())
        return preds[0] if len(preds) == 1 else _and(preds)

    def not_expr(self) -> Predicate:
        if self.peek("kw", "NOT"):
            self.pos += 1
            return _not(self.not_expr())
        if self.peek("punct", "("):
            self.pos += 1
            pred = self.or_expr()
            self.take("punct", ")")
            return pred
        return self.comparison()

    def value(self) -> str:
        if self.peek("str"):
            return self.take("str")
        return self.take("word")

    def comparison(self) -> Predicate:
        idx, field = self.resolve(self.take("word"))

        def lit(raw: str) -> Comparable:
            return _literal(field, raw, codes=True, fold=False)

        if self.peek("kw", "IS"):
            self.pos += 1
            negated = self.peek("kw", "NOT")
            if negated:
                self.pos += 1
            self.take("kw", "NULL")
            return _leaf(idx, field, "isnotnull" if negated else "isnull", [], fold=False)
        negated = False
        if self.peek("kw", "NOT"):
            self.pos += 1
            negated = True
        if self.peek("kw", "LIKE"):
            self.pos += 1
            return _leaf(idx, field, "notlike" if negated else "like", [self.value()], fold=False)
        if self.peek("kw", "IN"):
            self.pos += 1
            self.take("punct", "(")
            values = [lit(self.value())]
            while self.peek("punct", ","):
                self.pos += 1
                values.append(lit(self.value()))
            self.take("punct", ")")
            return _leaf(idx, field, "notin" if negated else "in", values, fold=False)
        if negated:
            raise QueryError("Invalid query: NOT must be followed by LIKE or IN here")
        op = self.take("op")
        op = "!=" if op == "<>" else op
        return _leaf(idx, field, op, [lit(self.value())], fold=False)


def compile_readbyquery(text: str, obj: ObjectDef) -> Predicate | None:
    """Compile a readByQuery ``query`` string; None for an empty query (every row).

    Raises:
        QueryError: syntax error, unknown field, or a literal of the wrong type.
    """
    if not text.strip():
        return None
    return _Parser(text, _Resolver(obj)).parse()


# -- query filter trees -------------------------------------------------------------------------

_FILTER_OPS = {
    "equalto": "=",
    "notequalto": "!=",
    "lessthan": "<",
    "lessthanorequalto": "<=",
    "greaterthan": ">",
    "greaterthanorequalto": ">=",
    "between": "between",
    "in": "in",
    "notin": "notin",
    "like": "like",
    "notlike": "notlike",
    "isnull": "isnull",
    "isnotnull": "isnotnull",
}


def compile_filter(
    elem: etree._Element,
    obj: ObjectDef,
    *,
    fold: bool = False,
    layout: list[str] | None = None,
) -> Predicate:
    """Compile one ``query`` filter operator element (``and``/``or`` nest).

    ``layout``: the predicate reads rows of these columns (in this order) rather than stored
    rows; the fields the filter names are appended to it when missing.

    Raises:
        QueryError: unknown operator or field, wrong number of values, bad literal.
    """
    resolve = _Resolver(obj, layout)

    def build(node: etree._Element) -> Predicate:
        tag = str(node.tag)
        children = [c for c in node if isinstance(c.tag, str)]
        if tag in ("and", "or"):
            if len(children) < 2:
                raise QueryError(f"Filter <{tag}> needs at least two conditions")
            preds = [build(c) for c in children]
            return _and(preds) if tag == "and" else _or(preds)
        if tag not in _FILTER_OPS:
            raise QueryError(f"Unknown filter operator <{tag}>")
        op = _FILTER_OPS[tag]
        field_el = node.find("field")
        if field_el is None or not (field_el.text or "").strip():
            raise QueryError(f"Filter <{tag}> needs a <field>")
        idx, field = resolve(field_el.text or "")
        raws = [v.text or "" for v in node.findall("value")]
        want = {"isnull": 0, "isnotnull": 0, "between": 2}.get(op, -1 if "in" in op else 1)
        if (want >= 0 and len(raws) != want) or (want == -1 and not 1 <= len(raws) <= 1000):
            raise QueryError(f"Filter <{tag}> on {field.name}: wrong number of <value>s")
        if op in ("like", "notlike"):
            return _leaf(idx, field, op, raws, fold=fold)
        values = [_literal(field, r, codes=False, fold=fold) for r in raws]
        return _leaf(idx, field, op, values, fold=fold)

    return build(elem)
