"""SOQL literals made safe: the ``soql()`` formatter and its helpers.

SOQL has no bind variables over REST, so every value that goes into a query must be turned into a
literal that cannot change the query's structure. :func:`soql` fills ``{}`` placeholders the way
``str.format`` does, but each value becomes a quoted and escaped SOQL literal chosen by its type:

=========================  =============================================
value                      literal
=========================  =============================================
``str``                    ``'O\\'Brien'`` (``\\ ' " \\n \\r \\t \\b \\f`` and other
                           control characters escaped)
``bool``                   ``true`` / ``false``
``int``                    ``42``
``Decimal``, ``float``     fixed-point, never exponent form: ``0.00001``
``None``                   ``null``
``datetime.date``          ``2024-01-31`` (unquoted, as SOQL wants)
``datetime.datetime``      ``2024-01-31T17:05:00Z`` (timezone-aware only; converted to UTC)
list / tuple / set         ``('a','b')`` for ``IN`` (not empty, no nesting)
:func:`like` pattern       ``'Acme\\%%'`` with ``%`` and ``_`` in the value escaped
:func:`identifier`         a field or object name, checked against a strict pattern
=========================  =============================================

Anything else (and NaN, infinities, naive datetimes, format specs such as ``{:literal}``,
conversions such as ``{!r}``, attribute or index lookups in placeholders) is refused with
:class:`~intacct_sync.errors.InputError`. Identifiers are never taken from plain strings: a ``str``
always becomes a quoted literal.

>>> soql("SELECT Id FROM Account WHERE Name = {} AND CreatedDate > {}", "O'Brien",
...      datetime.datetime(2024, 1, 31, tzinfo=datetime.UTC))
"SELECT Id FROM Account WHERE Name = 'O\\\\'Brien' AND CreatedDate > 2024-01-31T00:00:00Z"
"""

from __future__ import annotations

import datetime
import math
import re
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs

from intacct_sync.errors import InputError

__all__ = ["Identifier", "LikePattern", "identifier", "like", "literal", "soql"]

# Backslash escapes SOQL accepts inside a quoted string; any other backslash sequence is an
# error on the server, so every other control character goes out as \uXXXX.
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*\Z")
_FIELD_NAME_RE = re.compile(r"\d+\Z|[A-Za-z_][A-Za-z0-9_]*\Z")


@attrs.frozen
class LikePattern:
    """A ``LIKE`` pattern whose user part has ``%`` and ``_`` escaped. Build it with :func:`like`."""

    value: str
    match: Literal["contains", "startswith", "endswith", "exact"] = "contains"


@attrs.frozen
class Identifier:
    """A field or sObject name checked against ``Name``, ``Account.Name``, ``My_Field__c``."""

    name: str


def like(
    value: str, match: Literal["contains", "startswith", "endswith", "exact"] = "contains"
) -> LikePattern:
    """A ``LIKE`` operand matching ``value`` literally, wildcards added only where asked.

    Args:
        value: text to look for; its ``%`` and ``_`` match only themselves.
        match: where the wildcards go (``contains`` -> ``'%value%'``).

    Returns:
        A value for a :func:`soql` placeholder.

    >>> soql("SELECT Id FROM Account WHERE Name LIKE {}", like("50%_off", "startswith"))
    "SELECT Id FROM Account WHERE Name LIKE '50\\\\%\\\\_off%'"
    """
    if not isinstance(value, str):
        raise InputError("like() takes a string", value=value)
    return LikePattern(value, match)


def identifier(name: str) -> Identifier:
    """Mark ``name`` as a field or object name to be inserted unquoted, after checking it.

    Only letters, digits and underscores, dot-separated, starting with a letter, are accepted;
    so a name can never carry quotes, spaces, parentheses or operators.

    Args:
        name: a field or object API name (``CreatedDate``, ``Account.Name``).

    Returns:
        The name, marked to be written unquoted by :func:`soql`.

    Raises:
        InputError: the name does not look like a Salesforce API name.

    >>> soql("SELECT Id FROM Account ORDER BY {} DESC", identifier("CreatedDate"))
    'SELECT Id FROM Account ORDER BY CreatedDate DESC'
    """
    if not _IDENTIFIER_RE.match(str(name)):
        raise InputError("not a Salesforce field or object name", value=name)
    return Identifier(name)


def _quote_string(text: str) -> str:
    out = []
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise InputError("SOQL has no literal for NaN or infinity", value=value)
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def literal(value: Any) -> str:
    """The SOQL literal for one value (see the module docstring for the rules).

    >>> literal("O'Brien"), literal(Decimal("1250.50")), literal(["a", "b"])
    ("'O\\\\'Brien'", '1250.50', "('a','b')")

    Args:
        value: a ``str``, ``bool``, ``int``, ``Decimal``, ``float``, ``None``, date,
            aware datetime, list/tuple/set of these, :func:`like` pattern or
            :func:`identifier`.

    Returns:
        The literal, ready to place in a query.

    Raises:
        InputError: the value has no safe SOQL literal.
    """
    if value is None:
        return "null"
    if isinstance(value, Identifier):
        return value.name
    if isinstance(value, LikePattern):
        body = _quote_string(value.value)[1:-1].replace("%", "\\%").replace("_", "\\_")
        before = "%" if value.match in ("contains", "endswith") else ""
        after = "%" if value.match in ("contains", "startswith") else ""
        return f"'{before}{body}{after}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError("SOQL has no literal for NaN or infinity", value=value)
        # repr gives the shortest round-trip digits; Decimal then prints them without exponent.
        return _number(Decimal(repr(value)))
    if isinstance(value, str):
        return _quote_string(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                "naive datetime: give a timezone (SOQL datetimes are absolute)", value=value
            )
        # Salesforce stores datetimes to the second; sub-second parts are dropped.
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if not items:
            raise InputError("an empty list has no SOQL literal (IN () is invalid)", value=value)
        if any(isinstance(v, list | tuple | set | frozenset) for v in items):
            raise InputError("nested lists have no SOQL literal", value=value)
        parts = [literal(v) for v in items]
        if isinstance(value, set | frozenset):
            parts.sort()
        return "(" + ",".join(parts) + ")"
    raise InputError(f"no SOQL literal for a {type(value).__name__}", value=value)


class _SoqlFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not _FIELD_NAME_RE.match(field_name):
            raise InputError(
                "placeholders are {} , {0} or {name}; no attribute or index lookups",
                value=field_name,
            )
        return super().get_field(field_name, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise InputError("conversions such as !r are not allowed in soql()", value=conversion)
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            raise InputError(
                "format specs are not allowed in soql(); use like() or identifier()",
                value=format_spec,
            )
        return literal(value)


_FORMATTER = _SoqlFormatter()


def soql(template: str, /, *args: Any, **kwargs: Any) -> str:
    """Fill ``{}`` placeholders of a SOQL template with safe literals.

    Args:
        template: the query with ``{}``, ``{0}`` or ``{name}`` placeholders (``{{``/``}}`` for
            literal braces).
        *args: positional values.
        **kwargs: named values.

    Returns:
        The query text.

    Raises:
        InputError: a value has no safe literal, or a placeholder uses a format spec,
            conversion, attribute or index.

    >>> soql("SELECT Id FROM Opportunity WHERE StageName IN {} AND Amount > {}",
    ...      ["Closed Won", "Negotiation"], Decimal("1000.50"))
    "SELECT Id FROM Opportunity WHERE StageName IN ('Closed Won','Negotiation') AND Amount > 1000.50"
    """
    return _FORMATTER.vformat(template, args, kwargs)
