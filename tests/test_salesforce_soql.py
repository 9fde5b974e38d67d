"""soql(): every value becomes a literal that cannot change the query's structure."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from intacct_sync.errors import InputError
from intacct_sync.salesforce.soql import identifier, like, literal, soql

TEMPLATE = "SELECT Id FROM Account WHERE Name = {} AND Industry != 'x' LIMIT 5"

HOSTILE = [
    "O'Brien",
    "' OR Name != '",
    "\\' OR Name != \\'",
    "x\\",
    "\\",
    "'; DELETE FROM Account --",
    "line1\nline2\r\n\tTab",
    'double "quotes"',
    "nul\x00 bell\x07 esc\x1b del\x7f",
    "\b\f",
    "ünïcødé 東京 🚀 \u2028 \u00a0",
    "{} {0} {name}",
    ") OR (Id != null",
    "%_ wildcards",
    "\\u0027",
]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<word>[^\s']+))", re.DOTALL)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def tokens(query: str) -> list[tuple[str, str]]:
    """SOQL tokens as (kind, text); raises if a quote is left open."""
    out = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        assert match is not None and match.end() > pos, f"cannot tokenize at {query[pos:]!r}"
        kind = "str" if match.group("str") else "word"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def unescape(text: str) -> str:
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            assert nxt in _UNESCAPE or nxt in "%_", f"invalid SOQL escape \\{nxt}"
            out.append(_UNESCAPE.get(nxt, nxt))
            i += 2
            continue
        assert char not in "'\n\r" and ord(char) >= 0x20, f"raw {char!r} inside a literal"
        out.append(char)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_cannot_change_the_structure(value: str) -> None:
    benign = tokens(soql(TEMPLATE, "Acme"))
    hostile = tokens(soql(TEMPLATE, value))
    assert [k for k, _ in hostile] == [k for k, _ in benign]
    assert [t for k, t in hostile if k == "word"] == [t for k, t in benign if k == "word"]
    literal_token = next(t for k, t in hostile if k == "str")
    assert unescape(literal_token) == value  # lossless: the server sees exactly the value


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_lists_and_like(value: str) -> None:
    template = "SELECT Id FROM Account WHERE Name IN {} OR Name LIKE {}"
    query = soql(template, [value, "b"], like(value))
    benign = tokens(soql(template, ["a", "b"], like("a")))
    assert [k for k, _ in tokens(query)] == [k for k, _ in benign]
    assert [t for k, t in tokens(query) if k == "word"] == [t for k, t in benign if k == "word"]
    like_token = [t for k, t in tokens(query) if k == "str"][-1]
    pattern = like_token[1:-1]
    # every % or _ that came from the value is escaped; only the outer wildcards are bare
    assert re.fullmatch(r"%.*%", pattern, re.DOTALL)
    inner = pattern[1:-1]
    assert not re.search(r"(?<!\\)(?:\\\\)*[%_]", inner)


def test_in_list_items_each_quoted() -> None:
    query = soql("SELECT Id FROM Account WHERE Name IN {}", ["a'b", "c"])
    assert query.endswith("IN ('a\\'b','c')")


def test_like_positions() -> None:
    assert literal(like("50%_off", "startswith")) == "'50\\%\\_off%'"
    assert literal(like("x", "endswith")) == "'%x'"
    assert literal(like("x", "exact")) == "'x'"
    assert literal(like("O'B")) == "'%O\\'B%'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (Decimal("1000.50"), "1000.50"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("1.5E+3"), "1500"),
        (0.00001, "0.00001"),
        (1e22, "10000000000000000000000"),
        (0.1, "0.1"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.datetime(2024, 1, 31, 17, 5, 3, 999999, tzinfo=dt.UTC), "2024-01-31T17:05:03Z"),
        (
            dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "2024-01-31T17:00:00Z",
        ),
        ((1, 2), "(1,2)"),
        ({"b", "a"}, "('a','b')"),
        (identifier("Account.Name"), "Account.Name"),
    ],
)
def test_literals(value: Any, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("-Infinity"),
        dt.datetime(2024, 1, 1, 12, 0),  # naive
        [],
        [[1]],
        b"bytes",
        object(),
        {"a": 1},
    ],
)
def test_refused_values(value: Any) -> None:
    with pytest.raises(InputError):
        soql("SELECT Id FROM Account WHERE X = {}", value)


@pytest.mark.parametrize(
    "template",
    [
        "SELECT Id FROM Account WHERE Name = {:literal}",
        "SELECT Id FROM Account WHERE Name = {!r}",
        "SELECT Id FROM Account WHERE Name = {0.__class__}",
        "SELECT Id FROM Account WHERE Name = {0[0]}",
    ],
)
def test_no_escape_hatches_in_placeholders(template: str) -> None:
    with pytest.raises(InputError):
        soql(template, "x")


@pytest.mark.parametrize(
    "name", ["Name; DROP", "Name'", "a b", "", "1Field", "Name)", "Account..Name", "Name--"]
)
def test_identifier_refuses_anything_but_api_names(name: str) -> None:
    with pytest.raises(InputError):
        identifier(name)


def test_named_and_positional_placeholders() -> None:
    query = soql(
        "SELECT Id FROM Opportunity WHERE StageName = {stage} AND Amount > {0} ORDER BY {field}",
        Decimal("10.00"),
        stage="Closed Won",
        field=identifier("CloseDate"),
    )
    assert query == (
        "SELECT Id FROM Opportunity WHERE StageName = 'Closed Won' AND Amount > 10.00 "
        "ORDER BY CloseDate"
    )


def test_a_string_is_never_an_identifier() -> None:
    assert soql("SELECT {} FROM Account", "Name") == "SELECT 'Name' FROM Account"


def test_braces_escape() -> None:
    assert soql("SELECT Id FROM Account WHERE Name = '{{x}}'") == (
        "SELECT Id FROM Account WHERE Name = '{x}'"
    )
