"""SOQL SELECT parsing: enough of a query to name and type its columns before rows arrive."""

from __future__ import annotations

import re

import attrs

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<other>[^\s(),']+))",
    re.DOTALL,
)
_AGGREGATES = frozenset({"count", "count_distinct", "sum", "avg", "min", "max"})
_DATE_FUNCTIONS = frozenset(
    {
        "calendar_month",
        "calendar_quarter",
        "calendar_year",
        "day_in_month",
        "day_in_week",
        "day_in_year",
        "day_only",
        "fiscal_month",
        "fiscal_quarter",
        "fiscal_year",
        "hour_in_day",
        "week_in_month",
        "week_in_year",
        "grouping",
    }
)
_WRAPPERS = frozenset({"tolabel", "convertcurrency", "format"})
_CLAUSES = frozenset(
    {"where", "with", "group", "order", "limit", "offset", "for", "using", "update", "having"}
)


@attrs.frozen
class FieldItem:
    """A field or dotted relationship path in a SELECT list."""

    path: tuple[str, ...]
    alias: str | None = None


@attrs.frozen
class FunctionItem:
    """``SUM(Amount) total``, ``COUNT()``, ``toLabel(StageName)``..."""

    function: str
    arg: tuple[str, ...] | None
    alias: str | None = None


@attrs.frozen
class SubqueryItem:
    """A parent-to-child subquery: ``(SELECT ... FROM OpportunityLineItems)``."""

    relationship: str
    select: Select


@attrs.frozen
class TypeOfItem:
    """``TYPEOF What WHEN Account THEN Name, Phone ELSE Id END``: the union of the branches."""

    relationship: str
    fields: tuple[str, ...]


SelectItem = FieldItem | FunctionItem | SubqueryItem | TypeOfItem


@attrs.frozen
class Select:
    """What a SELECT asks for: enough to name and type the columns before any row arrives.

    Attributes:
        object: the FROM sObject (for a subquery, the FROM path's last part, i.e. the child
            relationship name).
        alias: the FROM alias, if any.
        items: the SELECT list in order.
        grouped: the query has a GROUP BY (or aggregate functions): rows are AggregateResults.
        open: the list holds ``FIELDS(...)``: which fields come back is known only from the rows.
    """

    object: str
    alias: str | None
    items: tuple[SelectItem, ...]
    grouped: bool = False
    open: bool = False

    @property
    def count_only(self) -> bool:
        """``SELECT COUNT() FROM ...``: no rows, only ``totalSize``."""
        return (
            len(self.items) == 1
            and isinstance(self.items[0], FunctionItem)
            and self.items[0].function == "count"
            and self.items[0].arg is None
        )

    @property
    def aggregate(self) -> bool:
        """Rows are AggregateResult records."""
        return not self.count_only and (
            self.grouped
            or any(
                isinstance(i, FunctionItem) and i.function in _AGGREGATES | _DATE_FUNCTIONS
                for i in self.items
            )
        )


class _Unparsable(Exception):
    pass


def _tokenize(soql: str) -> list[str]:
    tokens = []
    pos = 0
    text = soql.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _Unparsable(text[pos:])
        pos = match.end()
        token = match.group("string") or match.group("punct") or match.group("word")
        token = token or match.group("other")
        if token:
            tokens.append(token)
    return tokens


def parse_select(soql: str) -> Select | None:
    """Parse the SELECT list and FROM of a query; ``None`` when it is beyond the subset.

    The subset: fields, dotted relationship paths, parent-to-child subqueries in parentheses,
    ``TYPEOF`` blocks, aggregate and date functions with or without aliases, ``COUNT()``,
    ``toLabel``/``convertCurrency``/``FORMAT`` wrappers and ``FIELDS(...)``. When this returns
    ``None`` the columns are taken from the records instead.
    """
    try:
        tokens = _tokenize(soql)
        select, pos = _parse(tokens, 0)
    except (_Unparsable, IndexError):
        return None
    return select if pos == len(tokens) else None


def _expect(tokens: list[str], pos: int, word: str) -> int:
    if tokens[pos].lower() != word:
        raise _Unparsable(tokens[pos])
    return pos + 1


def _path(token: str) -> tuple[str, ...]:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", token):
        raise _Unparsable(token)
    return tuple(token.split("."))


def _alias(tokens: list[str], pos: int) -> tuple[str | None, int]:
    tok = tokens[pos]
    if tok in (",", ")") or tok.lower() == "from" or "." in tok:
        return None, pos
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
        return tok, pos + 1
    raise _Unparsable(tok)


def _parse(tokens: list[str], pos: int) -> tuple[Select, int]:
    pos = _expect(tokens, pos, "select")
    items: list[SelectItem] = []
    open_ = False
    while True:
        tok = tokens[pos]
        if tok == "(":
            sub, pos = _parse(tokens, pos + 1)
            pos = _expect(tokens, pos, ")")
            items.append(SubqueryItem(sub.object, sub))
        elif tok.lower() == "typeof":
            relationship = tokens[pos + 1]
            pos += 2
            fields: list[str] = []
            while tokens[pos].lower() != "end":
                word = tokens[pos]
                if word.lower() == "when":
                    pos += 3  # WHEN <type> THEN
                    if tokens[pos - 1].lower() != "then":
                        raise _Unparsable(word)
                    continue
                if word.lower() == "else" or word == ",":
                    pos += 1
                    continue
                name = ".".join(_path(word))
                if name.lower() not in {f.lower() for f in fields}:
                    fields.append(name)
                pos += 1
            pos += 1
            items.append(TypeOfItem(relationship, tuple(fields)))
        elif tokens[pos + 1] == "(":
            function = tok.lower()
            pos += 2
            args: list[str] = []
            depth = 1
            while depth:
                if tokens[pos] == "(":
                    depth += 1
                elif tokens[pos] == ")":
                    depth -= 1
                if depth:
                    args.append(tokens[pos])
                pos += 1
            fn_alias, pos = _alias(tokens, pos)
            if function == "fields":
                open_ = True
            elif function in _AGGREGATES | _DATE_FUNCTIONS | _WRAPPERS:
                if len(args) > 1:
                    # nested functions (FORMAT(MIN(x)), convertCurrency inside SUM) are rare:
                    # keep the innermost path, which names the column's field.
                    args = [a for a in args if a not in ("(", ")")][-1:]
                    if function not in _WRAPPERS:
                        raise _Unparsable(function)
                arg = _path(args[0]) if args else None
                items.append(FunctionItem(function, arg, fn_alias))
            else:
                raise _Unparsable(function)
        else:
            items.append(FieldItem(_path(tok)))
            pos += 1
        if tokens[pos] == ",":
            pos += 1
            continue
        break
    pos = _expect(tokens, pos, "from")
    obj = _path(tokens[pos])[-1]
    pos += 1
    from_alias: str | None = None
    if pos < len(tokens) and tokens[pos] != ")" and tokens[pos].lower() not in _CLAUSES:
        from_alias = tokens[pos]
        pos += 1
    grouped = False
    depth = 0
    while pos < len(tokens):
        tok = tokens[pos]
        if tok == "(":
            depth += 1
        elif tok == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and tok.lower() == "group":
            grouped = True
        pos += 1
    return Select(obj, from_alias, tuple(items), grouped, open_), pos
