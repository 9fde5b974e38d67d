"""Records to typed DataFrames: the one place frames are built.

Types are explicit, never inferred. A column's *kind* says how its wire values are read:

=============  =============================  ==========================================
kind           dtype                          wire values accepted
=============  =============================  ==========================================
``text``       ``string``                     any; ``""`` and ``None`` are missing
``integer``    ``Int64``                      ``"12"``, ``12``
``boolean``    ``boolean``                    ``true/false``, ``T/F``, ``1/0``, JSON booleans
``decimal``    ``object`` of ``Decimal``      ``"1234.56"``, JSON numbers (exact)
``float``      ``Float64``                    numbers (percentages, rates that are not money)
``date``       ``datetime64[us]``             ``mm/dd/yyyy`` (Intacct) or ``yyyy-mm-dd``
``datetime``   ``datetime64[us]`` (naive)     ``mm/dd/yyyy HH:MM:SS`` or ISO without offset
``timestamp``  ``datetime64[us, UTC]``        ISO 8601 with an offset (Salesforce)
=============  =============================  ==========================================

An empty result has the same columns and dtypes as a full one. A value that cannot be read as
its kind raises :class:`~intacct_sync.errors.InputError` naming the row, column and value.

The module is over 600 lines because the fast paths for wire text (``_wire_*``) sit beside
the general readers they must equal cell for cell (splitting them apart would invite the two to
drift), and its public functions carry full docstrings for the API reference.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from intacct_sync.errors import InputError

__all__ = [
    "DTYPES",
    "KINDS",
    "PARENT_ID",
    "ChildFrames",
    "Kind",
    "build_frame",
    "children",
    "concat_pages",
    "empty_frame",
    "frame_from_records",
    "frame_to_records",
    "parse_decimal",
]

Kind = Literal["text", "integer", "boolean", "decimal", "float", "date", "datetime", "timestamp"]
KINDS: tuple[Kind, ...] = (
    "text",
    "integer",
    "boolean",
    "decimal",
    "float",
    "date",
    "datetime",
    "timestamp",
)
DTYPES: Mapping[Kind, str] = {
    "text": "string",
    "integer": "Int64",
    "boolean": "boolean",
    "decimal": "object",
    "float": "Float64",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
    "timestamp": "datetime64[us, UTC]",
}
_NOT_PLAIN = re.compile(r"[_eE]")
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
_DATETIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y")


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value == ""
    return isinstance(value, float) and math.isnan(value)


def parse_decimal(value: object, *, column: str = "", row: object = None) -> Decimal | None:
    """Read a money or quantity value exactly; ``None`` for a missing one.

    Floats are read through their shortest ``repr`` so ``23.1`` stays ``Decimal("23.1")``.

    >>> parse_decimal("1250.75"), parse_decimal(23.1), parse_decimal(None)
    (Decimal('1250.75'), Decimal('23.1'), None)

    Args:
        value: a number, a plain decimal string, or a missing value.
        column: the column name, for the error.
        row: the row, for the error.

    Returns:
        The exact value, or None when ``value`` is missing (None, NaN, ``pd.NA``).

    Raises:
        InputError: the value is not a plain number (thousands separators, currency signs,
            ``NaN`` and infinities are refused).
    """
    if _missing(value):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise InputError("expected a number, got a boolean", row=row, field=column, value=value)
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            # Underscores and exponents are Python's, not a ledger's: "1.23457E+11" is how a
            # spreadsheet displays 123456789012.34, and must not post as 123457000000.
            if "_" in value or "e" in value or "E" in value:
                raise InvalidOperation
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(
                "not a plain decimal number", row=row, field=column, value=value
            ) from None
    else:
        raise InputError("expected a number", row=row, field=column, value=value)
    if not result.is_finite():
        raise InputError("not a finite number", row=row, field=column, value=value)
    return result


def _column(name: str, values: Sequence[Any], kind: Kind) -> Any:
    # The wire fast paths give the same array as the general path or decline (None); the
    # general path also produces the error that names the row and value.
    fast = _wire_column(name, values, kind)
    if fast is not None:
        return fast
    return _general_column(name, values, kind)


def _general_column(name: str, values: Sequence[Any], kind: Kind) -> Any:
    # Vectorised where pandas can be trusted, else per-value reading.
    if kind == "text":
        return _text(values)
    if kind == "decimal":
        return pd.array(_decimals(name, values), dtype=object)
    if kind == "integer":
        try:
            if not any(isinstance(v, bool | float | Decimal) for v in values[:1]):
                return _text(values).astype("Int64")
        except (TypeError, ValueError, OverflowError):
            pass
        return pd.array([_int(name, i, v) for i, v in enumerate(values)], dtype="Int64")
    if kind == "float":
        return pd.array([_float(name, i, v) for i, v in enumerate(values)], dtype="Float64")
    if kind == "boolean":
        return pd.array([_bool(name, i, v) for i, v in enumerate(values)], dtype="boolean")
    if kind == "timestamp":
        return _timestamps(name, values)
    return _dates(name, values, _DATE_FORMATS if kind == "date" else _DATETIME_FORMATS)


# -- fast paths for wire text ------------------------------------------------------------------
# A page of an XML read is a list of str and None per column (reading ~100,000 rows is dominated
# by per-cell Python work). Each fast path accepts only a subset of what the general path
# accepts, checked for the whole column at once, and then builds exactly the array the general
# path would; anything else (a cell that fails, a value of another type) declines, and the
# general path decides, raising its error. tests/test_fast_conversion.py holds the two equal.
_INT_BYTES = b"0123456789-"
_DEC_BYTES = b"0123456789.+-"
# Below this a column is too short for dictionary typing of dates to pay for itself.
_FACTORIZE_MIN = 64


def _wire_column(name: str, values: Sequence[Any], kind: Kind) -> Any:
    if type(values) is not list or not values:
        return None
    if kind == "date" or kind == "datetime":
        return _wire_dates(name, values, _DATE_FORMATS if kind == "date" else _DATETIME_FORMATS)
    texts = _wire_texts(values)
    if texts is None:
        return None
    blob, missing, empty = texts
    if kind == "text":
        return _wire_strings([v or None for v in values] if empty else values)
    if kind == "integer":
        return _wire_integers(values, blob, missing)
    if kind == "decimal":
        return _wire_decimals(values, blob, missing)
    return None


def _only(blob: str, allowed: bytes) -> bool:
    """Whether every character of ``blob`` is one of the ASCII ``allowed`` (in one C pass)."""
    try:
        return not blob.encode("ascii").translate(None, allowed)
    except UnicodeEncodeError:
        return False


def _wire_strings(cells: list[str | None]) -> Any:
    # pandas' "string" array over Arrow storage is built from an Arrow array: handing pandas the
    # list costs a per-value check that a list of str and None does not need.
    if pd.StringDtype().storage == "pyarrow":
        try:
            import pyarrow as pa
        except ImportError:  # pragma: no cover - pandas chose Arrow storage, so it is there
            pass
        else:
            chunks = pa.chunked_array([pa.array(cells, type=pa.large_string())])
            return pd.arrays.ArrowStringArray(chunks)
    return pd.array(cells, dtype="string")


def _wire_texts(values: list[Any]) -> tuple[str, int, int] | None:
    """``(all present cells joined, cells missing, cells "")`` when every value is a str or None.

    Missing cells are None or ``""``; ``filter`` drops them (and any other falsy value, which
    the counts then catch) and ``join`` refuses anything but str, both in C.
    """
    try:
        present = list(filter(None, values))
        blob = "".join(present)
        missing = len(values) - len(present)
        empty = values.count("") if missing else 0
        if missing and values.count(None) + empty != missing:
            return None
    except (TypeError, ValueError):  # a value of another type (pd.NA refuses comparison)
        return None
    return blob, missing, empty


def _wire_integers(cells: list[str | None], blob: str, missing: int) -> Any:
    # ASCII digits and minus signs only: int() then reads each cell as the general path does,
    # or refuses ("1-2", "-"), and int64 overflow refuses too.
    if not _only(blob, _INT_BYTES):
        return None
    count = len(cells)
    try:
        data = np.array([v or "0" for v in cells] if missing else cells, dtype=np.int64)
    except (ValueError, OverflowError):
        return None
    mask = np.fromiter(map(operator.not_, cells), bool, count) if missing else np.zeros(count, bool)
    return pd.arrays.IntegerArray(data, mask)


def _wire_decimals(cells: list[str | None], blob: str, missing: int) -> Any:
    # Digits, points and signs only: no exponent, underscore, space, NaN or infinity, so
    # Decimal(cell) is what parse_decimal gives, or InvalidOperation ("1.2.3").
    if not _only(blob, _DEC_BYTES):
        return None
    try:
        if missing:
            out = np.array([Decimal(v) if v else None for v in cells], dtype=object)
        else:
            out = np.fromiter(map(Decimal, cast("list[str]", cells)), object, len(cells))
    except InvalidOperation:
        return None
    return pd.arrays.NumpyExtensionArray(out)


def _wire_dates(name: str, values: list[Any], formats: Sequence[str]) -> Any:
    # A ledger page holds few distinct dates: each distinct text is read once. Only the strict
    # shapes below are read here (two-digit month and day, four-digit year within pandas'
    # nanosecond range, nothing around them); any other text sends the column to pandas.
    if len(values) < _FACTORIZE_MIN:
        return None
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # unhashable values
        return None
    if 2 * len(distinct) > len(values):
        return None
    with_time = "%m/%d/%Y %H:%M:%S" in formats
    for text in distinct:
        if text is None or text == "":
            distinct[text] = _NAT
            continue
        if type(text) is not str:
            return None
        micros = _strict_micros(text, with_time=with_time)
        if micros is None:
            return None
        distinct[text] = micros
    stamps = np.fromiter(map(distinct.__getitem__, values), np.int64, len(values))
    return pd.array(stamps.view("datetime64[us]"))


_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
_NAT = _INT64_MIN  # numpy's NaT
_US_DATE = re.compile(r"(\d\d)/(\d\d)/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_US_DATETIME = re.compile(r"(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@functools.lru_cache(maxsize=4096)
def _strict_micros(text: str, *, with_time: bool) -> int | None:
    """Microseconds since 1970 of an Intacct date (``07/24/2017``), ISO date, or with
    ``with_time`` Intacct datetime (``07/24/2017 15:19:46``, reference: the gateway's own
    format); None for any other text or an impossible date.
    """
    parts: tuple[str, ...]
    if (match := _US_DATE.fullmatch(text)) is not None:
        month, day, year = match.groups()
        parts = (year, month, day)
    elif not with_time and (match := _ISO_DATE.fullmatch(text)) is not None:
        parts = match.groups()
    elif with_time and (match := _US_DATETIME.fullmatch(text)) is not None:
        month, day, year, *clock = match.groups()
        parts = (year, month, day, *clock)
    else:
        return None
    numbers = [int(p) for p in parts]
    if not 1900 <= numbers[0] <= 2200:
        return None
    try:
        moment = dt.datetime(*numbers, tzinfo=dt.UTC)  # type: ignore[arg-type,misc]
    except ValueError:
        return None
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _text(values: Sequence[Any]) -> Any:
    array: Any = pd.array(values, dtype="string")
    equal: Any = array == ""
    empty = equal.to_numpy(dtype=bool, na_value=False)
    if empty.any():
        array[empty] = pd.NA
    return array


def _decimals(name: str, values: Sequence[Any]) -> list[Decimal | None]:
    try:
        out = [
            # The fast path must refuse what parse_decimal refuses (underscores, exponents).
            Decimal(v)
            if type(v) is str and v and v.isascii() and not _NOT_PLAIN.search(v)
            else parse_decimal(v, column=name, row=i)
            for i, v in enumerate(values)
        ]
    except InvalidOperation:
        out = [parse_decimal(v, column=name, row=i) for i, v in enumerate(values)]
    for i, value in enumerate(out):
        if value is not None and not value.is_finite():
            raise InputError("not a finite number", row=i, field=name, value=values[i])
    return out


def _int(name: str, row: int, value: object) -> int | None:
    if _missing(value):
        return None
    if isinstance(value, bool):
        raise InputError("expected an integer, got a boolean", row=row, field=name, value=value)
    try:
        number = Decimal(str(value).strip())
        if number != number.to_integral_value():
            raise InvalidOperation
        whole = int(number)
    except InvalidOperation:
        raise InputError("not an integer", row=row, field=name, value=value) from None
    if not _INT64_MIN <= whole <= _INT64_MAX:
        # Int64 columns hold 64 bits; numpy would raise OverflowError naming nothing.
        raise InputError("integer out of the 64-bit range", row=row, field=name, value=value)
    return whole


def _float(name: str, row: int, value: object) -> float | None:
    if _missing(value):
        return None
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError("not a number", row=row, field=name, value=value) from None


def _bool(name: str, row: int, value: object) -> bool | None:
    if _missing(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError("not a boolean", row=row, field=name, value=value)


def _dates(name: str, values: Sequence[Any], formats: Sequence[str]) -> Any:
    texts = pd.Series(values, dtype=object)
    texts = texts.where(texts.notna() & (texts != ""), None)
    if len(texts) and all(isinstance(v, pd.Timestamp) or v is None for v in texts):
        return pd.array(pd.to_datetime(texts).astype("datetime64[us]"))
    result = pd.to_datetime(texts, format=formats[0], errors="coerce")
    for fmt in formats[1:]:
        todo = result.isna() & texts.notna()
        if not todo.any():
            break
        result[todo] = pd.to_datetime(texts[todo], format=fmt, errors="coerce")
    bad = result.isna() & texts.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"not a date in any of the formats {', '.join(formats)}",
            row=row,
            field=name,
            value=texts.iloc[row],
        )
    return pd.array(result.astype("datetime64[us]"))


def _timestamps(name: str, values: Sequence[Any]) -> Any:
    texts = pd.Series(values, dtype=object)
    texts = texts.where(texts.notna() & (texts != ""), None)
    result = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
    bad = result.isna() & texts.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError("not an ISO 8601 timestamp", row=row, field=name, value=texts.iloc[row])
    return pd.array(result.astype("datetime64[us, UTC]"))


def empty_frame(kinds: Mapping[str, Kind]) -> pd.DataFrame:
    """A zero-row frame with the columns and dtypes of ``kinds`` (recorded in ``attrs``).

    Args:
        kinds: column name -> kind, in column order.

    Returns:
        An empty DataFrame shaped as a read of those columns would be.
    """
    frame = pd.DataFrame({name: pd.Series([], dtype=DTYPES[kind]) for name, kind in kinds.items()})
    frame.attrs["kinds"] = dict(kinds)
    return frame


def build_frame(
    columns: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, Kind],
    *,
    order: Sequence[str] | None = None,
    default_kind: Kind = "text",
) -> pd.DataFrame:
    """Build a typed frame from column-wise wire values.

    Args:
        columns: column name -> values, all the same length.
        kinds: column name -> kind; columns absent here get ``default_kind``.
        order: column order; defaults to ``kinds`` order followed by any extra columns. Columns
            named in ``order`` or ``kinds`` but absent from ``columns`` are added, all missing,
            so every page of a read has the same shape.
        default_kind: kind of columns not in ``kinds``.

    The kinds are recorded in ``frame.attrs["kinds"]`` (column -> kind): a date column cannot
    be told from a datetime one by its dtype, and :func:`intacct_sync.arrow.to_arrow` gives each
    kind a fixed Arrow type.

    Returns:
        A DataFrame with one typed column per name (money as exact ``Decimal`` objects, dates
        as ``datetime64``), the kinds in ``attrs["kinds"]``.

    Raises:
        InputError: a value does not read as its column's kind.
    """
    names = list(order) if order is not None else list(kinds)
    names += [c for c in columns if c not in names]
    if not columns:
        return empty_frame({n: kinds.get(n, default_kind) for n in names})
    length = len(next(iter(columns.values())))
    data: dict[str, Any] = {}
    for name in names:
        values = columns.get(name)
        if values is None:
            values = [None] * length
        data[name] = _column(name, values, kinds.get(name, default_kind))
    # The arrays were built here for this frame alone: nothing else holds them to copy for.
    frame = pd.DataFrame(data, index=pd.RangeIndex(length), copy=False)
    frame.attrs["kinds"] = {n: kinds.get(n, default_kind) for n in names}
    return frame


def frame_from_records(
    records: Iterable[Mapping[str, Any]],
    kinds: Mapping[str, Kind],
    *,
    order: Sequence[str] | None = None,
    default_kind: Kind = "text",
) -> pd.DataFrame:
    """Like :func:`build_frame`, from row-wise records (missing keys are missing values).

    >>> frame_from_records([{"ACCOUNTNO": "4000", "AMOUNT": "125.50"}],
    ...                    {"ACCOUNTNO": "text", "AMOUNT": "decimal"})["AMOUNT"].tolist()
    [Decimal('125.50')]

    Args:
        records: one mapping per row; keys not in ``kinds`` become extra columns.
        kinds: column name -> kind; columns absent here get ``default_kind``.
        order: column order (see :func:`build_frame`).
        default_kind: kind of columns not in ``kinds``.

    Returns:
        A typed DataFrame, one row per record, the kinds in ``attrs["kinds"]``.

    Raises:
        InputError: a value does not read as its column's kind.
    """
    rows = list(records)
    names = list(order) if order is not None else list(kinds)
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {n: [row.get(n) for row in rows] for n in names} if rows else {}
    return build_frame(columns, kinds, order=names, default_kind=default_kind)


def frame_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dicts with missing values as ``None`` and timestamps as datetimes.

    Keeps ``Decimal`` values as they are, so money taken from a frame stays exact.

    Args:
        frame: any DataFrame.

    Returns:
        One dict per row, column name -> plain Python value.
    """
    records: list[dict[str, Any]] = []
    columns = [str(c) for c in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        record: dict[str, Any] = {}
        for name, value in zip(columns, values, strict=True):
            if _missing(value):
                record[name] = None
            elif isinstance(value, pd.Timestamp):
                record[name] = value.to_pydatetime()
            elif hasattr(value, "item") and not isinstance(value, Decimal):
                record[name] = value.item()
            else:
                record[name] = value
        records.append(record)
    return records


#: The leading column of every child frame: the parent record's id, as text.
PARENT_ID = "parent_id"


class ChildFrames(Mapping[str, pd.DataFrame]):
    """A read's child rows, one frame per relationship (Intacct ``ENTRIES``), in ``attrs``.

    Each child frame's first column, :data:`PARENT_ID`, holds the id of the parent record
    (as text) found in the parent frame's ``parent_key`` column (Intacct: ``RECORDNO``, else
    the object's id field). Children are joined to parents by that id, never by row position,
    so a sorted, filtered or truncated parent frame still joins to the right child rows;
    :func:`children` gives only the child rows of the parents still present.

    It lives in ``frame.attrs["children"]``. pandas deep-copies ``attrs`` into the result of
    most operations and compares them on ``concat`` and ``merge``; this mapping is shared
    rather than copied (children can be large) and compares by identity, so a plain dict of
    DataFrames (which cannot be compared) never breaks ``merge``.
    """

    def __init__(self, frames: Mapping[str, pd.DataFrame], *, parent_key: str | None) -> None:
        self._frames = dict(frames)
        #: the parent frame's column :data:`PARENT_ID` refers to (None: the parents had none)
        self.parent_key = parent_key

    def __getitem__(self, name: str) -> pd.DataFrame:
        for key, frame in self._frames.items():
            if key.lower() == name.lower():
                return frame
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> ChildFrames:
        return self

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)} rows" for k, v in self._frames.items())
        return f"ChildFrames({sizes})"


def children(frame: pd.DataFrame, relationship: str) -> pd.DataFrame:
    """The child rows of ``relationship`` that belong to the parent rows of ``frame``.

    Works on any frame derived from a read (sorted, filtered, ``head()``...): child rows are
    matched by the parents' id, not by position, and come in the parents' current order
    (children of one parent keep theirs).

    >>> lines = children(orders, "OpportunityLineItems")  # doctest: +SKIP

    Args:
        frame: a read's result (or a frame derived from it) that carries child frames.
        relationship: the child relationship's name, as the query wrote it.

    Returns:
        The child rows of the parents still in ``frame``, each naming its parent in the
        :data:`PARENT_ID` column.

    Raises:
        KeyError: the frame carries no children (not a read's result, or ``attrs`` were
            dropped, e.g. by building a new DataFrame from it), none named ``relationship``,
            or the frame lost the parent id column the children refer to.
    """
    found = frame.attrs.get("children")
    if not isinstance(found, ChildFrames):
        raise KeyError(
            f"this frame carries no child frames (looking for {relationship!r}): call "
            "children() on the read's result or a frame derived from it"
        )
    child = found[relationship]
    key = found.parent_key
    if key is None or key not in frame.columns:
        raise KeyError(
            f"the parent frame has no {key or 'id'} column, which the {relationship!r} rows "
            f"refer to in their {PARENT_ID!r} column; keep it selected to join them"
        )
    order = {parent: i for i, parent in enumerate(frame[key].dropna().astype(str))}
    position = child[PARENT_ID].map(order)
    present = position.notna()
    kept: pd.DataFrame = child[present]
    return kept.iloc[position[present].to_numpy().argsort(kind="stable")]


def concat_pages(pages: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The pages of one read as one frame, keeping what the pages carry in ``attrs``.

    Pages share their kinds (recorded by :func:`build_frame`), kept from the first page; each
    relationship's child frames are concatenated in page order (children name their parent by
    id, so nothing needs renumbering). Empty pages add nothing unless every page is empty.

    Args:
        pages: the pages of one read, in order (at least one).

    Returns:
        One DataFrame with a fresh index; the single page itself when there is only one.
    """
    if len(pages) == 1:
        return pages[0]
    children: dict[str, list[pd.DataFrame]] = {}
    parent_key: str | None = None
    for page in pages:
        found = page.attrs.get("children")
        if isinstance(found, ChildFrames):
            parent_key = parent_key or found.parent_key
            for name, child in found.items():
                children.setdefault(name, []).append(child)
    frame = pd.concat([p for p in pages if len(p)] or list(pages[:1]), ignore_index=True)
    frame.attrs = {"kinds": pages[0].attrs["kinds"]} if "kinds" in pages[0].attrs else {}
    if children:
        frame.attrs["children"] = ChildFrames(
            {n: pd.concat(c, ignore_index=True) for n, c in children.items()},
            parent_key=parent_key,
        )
    return frame
