"""``readByQuery`` query strings read into the filter DSL, so REST can serve ``read_by_query``.

The grammar is the one Sage documents for ``readByQuery`` (reference ``intacct-api.md`` §3,
the ``readByQuery`` row): comparisons ``= != <> < <= > >=``, ``LIKE`` / ``NOT LIKE``, ``IN`` /
``NOT IN`` lists, ``IS NULL`` / ``IS NOT NULL``, ``AND``, ``OR``, ``NOT`` and parentheses;
strings in single quotes with a backslash escaping a quote (``'Jane\\'s Deli'``), numbers bare.
Query strings spell booleans and statuses as codes (``STATUS = 'T'``, §13) where query results
and REST use words (``active``); the codes on record are turned into the words here. Anything
else (``rownum``, functions, a code field not on record) is refused with an :class:`InputError`
naming it, never guessed.
"""

from __future__ import annotations

import re

from intacct_sync.errors import InputError
from intacct_sync.intacct import filters
from intacct_sync.intacct.filters import Filter

__all__ = ["parse_query_string"]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<paren>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_NEGATED = {
    "equalto": "notequalto",
    "notequalto": "equalto",
    "lessthan": "greaterthanorequalto",
    "greaterthanorequalto": "lessthan",
    "greaterthan": "lessthanorequalto",
    "lessthanorequalto": "greaterthan",
    "in": "notin",
    "notin": "in",
    "like": "notlike",
    "notlike": "like",
    "isnull": "isnotnull",
    "isnotnull": "isnull",
}
_COMPARE = {
    "=": filters.equal_to,
    "!=": filters.not_equal_to,
    "<>": filters.not_equal_to,
    "<": filters.less_than,
    "<=": filters.less_than_or_equal_to,
    ">": filters.greater_than,
    ">=": filters.greater_than_or_equal_to,
}
# readByQuery strings write STATUS as T/F (reference intacct-api.md §13, customers and items);
# the query function and REST answer with the words.
_CODES = {"STATUS": {"T": "active", "F": "inactive"}}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InputError(
                "cannot read this readByQuery string over REST", field="query", value=text
            )
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _tokens(text)
        self.at = 0

    def fail(self, why: str) -> InputError:
        return InputError(
            f"readByQuery string not served over REST: {why}", field="query", value=self.text
        )

    def peek(self) -> tuple[str, str]:
        return self.items[self.at] if self.at < len(self.items) else ("", "")

    def word(self, *words: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value.upper() in words:
            self.at += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if self.peek()[1] != value:
            raise self.fail(f"expected {value!r}")
        self.at += 1

    def parse(self) -> Filter | None:
        if not self.items:
            return None
        found = self.disjunction()
        if self.at != len(self.items):
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return found

    def disjunction(self) -> Filter:
        parts = [self.conjunction()]
        while self.word("OR"):
            parts.append(self.conjunction())
        return filters.or_(*parts)

    def conjunction(self) -> Filter:
        parts = [self.negation()]
        while self.word("AND"):
            parts.append(self.negation())
        return filters.and_(*parts)

    def negation(self) -> Filter:
        if self.word("NOT"):
            inner = self.negation()
            if inner.op not in _NEGATED:
                raise self.fail("NOT over AND/OR")
            return Filter(_NEGATED[inner.op], inner.field, inner.values)
        if self.peek() == ("paren", "("):
            self.at += 1
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def value(self, field: str) -> str:
        kind, raw = self.peek()
        self.at += 1
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "num":
            text = raw
        else:
            raise self.fail(f"expected a value after {field}, got {raw!r}")
        return _CODES.get(field.upper(), {}).get(text, text)

    def comparison(self) -> Filter:
        kind, field = self.peek()
        if kind != "word":
            raise self.fail(f"expected a field name, got {field!r}")
        if field.upper() == "ROWNUM":
            raise self.fail("rownum is a readByQuery pseudo-column (use page_size)")
        self.at += 1
        op_kind, op = self.peek()
        if op_kind == "op":
            self.at += 1
            return _COMPARE[op](field, self.value(field))
        negate = self.word("NOT")
        if self.word("IN"):
            self.expect("(")
            values = [self.value(field)]
            while self.peek() == ("paren", ","):
                self.at += 1
                values.append(self.value(field))
            self.expect(")")
            return (filters.not_in if negate else filters.in_)(field, values)
        if self.word("LIKE"):
            return (filters.not_like if negate else filters.like)(field, self.value(field))
        if not negate and self.word("IS"):
            null_negated = self.word("NOT")
            if not self.word("NULL"):
                raise self.fail("expected NULL after IS")
            return (filters.is_not_null if null_negated else filters.is_null)(field)
        raise self.fail(f"unsupported condition on {field}")


def parse_query_string(text: str) -> Filter | None:
    """The filter of a ``readByQuery`` query string; None for an empty one.

    >>> parse_query_string("STATUS = 'T' AND NAME = 'Jane\\\\'s Deli'")
    Filter(op='and', field='', values=(), children=(Filter(op='equalto', field='STATUS', values=('active',), children=()), Filter(op='equalto', field='NAME', values=("Jane's Deli",), children=())))

    Raises:
        InputError: a construct the filter DSL cannot hold (names the query string).
    """
    return _Parser(text).parse()
