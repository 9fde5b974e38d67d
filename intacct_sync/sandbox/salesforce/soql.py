"""The SOQL subset the Salesforce emulator understands: tokenizer, parser, compiler to SQLite.

A query is parsed into a small syntax tree, every identifier is resolved against the sObject
catalog (so only known tables and columns ever reach SQL), and literals become SQL parameters.
Anything outside the subset raises :class:`SoqlError` with ``MALFORMED_QUERY`` rather than being
answered approximately. The supported grammar is listed in ``docs/sandbox-salesforce.md``.

Longer than 600 lines on purpose: tokenizer, parser and compiler share one syntax tree and are
read together; split apart, each would only make sense beside the others.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from intacct_sync.sandbox.salesforce import schema
from intacct_sync.sandbox.salesforce.schema import OBJECTS, FieldDef, SObjectDef
from intacct_sync.sandbox.salesforce.store import format_datetime, parse_datetime

__all__ = ["CompiledQuery", "Node", "SoqlError", "compile_query", "parse"]


class SoqlError(Exception):
    """A query the emulator refuses, with Salesforce's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])
  | (?P<number>\d+(?:\.\d+)?)(?![\w.])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,|:|-|\+)
    """,
    re.VERBOSE,
)


@attrs.frozen
class Token:
    kind: str
    value: str
    pos: int

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == "ident" else ""


def tokenize(soql: str) -> list[Token]:
    """Split a query into tokens; refuse characters outside the grammar."""
    tokens = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if not match:
            rest = soql[pos:].split()[0] if soql[pos:].split() else soql[pos]
            if rest.startswith("'"):
                raise SoqlError("MALFORMED_QUERY", f"unterminated string literal: {rest}")
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {rest}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(soql)))
    return tokens


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def decode_string(raw: str, *, like: bool = False) -> str:
    """The value of a quoted SOQL string. With ``like``, return a SQLite LIKE pattern whose
    escape character is a backslash (``\\%`` and ``\\_`` stay literal).
    """
    out: list[str] = []
    body = raw[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            value = _ESCAPES[nxt]
            out.append("\\\\" if like and value == "\\" else value)
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt in {"%", "_"} and like:
            out.append("\\" + nxt)
            i += 2
        else:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{raw[1:-1]}'. Illegal character sequence "
                f"'\\{nxt}' in string literal.",
            )
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# syntax tree


@attrs.frozen
class Path:
    parts: tuple[str, ...]
    pos: int


@attrs.frozen
class Agg:
    func: str
    path: Path | None
    alias: str | None
    pos: int


@attrs.frozen
class Lit:
    kind: str  # string | number | true | false | null | date | datetime | datefn
    value: str
    pos: int
    arg: int = 0


@attrs.frozen
class Cmp:
    path: Path
    op: str
    value: Lit


@attrs.frozen
class InList:
    path: Path
    values: tuple[Lit, ...]
    negate: bool


@attrs.frozen
class InQuery:
    path: Path
    query: Query
    negate: bool


@attrs.frozen
class Like:
    path: Path
    value: Lit


@attrs.frozen
class BoolOp:
    op: str  # AND | OR
    items: tuple[Cond, ...]


@attrs.frozen
class Not:
    item: Cond


Cond = Cmp | InList | InQuery | Like | BoolOp | Not


@attrs.frozen
class Order:
    target: Path | Agg
    desc: bool
    nulls_first: bool


@attrs.frozen
class Query:
    items: tuple[Path | Agg | Query, ...]
    count_only: bool
    sobject: str
    sobject_pos: int
    alias: str | None
    where: Cond | None
    group_by: tuple[Path, ...]
    order: tuple[Order, ...]
    limit: int | None
    offset: int | None
    pos: int = 0


_AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
_CLAUSE_WORDS = {
    "FROM",
    "WHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "WITH",
    "HAVING",
    "FOR",
    "USING",
    "UPDATE",
    "VIEW",
    "REFERENCE",
    "AND",
    "OR",
    "NOT",
    "SELECT",
    "TYPEOF",
}
_UNSUPPORTED_CLAUSES = {"WITH", "HAVING", "FOR", "USING", "TYPEOF", "UPDATE"}
_DATE_WORDS = {
    "TODAY",
    "YESTERDAY",
    "TOMORROW",
    "THIS_WEEK",
    "LAST_WEEK",
    "NEXT_WEEK",
    "THIS_MONTH",
    "LAST_MONTH",
    "NEXT_MONTH",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
}
_DATE_N_WORDS = {
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "LAST_N_MONTHS",
    "LAST_N_YEARS",
}


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        if tok.kind == "eof":
            return SoqlError("MALFORMED_QUERY", "unexpected end of query")
        if tok.upper in _UNSUPPORTED_CLAUSES:
            return SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token: {tok.value} (not supported by the sandbox's SOQL subset)",
            )
        return SoqlError("MALFORMED_QUERY", f"unexpected token: {tok.value}")

    def keyword(self, word: str) -> bool:
        if self.tok.upper == word:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> Token:
        if self.tok.upper != word:
            raise self.unexpected()
        return self.next()

    def expect_op(self, op: str) -> Token:
        if self.tok.kind != "op" or self.tok.value != op:
            raise self.unexpected()
        return self.next()

    def is_op(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.value == op

    # -- query ----------------------------------------------------------------------------------

    def query(self, *, nested: bool = False) -> Query:
        start = self.expect_keyword("SELECT")
        items: list[Path | Agg | Query] = []
        count_only = False
        while True:
            tok = self.tok
            if self.is_op("("):
                if nested:
                    raise SoqlError("MALFORMED_QUERY", "nested child subqueries are not supported")
                self.next()
                sub = self.query(nested=True)
                self.expect_op(")")
                items.append(sub)
            elif tok.kind == "ident" and tok.upper not in _CLAUSE_WORDS:
                self.next()
                if self.is_op("("):
                    agg = self.function(tok)
                    if agg is None:
                        count_only = True
                    else:
                        items.append(agg)
                else:
                    items.append(Path(tuple(tok.value.split(".")), tok.pos))
            else:
                raise self.unexpected()
            if not self.is_op(","):
                break
            self.next()
        if count_only and items:
            raise SoqlError("MALFORMED_QUERY", "COUNT() must be the only element of the SELECT")
        self.expect_keyword("FROM")
        obj_tok = self.next()
        if obj_tok.kind != "ident":
            raise self.unexpected(obj_tok)
        alias = None
        if self.tok.kind == "ident" and self.tok.upper not in _CLAUSE_WORDS:
            alias = self.next().value
        where = None
        if self.keyword("WHERE"):
            where = self.condition()
        group_by: list[Path] = []
        if self.keyword("GROUP"):
            self.expect_keyword("BY")
            if self.tok.upper in {"ROLLUP", "CUBE"}:
                raise self.unexpected()
            while True:
                tok = self.next()
                if tok.kind != "ident" or tok.upper in _CLAUSE_WORDS:
                    raise self.unexpected(tok)
                group_by.append(Path(tuple(tok.value.split(".")), tok.pos))
                if not self.is_op(","):
                    break
                self.next()
        order: list[Order] = []
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            while True:
                order.append(self.order_item())
                if not self.is_op(","):
                    break
                self.next()
        limit = offset = None
        if self.keyword("LIMIT"):
            limit = self.integer()
        if self.keyword("OFFSET"):
            offset = self.integer()
        if not nested and self.tok.kind != "eof":
            raise self.unexpected()
        return Query(
            items=tuple(items),
            count_only=count_only,
            sobject=obj_tok.value,
            sobject_pos=obj_tok.pos,
            alias=alias,
            where=where,
            group_by=tuple(group_by),
            order=tuple(order),
            limit=limit,
            offset=offset,
            pos=start.pos,
        )

    def integer(self) -> int:
        tok = self.next()
        if tok.kind != "number" or "." in tok.value:
            raise self.unexpected(tok)
        return int(tok.value)

    def function(self, name: Token) -> Agg | None:
        func = name.upper
        if func not in _AGGREGATES:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token: {name.value}( (function not supported by the sandbox)",
            )
        self.expect_op("(")
        if self.is_op(")"):
            self.next()
            if func != "COUNT":
                raise self.unexpected()
            return None
        arg = self.next()
        if arg.kind != "ident" or arg.upper in _CLAUSE_WORDS:
            raise self.unexpected(arg)
        self.expect_op(")")
        alias = None
        if self.tok.kind == "ident" and self.tok.upper not in _CLAUSE_WORDS:
            alias = self.next().value
        return Agg(func, Path(tuple(arg.value.split(".")), arg.pos), alias, name.pos)

    def order_item(self) -> Order:
        tok = self.next()
        if tok.kind != "ident" or tok.upper in _CLAUSE_WORDS:
            raise self.unexpected(tok)
        target: Path | Agg
        if self.is_op("("):
            agg = self.function(tok)
            if agg is None:
                raise self.unexpected(tok)
            target = attrs.evolve(agg, alias=None)
        else:
            target = Path(tuple(tok.value.split(".")), tok.pos)
        desc = False
        if self.keyword("DESC"):
            desc = True
        else:
            self.keyword("ASC")
        nulls_first = True
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_first = False
            else:
                self.expect_keyword("FIRST")
        return Order(target, desc, nulls_first)

    # -- conditions -----------------------------------------------------------------------------

    def condition(self) -> Cond:
        first = self.unary()
        items = [first]
        op = None
        while self.tok.upper in {"AND", "OR"}:
            word = self.next().upper
            if op is not None and word != op:
                # SOQL requires parentheses when AND and OR are mixed
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: {word}")
            op = word
            items.append(self.unary())
        return BoolOp(op, tuple(items)) if op else first

    def unary(self) -> Cond:
        if self.keyword("NOT"):
            return Not(self.unary())
        if self.is_op("("):
            self.next()
            inner = self.condition()
            self.expect_op(")")
            return inner
        return self.simple()

    def simple(self) -> Cond:
        tok = self.next()
        if tok.kind != "ident" or tok.upper in _CLAUSE_WORDS:
            raise self.unexpected(tok)
        if self.is_op("("):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token: {tok.value}( (functions in WHERE are not supported by the "
                "sandbox)",
            )
        path = Path(tuple(tok.value.split(".")), tok.pos)
        op_tok = self.tok
        if op_tok.kind == "op" and op_tok.value in {"=", "!=", "<>", "<", ">", "<=", ">="}:
            self.next()
            op = "!=" if op_tok.value == "<>" else op_tok.value
            return Cmp(path, op, self.value())
        if self.keyword("LIKE"):
            value = self.value()
            if value.kind != "string":
                raise self.unexpected()
            return Like(path, value)
        negate = False
        if self.tok.upper == "NOT" and self.tokens[self.i + 1].upper == "IN":
            self.next()
            negate = True
        if self.keyword("IN"):
            self.expect_op("(")
            if self.tok.upper == "SELECT":
                sub = self.query(nested=True)
                self.expect_op(")")
                return InQuery(path, sub, negate)
            values = [self.value()]
            while self.is_op(","):
                self.next()
                values.append(self.value())
            self.expect_op(")")
            return InList(path, tuple(values), negate)
        raise self.unexpected()

    def value(self) -> Lit:
        tok = self.next()
        if tok.kind == "string":
            return Lit("string", tok.value, tok.pos)
        if tok.kind == "op" and tok.value in {"-", "+"} and self.tok.kind == "number":
            num = self.next()
            return Lit("number", ("-" if tok.value == "-" else "") + num.value, tok.pos)
        if tok.kind == "number":
            return Lit("number", tok.value, tok.pos)
        if tok.kind in {"date", "datetime"}:
            return Lit(tok.kind, tok.value, tok.pos)
        if tok.kind == "ident":
            word = tok.upper
            if word in {"TRUE", "FALSE", "NULL"}:
                return Lit(word.lower(), word, tok.pos)
            if word in _DATE_WORDS:
                return Lit("datefn", word, tok.pos)
            if word in _DATE_N_WORDS:
                self.expect_op(":")
                return Lit("datefn", word, tok.pos, self.integer())
        if tok.kind == "op" and tok.value == ":":
            raise SoqlError("MALFORMED_QUERY", "bind variables are not supported over REST")
        raise self.unexpected(tok)


def parse(soql: str) -> Query:
    """Parse one SOQL statement."""
    if not soql.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
    return _Parser(soql).query()


# ---------------------------------------------------------------------------------------------
# compiled form

F_VALUE, F_BOOL, F_PARENT, F_CHILD = range(4)


@attrs.define
class Node:
    """How to build one record (or one parent object) from a SQL row."""

    type: str
    id_index: int
    entries: list[tuple[str, int, Any]] = attrs.field(factory=list)
    keys: dict[str, int] = attrs.field(factory=dict)

    def add(self, key: str, kind: int, payload: Any) -> Any:
        """Register a column under ``key`` (matched case-insensitively) once; the first wins."""
        lowered = key.lower()
        if lowered in self.keys:
            return self.entries[self.keys[lowered]][2]
        self.keys[lowered] = len(self.entries)
        self.entries.append((key, kind, payload))
        return payload


@attrs.define
class ChildPlan:
    """A parent-to-child subquery, run per page of parents."""

    key: str
    fk_index: int
    sql_head: str
    sql_where: str
    sql_order: str
    params: list[Any]
    node: Node
    limit: int | None


@attrs.define
class CompiledQuery:
    """SQL plus the plan to turn its rows into Salesforce records."""

    mode: str  # records | aggregate | count
    sobject: str
    sql: str
    params: list[Any]
    node: Node | None = None
    children: list[ChildPlan] = attrs.field(factory=list)
    agg_keys: list[tuple[str, Callable[[Any], Any]]] = attrs.field(factory=list)
    columns: list[str] = attrs.field(factory=list)
    limit: int | None = None


def _identity(value: Any) -> Any:
    return value


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _rounder(scale: int) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else round(value, scale)

    return convert


class _Compiler:
    def __init__(
        self,
        soql: str,
        query: Query,
        *,
        include_deleted: bool,
        alias_prefix: str = "t",
        base: SObjectDef | None = None,
    ) -> None:
        self.soql = soql
        self.q = query
        self.include_deleted = include_deleted
        self.prefix = alias_prefix
        obj = base or schema.sobject(query.sobject)
        if obj is None:
            raise self.error(
                "INVALID_TYPE",
                query.sobject_pos,
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        self.obj = obj
        self.alias0 = f"{alias_prefix}0"
        self.joins: dict[tuple[str, ...], tuple[str, SObjectDef]] = {(): (self.alias0, obj)}
        self.join_sql: list[str] = []
        self.params: list[Any] = []
        self.columns: list[str] = []

    def error(self, code: str, pos: int, message: str) -> SoqlError:
        line_start = self.soql.rfind("\n", 0, pos) + 1
        line_end = self.soql.find("\n", pos)
        line = self.soql[line_start : line_end if line_end >= 0 else len(self.soql)]
        row = self.soql.count("\n", 0, pos) + 1
        col = pos - line_start
        return SoqlError(
            code, f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n{message}"
        )

    def column(self, expr: str) -> int:
        self.columns.append(expr)
        return len(self.columns) - 1

    def resolve(self, path: Path) -> tuple[str, FieldDef, list[tuple[str, str, SObjectDef]]]:
        """Path -> (SQL expression, field, hops as (relationship, alias, object))."""
        parts = list(path.parts)
        if (
            len(parts) > 1
            and parts[0].lower() in {self.obj.name.lower(), (self.q.alias or "").lower()}
            and self.obj.relationship(parts[0]) is None
        ):
            parts = parts[1:]
        if len(parts) > 6:
            raise self.error("MALFORMED_QUERY", path.pos, "too many levels of relationships")
        cur = self.obj
        key: tuple[str, ...] = ()
        alias = self.alias0
        hops: list[tuple[str, str, SObjectDef]] = []
        for part in parts[:-1]:
            rel = cur.relationship(part)
            if rel is None:
                raise self.error(
                    "INVALID_FIELD",
                    path.pos,
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                )
            target = OBJECTS[rel.reference_to[0]]
            key = (*key, (rel.relationship_name or "").lower())
            if key not in self.joins:
                new_alias = f"{self.prefix}{len(self.joins)}"
                self.joins[key] = (new_alias, target)
                self.join_sql.append(
                    f'LEFT JOIN {target.table} {new_alias} ON {new_alias}."Id" = '
                    f'{alias}."{rel.name}"'
                )
            alias = self.joins[key][0]
            hops.append((rel.relationship_name or "", alias, target))
            cur = target
        f = cur.field(parts[-1])
        if f is None:
            if cur.relationship(parts[-1]) is not None or cur.child(parts[-1]) is not None:
                message = f"No such column '{parts[-1]}' on entity '{cur.name}'. "
            else:
                message = f"No such column '{parts[-1]}' on entity '{cur.name}'. "
            raise self.error(
                "INVALID_FIELD",
                path.pos,
                message + "If you are attempting to use a custom field, be sure to append the "
                "'__c' after the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        return f'{alias}."{f.name}"', f, hops

    # -- select ---------------------------------------------------------------------------------

    def add_path(self, root: Node, path: Path) -> None:
        expr, f, hops = self.resolve(path)
        node = root
        for rel_name, alias, target in hops:
            existing = node.keys.get(rel_name.lower())
            if existing is not None:
                node = node.entries[existing][2]
            else:
                node = node.add(rel_name, F_PARENT, Node(target.name, self.column(f'{alias}."Id"')))
        node.add(f.name, F_BOOL if f.type == "boolean" else F_VALUE, self.column(expr))

    def where_sql(self) -> str:
        clauses = []
        if not self.include_deleted:
            clauses.append(f'{self.alias0}."IsDeleted" = 0')
        if self.q.where is not None:
            clauses.append(self.cond(self.q.where))
        # queryAll without WHERE has no clause at all; callers always write "WHERE {…}".
        return " AND ".join(clauses) or "1 = 1"

    def order_sql(self, agg_exprs: dict[str, str] | None = None) -> list[str]:
        out = []
        for item in self.q.order:
            if isinstance(item.target, Agg):
                if agg_exprs is None:
                    raise SoqlError(
                        "MALFORMED_QUERY", "ORDER BY an aggregate needs an aggregate query"
                    )
                expr = self.agg_expr(item.target)[0]
            else:
                expr, f, _ = self.resolve(item.target)
                if f.long_text or f.type == "multipicklist":
                    raise self.error(
                        "INVALID_FIELD",
                        item.target.pos,
                        f"field '{f.name}' can not be sorted in a query call",
                    )
            direction = "DESC" if item.desc else "ASC"
            nulls = "NULLS FIRST" if item.nulls_first else "NULLS LAST"
            out.append(f"{expr} {direction} {nulls}")
        return out

    def agg_expr(self, agg: Agg) -> tuple[str, Callable[[Any], Any]]:
        assert agg.path is not None
        expr, f, _ = self.resolve(agg.path)
        func = agg.func
        if func in {"COUNT", "COUNT_DISTINCT"}:
            distinct = "DISTINCT " if func == "COUNT_DISTINCT" else ""
            return f"COUNT({distinct}{expr})", _identity
        if func in {"SUM", "AVG"} and f.type not in schema.NUMBER_TYPES:
            raise self.error(
                "MALFORMED_QUERY",
                agg.pos,
                f"field {f.name} does not support aggregate operator {func}",
            )
        if f.type == "boolean" or f.long_text:
            raise self.error(
                "MALFORMED_QUERY",
                agg.pos,
                f"field {f.name} does not support aggregate operator {func}",
            )
        if func == "SUM":
            return f"SUM({expr})", _rounder(max(f.scale, 0))
        return f"{func}({expr})", _identity

    def from_sql(self) -> str:
        return f"FROM {self.obj.table} {self.alias0} " + " ".join(self.join_sql)

    # -- conditions -----------------------------------------------------------------------------

    def cond(self, c: Cond) -> str:
        if isinstance(c, BoolOp):
            return "(" + f" {c.op} ".join(self.cond(i) for i in c.items) + ")"
        if isinstance(c, Not):
            return f"(NOT {self.cond(c.item)})"
        if isinstance(c, Like):
            expr, f, _ = self.resolve(c.path)
            self.filterable(c.path, f)
            if f.type not in schema.TEXT_TYPES and f.type not in schema.ID_TYPES:
                raise self.error(
                    "INVALID_FIELD",
                    c.path.pos,
                    f"invalid operator on {f.type} field: {f.name}",
                )
            self.params.append(decode_string(c.value.value, like=True))
            return f"({expr} IS NOT NULL AND {expr} LIKE ? ESCAPE '\\')"
        if isinstance(c, InList):
            expr, f, _ = self.resolve(c.path)
            self.filterable(c.path, f)
            values = [self.literal(f, v, "IN") for v in c.values]
            has_null = any(v is None for v in values)
            values = [v for v in values if v is not None]
            self.params.extend(values)
            marks = ",".join("?" * len(values))
            if c.negate:
                inner = f"{expr} NOT IN ({marks})" if values else "1"
                return (
                    f"({expr} IS NOT NULL AND {inner})"
                    if has_null
                    else (f"({expr} IS NULL OR {inner})")
                )
            inner = f"{expr} IN ({marks})" if values else "0"
            return (
                f"({expr} IS NULL OR {inner})"
                if has_null
                else (f"({expr} IS NOT NULL AND {inner})")
            )
        if isinstance(c, InQuery):
            expr, f, _ = self.resolve(c.path)
            if f.type not in schema.ID_TYPES:
                raise self.error(
                    "MALFORMED_QUERY", c.path.pos, "semi-join subqueries must filter an Id field"
                )
            sub_sql, sub_params = self.semi_join(c.query)
            self.params.extend(sub_params)
            op = "NOT IN" if c.negate else "IN"
            if c.negate:
                return f"({expr} IS NULL OR {expr} {op} ({sub_sql}))"
            return f"({expr} IS NOT NULL AND {expr} {op} ({sub_sql}))"
        expr, f, _ = self.resolve(c.path)
        self.filterable(c.path, f)
        if c.value.kind == "datefn":
            return self.date_range(expr, f, c.op, c.value)
        value = self.literal(f, c.value, c.op)
        if value is None:
            if c.op == "=":
                return f"{expr} IS NULL"
            if c.op == "!=":
                return f"{expr} IS NOT NULL"
            raise self.error("MALFORMED_QUERY", c.value.pos, "null can only be used with = or !=")
        if c.op in {"<", ">", "<=", ">="} and f.type == "boolean":
            raise self.error(
                "INVALID_FIELD", c.path.pos, f"invalid operator on boolean field: {f.name}"
            )
        self.params.append(value)
        if c.op == "!=":
            return f"({expr} IS NULL OR {expr} != ?)"
        return f"({expr} IS NOT NULL AND {expr} {c.op} ?)"

    def semi_join(self, sub: Query) -> tuple[str, list[Any]]:
        if len(sub.items) != 1 or not isinstance(sub.items[0], Path) or sub.group_by:
            raise SoqlError(
                "MALFORMED_QUERY", "a semi-join subquery must select exactly one Id field"
            )
        comp = _Compiler(self.soql, sub, include_deleted=False, alias_prefix=f"{self.prefix}s")
        expr, f, _ = comp.resolve(sub.items[0])
        if f.type not in schema.ID_TYPES:
            raise SoqlError("MALFORMED_QUERY", "a semi-join subquery must select an Id field")
        where = comp.where_sql()
        sql = f"SELECT {expr} {comp.from_sql()} WHERE {where}"
        return sql, comp.params

    def filterable(self, path: Path, f: FieldDef) -> None:
        if f.long_text:
            raise self.error(
                "INVALID_FIELD", path.pos, f"field '{f.name}' can not be filtered in a query call"
            )

    def literal(self, f: FieldDef, lit: Lit, op: str) -> Any:
        """Check a literal against the field's type; return the SQL parameter."""
        kind = lit.kind
        if kind == "null":
            if op == "IN":
                return None
            return None
        t = f.type
        if kind == "datefn":
            raise self.error(
                "MALFORMED_QUERY", lit.pos, "date literals are only supported with comparisons"
            )
        if t in schema.TEXT_TYPES or t in schema.ID_TYPES:
            if kind != "string":
                raise self.type_error(f, lit, "string", quoted=True)
            value = decode_string(lit.value)
            if t in schema.ID_TYPES and value:
                if not schema.looks_like_id(value):
                    raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
                value = schema.normalize_id(value)
            return value
        if t in schema.NUMBER_TYPES:
            if kind != "number":
                raise self.type_error(f, lit, "double" if t != "int" else "int", quoted=False)
            return float(lit.value) if "." in lit.value else int(lit.value)
        if t == "boolean":
            if kind not in {"true", "false"}:
                raise self.type_error(f, lit, "boolean", quoted=False)
            return int(kind == "true")
        if t == "date":
            if kind != "date":
                raise self.type_error(f, lit, "date", quoted=False)
            try:
                return dt.date.fromisoformat(lit.value).isoformat()
            except ValueError:
                raise SoqlError("MALFORMED_QUERY", f"invalid date: {lit.value}") from None
        if t == "datetime":
            if kind != "datetime":
                raise self.type_error(f, lit, "dateTime", quoted=False)
            parsed = parse_datetime(lit.value)
            if parsed is None:
                raise SoqlError("MALFORMED_QUERY", f"invalid datetime: {lit.value}")
            return format_datetime(parsed)
        raise self.type_error(f, lit, t, quoted=False)  # pragma: no cover

    def type_error(self, f: FieldDef, lit: Lit, type_name: str, *, quoted: bool) -> SoqlError:
        should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return self.error(
            "INVALID_FIELD",
            lit.pos,
            f"value of filter criterion for field '{f.name}' must be of type {type_name} and "
            f"{should}",
        )

    def date_range(self, expr: str, f: FieldDef, op: str, lit: Lit) -> str:
        if f.type not in {"date", "datetime"}:
            raise self.type_error(f, lit, f.type, quoted=False)
        lo, hi = date_literal_range(lit.value, lit.arg, dt.datetime.now(dt.UTC).date())

        def bound(day: dt.date) -> str:
            if f.type == "date":
                return day.isoformat()
            return format_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))

        lo_s, hi_s = bound(lo), bound(hi)
        if op == "=":
            self.params += [lo_s, hi_s]
            return f"({expr} >= ? AND {expr} < ?)"
        if op == "!=":
            self.params += [lo_s, hi_s]
            return f"({expr} IS NULL OR {expr} < ? OR {expr} >= ?)"
        sql_op, value = {
            "<": ("<", lo_s),
            ">=": (">=", lo_s),
            ">": (">=", hi_s),
            "<=": ("<", hi_s),
        }[op]
        self.params.append(value)
        return f"({expr} IS NOT NULL AND {expr} {sql_op} ?)"


def date_literal_range(word: str, n: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) of a SOQL date literal, in the org's time zone (UTC in the sandbox)."""
    day = dt.timedelta(days=1)
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)

    def add_months(d: dt.date, months: int) -> dt.date:
        total = d.year * 12 + d.month - 1 + months
        return dt.date(total // 12, total % 12 + 1, 1)

    ranges = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (monday, monday + 7 * day),
        "LAST_WEEK": (monday - 7 * day, monday),
        "NEXT_WEEK": (monday + 7 * day, monday + 14 * day),
        "THIS_MONTH": (first, add_months(first, 1)),
        "LAST_MONTH": (add_months(first, -1), first),
        "NEXT_MONTH": (add_months(first, 1), add_months(first, 2)),
        "THIS_YEAR": (dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 1)),
        "LAST_YEAR": (dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1)),
        "NEXT_YEAR": (dt.date(today.year + 1, 1, 1), dt.date(today.year + 2, 1, 1)),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
        "LAST_N_DAYS": (today - n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        "LAST_N_WEEKS": (monday - 7 * n * day, monday),
        "LAST_N_MONTHS": (add_months(first, -n), first),
        "LAST_N_YEARS": (dt.date(today.year - n, 1, 1), dt.date(today.year, 1, 1)),
    }
    return ranges[word]


def compile_query(soql: str, *, include_deleted: bool = False) -> CompiledQuery:
    """Parse and compile one SOQL statement against the catalog."""
    query = parse(soql)
    comp = _Compiler(soql, query, include_deleted=include_deleted)
    if query.offset is not None and query.offset > 2000:
        raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
    tail = ""
    if query.limit is not None:
        tail += f" LIMIT {int(query.limit)}"
    if query.offset is not None:
        tail += ("" if query.limit is not None else " LIMIT -1") + f" OFFSET {int(query.offset)}"

    if query.count_only:
        if query.group_by:
            raise SoqlError("MALFORMED_QUERY", "COUNT() cannot be used with GROUP BY")
        where = comp.where_sql()
        inner = f'SELECT {comp.alias0}."Id" {comp.from_sql()} WHERE {where}{tail}'
        return CompiledQuery(
            mode="count",
            sobject=comp.obj.name,
            sql=f"SELECT COUNT(*) FROM ({inner})",
            params=comp.params,
        )

    is_aggregate = bool(query.group_by) or any(isinstance(i, Agg) for i in query.items)
    if is_aggregate:
        return _compile_aggregate(comp, query, tail)

    root = Node(comp.obj.name, comp.column(f'{comp.alias0}."Id"'))
    child_items: list[Query] = []
    for item in query.items:
        if isinstance(item, Path):
            comp.add_path(root, item)
        elif isinstance(item, Query):
            child_items.append(item)
    where = comp.where_sql()
    order = comp.order_sql()
    order.append(f'{comp.alias0}."Id" ASC')
    cols = ", ".join(comp.columns)
    sql = f"SELECT {cols} {comp.from_sql()} WHERE {where} ORDER BY {', '.join(order)}{tail}"
    compiled = CompiledQuery(
        mode="records",
        sobject=comp.obj.name,
        sql=sql,
        params=comp.params,
        node=root,
        columns=[],
        limit=query.limit,
    )
    for index, sub in enumerate(child_items):
        plan = _compile_child(soql, comp.obj, sub, include_deleted, index)
        root.add(plan.key, F_CHILD, plan)
        compiled.children.append(plan)
    compiled.columns = _flat_columns(root, "")
    return compiled


def _flat_columns(node: Node, prefix: str) -> list[str]:
    out = []
    for key, kind, payload in node.entries:
        if kind in {F_VALUE, F_BOOL}:
            out.append(prefix + key)
        elif kind == F_PARENT:
            out.extend(_flat_columns(payload, f"{prefix}{key}."))
    return out


def _compile_child(
    soql: str, parent: SObjectDef, sub: Query, include_deleted: bool, index: int
) -> ChildPlan:
    name = sub.sobject
    if "." in name and name.split(".")[0].lower() == parent.name.lower():
        name = name.split(".", 1)[1]
    rel = parent.child(name)
    if rel is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"\n{soql}\nERROR at Row:1:Column:{sub.sobject_pos + 1}\nDidn't understand "
            f"relationship '{sub.sobject}' in FROM part of query call. If you are attempting to "
            "use a custom relationship, be sure to append the '__r' after the custom "
            "relationship name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
        )
    if sub.group_by or sub.count_only or any(not isinstance(i, Path) for i in sub.items):
        raise SoqlError("MALFORMED_QUERY", "aggregates are not supported in child subqueries")
    if sub.offset is not None:
        raise SoqlError("MALFORMED_QUERY", "OFFSET is not supported in child subqueries")
    child = OBJECTS[rel.child]
    comp = _Compiler(
        soql, sub, include_deleted=include_deleted, alias_prefix=f"c{index}_", base=child
    )
    node = Node(child.name, comp.column(f'{comp.alias0}."Id"'))
    fk_index = comp.column(f'{comp.alias0}."{rel.field}"')
    for item in sub.items:
        assert isinstance(item, Path)
        comp.add_path(node, item)
    where = comp.where_sql()
    order = comp.order_sql()
    order.append(f'{comp.alias0}."Id" ASC')
    head = f"SELECT {', '.join(comp.columns)} {comp.from_sql()}"
    return ChildPlan(
        key=rel.name,
        fk_index=fk_index,
        sql_head=head,
        sql_where=f'{comp.alias0}."{rel.field}" IN ({{marks}})'
        + (f" AND {where}" if where else ""),
        sql_order=f'ORDER BY {comp.alias0}."{rel.field}", ' + ", ".join(order),
        params=comp.params,
        node=node,
        limit=sub.limit,
    )


def _compile_aggregate(comp: _Compiler, query: Query, tail: str) -> CompiledQuery:
    group_exprs: dict[str, FieldDef] = {}
    group_sql = []
    for path in query.group_by:
        expr, f, _ = comp.resolve(path)
        if f.long_text or f.type in {"double", "currency", "percent", "datetime"}:
            raise comp.error(
                "MALFORMED_QUERY", path.pos, f"field '{f.name}' can not be grouped in a query call"
            )
        group_exprs[expr] = f
        group_sql.append(expr)
    select = []
    keys: list[tuple[str, Callable[[Any], Any]]] = []
    n = 0
    for item in query.items:
        if isinstance(item, Query):
            raise SoqlError("MALFORMED_QUERY", "child subqueries cannot be used with aggregates")
        if isinstance(item, Path):
            expr, f, _ = comp.resolve(item)
            if expr not in group_exprs:
                raise comp.error(
                    "MALFORMED_QUERY",
                    item.pos,
                    f"Field must be grouped or aggregated: {f.name}",
                )
            select.append(expr)
            keys.append((f.name, _to_bool if f.type == "boolean" else _identity))
        else:
            expr, convert = comp.agg_expr(item)
            select.append(expr)
            if item.alias:
                key = item.alias
            else:
                key = f"expr{n}"
                n += 1
            keys.append((key, convert))
    where = comp.where_sql()
    sql = f"SELECT {', '.join(select)} {comp.from_sql()} WHERE {where}"
    if group_sql:
        sql += " GROUP BY " + ", ".join(group_sql)
    order = comp.order_sql(agg_exprs={})
    if order:
        sql += " ORDER BY " + ", ".join(order)
    sql += tail
    return CompiledQuery(
        mode="aggregate", sobject=comp.obj.name, sql=sql, params=comp.params, agg_keys=keys
    )


def build_record(node: Node, row: Sequence[Any], root: str, children: dict[str, Any]) -> Any:
    """One SQL row -> one Salesforce record (``None`` for an absent parent)."""
    rid = row[node.id_index]
    if rid is None:
        return None
    rec: dict[str, Any] = {"attributes": {"type": node.type, "url": f"{root}{node.type}/{rid}"}}
    for key, kind, payload in node.entries:
        if kind == F_VALUE:
            rec[key] = row[payload]
        elif kind == F_BOOL:
            value = row[payload]
            rec[key] = None if value is None else value == 1
        elif kind == F_PARENT:
            rec[key] = build_record(payload, row, root, children)
        else:
            rec[key] = children.get(key, {}).get(rid)
    return rec
