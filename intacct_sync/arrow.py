"""Typed frames to Apache Arrow and Parquet, with a schema fixed by the column kinds.

A frame built by :mod:`intacct_sync.frames` records its column kinds in
``frame.attrs["kinds"]``; :func:`to_arrow` turns each kind into one Arrow type, so two reads of
the same object give the same schema whatever their values (a Parquet file written tonight has
the schema of last night's):

=============  ======================================  =====================================
kind           pandas dtype                            Arrow type
=============  ======================================  =====================================
``text``       ``string``                              ``string``
``integer``    ``Int64``                               ``int64``
``boolean``    ``boolean``                             ``bool``
``decimal``    ``object`` of ``Decimal``               ``decimal128(38, scale)``
``float``      ``Float64``                             ``float64``
``date``       ``datetime64[us]``                      ``date32``
``datetime``   ``datetime64[us]``                      ``timestamp[us]``
``timestamp``  ``datetime64[us, UTC]``                 ``timestamp[us, tz=UTC]``
=============  ======================================  =====================================

**Decimals.** Precision is always :data:`PRECISION` (38, the most ``decimal128`` holds) and the
scale is per field: ``scales[field]`` when given, else :data:`DEFAULT_SCALE` (10). Ten places
hold money (2), exchange rates (Intacct sends "up to 4+ decimals", reference/intacct-api.md §7)
and quantities and leave 28 digits before the point. The scale never comes from the values, so
it cannot change from run to run. A value that would need rounding to fit its scale (or has
more than ``38 - scale`` digits before the point) is refused with
:class:`~intacct_sync.errors.InputError` naming the row, column and value: it is never rounded.

Without a recorded kind (a frame built by hand, or ``attrs`` dropped), the kind is read from the
dtype as in the table; ``datetime64[us]`` then becomes ``timestamp[us]`` (a date column cannot be
told from a datetime one by its dtype: pass ``kinds={"WHENDUE": "date"}``), and an ``object``
column must hold only ``Decimal`` values and missing ones. Child frames
(``frame.attrs["children"]``) are not part of the table: convert them one by one. The index is
not written.

``pyarrow`` is an optional dependency: ``pip install intacct-sync[arrow]``.

**On every frame.** Importing :mod:`intacct_sync` registers the ``isync`` DataFrame accessor
(:class:`IsyncAccessor`), so any read chains into Arrow while reads keep returning plain
DataFrames: ``ia.query(...).isync.to_arrow()``, ``.isync.to_parquet(path)``,
``.isync.to_arrow_backed()``, ``.isync.kinds``. Every frame-returning read of both clients
(all pages, page by page, by key) also takes ``dtype_backend="pyarrow"`` (pandas' own spelling)
and returns Arrow-backed frames, child frames included, each page converted as it arrives
(:func:`with_backend`; the list of reads is in ``docs/warehouse.md``).

>>> from intacct_sync.arrow import to_arrow, to_parquet
>>> table = to_arrow(ia.read_by_query("GLENTRY"))  # doctest: +SKIP
>>> to_parquet(ia.read_by_query("GLENTRY"), "glentry.parquet", scales={"EXCHANGE_RATE": 6})  # doctest: +SKIP
>>> ia.query("GLENTRY", select=["RECORDNO", "TRX_AMOUNT"]).isync.to_arrow()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DEFAULT_SCALE",
    "KIND_METADATA",
    "PRECISION",
    "DtypeBackend",
    "IsyncAccessor",
    "arrow_schema",
    "arrow_type",
    "backend_converter",
    "kinds_of",
    "pages_with_backend",
    "to_arrow",
    "to_arrow_backed",
    "to_parquet",
    "with_backend",
]

#: what a read's ``dtype_backend=`` takes: pandas' two names (None: the frames layer's dtypes)
DtypeBackend = Literal["numpy_nullable", "pyarrow"]

#: precision of every decimal column (the most ``decimal128`` holds)
PRECISION = 38
#: scale of a decimal column not named in ``scales``
DEFAULT_SCALE = 10
#: field metadata key holding a column's kind, so a reader can rebuild the frame's kinds
KIND_METADATA = b"intacct_sync.kind"

_KIND_OF_DTYPE: Mapping[str, frames.Kind] = {
    "string": "text",
    "str": "text",
    "Int64": "integer",
    "int64": "integer",
    "boolean": "boolean",
    "bool": "boolean",
    "Float64": "float",
    "float64": "float",
    "object": "decimal",
    "datetime64[us]": "datetime",
    "datetime64[us, UTC]": "timestamp",
}


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - the test group installs it
        raise ImportError(
            "intacct_sync.arrow needs pyarrow: pip install 'intacct-sync[arrow]'"
        ) from None
    return pyarrow


def arrow_type(kind: frames.Kind, *, scale: int = DEFAULT_SCALE) -> pa.DataType:
    """The Arrow type of a column of ``kind`` (``scale`` for decimals).

    Args:
        kind: the column kind (``"decimal"``, ``"date"``...).
        scale: decimal places, for a ``decimal`` column.

    Returns:
        The Arrow type: ``decimal128(38, scale)`` for money, ``date32`` for dates, UTC
        ``timestamp("us")`` for timestamps, and so on.

    Raises:
        InputError: the scale is outside 0..38, or ``kind`` is not a column kind.
    """
    pa = _pyarrow()
    if kind == "decimal":
        if not 0 <= scale <= PRECISION:
            raise InputError(f"a decimal scale must be 0..{PRECISION}", field="scale", value=scale)
        return pa.decimal128(PRECISION, scale)
    types: dict[str, Any] = {
        "text": pa.string(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "float": pa.float64(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us"),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    found: Any = types.get(kind)
    if found is None:
        raise InputError(f"not a column kind (one of {', '.join(frames.KINDS)})", value=kind)
    return found


def kinds_of(
    frame: pd.DataFrame, kinds: Mapping[str, frames.Kind] | None = None
) -> dict[str, frames.Kind]:
    """Each column's kind: ``kinds`` first, then the frame's recorded kinds, then its dtype.

    A recorded kind (``frame.attrs["kinds"]``) is used only while the column still has that
    kind's dtype: a column replaced since the read (``astype(float)``) is taken by its dtype.

    Args:
        frame: a DataFrame, typed by a read or built by hand.
        kinds: column -> kind, overriding what the frame records.

    Returns:
        Column name -> kind, for every column of the frame in its order.

    Raises:
        InputError: a column has a dtype no kind maps to (and no kind was given for it).
    """
    given = dict(kinds or {})
    recorded = frame.attrs.get("kinds")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    out: dict[str, frames.Kind] = {}
    for column in frame.columns:
        name = str(column)
        dtype = str(frame[column].dtype)
        if name in given:
            out[name] = given[name]
        elif isinstance(arrow_dtype := frame[column].dtype, pd.ArrowDtype):
            out[name] = recorded.get(name) or _kind_of_arrow(name, arrow_dtype)
        elif name in recorded and frames.DTYPES.get(recorded[name]) == _dtype_family(dtype):
            out[name] = recorded[name]
        elif dtype in _KIND_OF_DTYPE:
            out[name] = _KIND_OF_DTYPE[dtype]
        else:
            raise InputError(
                "no Arrow type for this dtype: give the column's kind in kinds=",
                field=name,
                value=dtype,
            )
    return out


def _kind_of_arrow(name: str, dtype: pd.ArrowDtype) -> frames.Kind:
    pa = _pyarrow()
    t = dtype.pyarrow_dtype
    checks: list[tuple[Any, frames.Kind]] = [
        (pa.types.is_decimal, "decimal"),
        (pa.types.is_date, "date"),
        (lambda t: pa.types.is_timestamp(t) and t.tz is not None, "timestamp"),
        (pa.types.is_timestamp, "datetime"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "text"),
        (pa.types.is_integer, "integer"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_floating, "float"),
    ]
    for check, kind in checks:
        if check(t):
            return kind
    raise InputError("no column kind for this Arrow type: give it in kinds=", field=name, value=t)


def _dtype_family(dtype: str) -> str:
    # pandas 3 spells the default string dtype "str"; the frames layer builds "string".
    return "string" if dtype == "str" else dtype


def arrow_schema(
    kinds: Mapping[str, frames.Kind], *, scales: Mapping[str, int] | None = None
) -> pa.Schema:
    """The schema :func:`to_arrow` gives a frame of these column kinds (in this order).

    Each field carries its kind in its metadata (:data:`KIND_METADATA`).

    Args:
        kinds: column -> kind, in column order.
        scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).

    Returns:
        The Arrow schema, every field nullable.

    Raises:
        InputError: a kind that is not one of :data:`~intacct_sync.frames.KINDS`, or a scale
            outside 0..38.
    """
    pa = _pyarrow()
    scales = scales or {}
    return pa.schema(
        [
            pa.field(
                name,
                arrow_type(kind, scale=scales.get(name, DEFAULT_SCALE)),
                nullable=True,
                metadata={KIND_METADATA: kind.encode()},
            )
            for name, kind in kinds.items()
        ]
    )


def to_arrow(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[str, frames.Kind] | None = None,
    scales: Mapping[str, int] | None = None,
) -> pa.Table:
    """A frame as an Arrow table whose schema comes from the column kinds, not the values.

    Args:
        frame: a frame from a read (or any frame whose columns have the frames layer's dtypes).
        kinds: column -> kind, overriding the recorded kinds and dtypes (``{"WHENDUE": "date"}``).
        scales: decimal column -> scale (default :data:`DEFAULT_SCALE`).

    Returns:
        The table; decimal values are exact, dates are ``date32``.

    Raises:
        InputError: a decimal needs rounding to fit its scale or is too large, a ``date``
            value has a time of day, or a value does not read as its column's kind.
    """
    pa = _pyarrow()
    found = kinds_of(frame, kinds)
    schema = arrow_schema(found, scales=scales)
    arrays = [
        _array(str(name), frame[name], found[str(name)], schema.field(str(name)).type)
        for name in frame.columns
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(name: str, series: pd.Series[Any], kind: frames.Kind, target: pa.DataType) -> Any:
    pa = _pyarrow()
    if kind == "decimal":
        return _decimal_array(name, list(series), target)
    if isinstance(series.dtype, pd.ArrowDtype):
        # Already Arrow (to_arrow_backed): a safe cast refuses any loss of data.
        try:
            return pa.array(series).cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"does not convert to {target}: {exc}", field=name) from None
    if kind == "date":
        return _date_array(name, series)
    if kind in ("datetime", "timestamp"):
        # A cast refuses to drop sub-microsecond parts (safe=True), so nothing is truncated.
        return pa.array(series, from_pandas=True).cast(target)
    if kind == "text":
        # Whatever the string storage (python or pyarrow, large_string), the column is string.
        return pa.array(series.astype("string"), from_pandas=True).cast(target)
    try:
        return pa.array(series, from_pandas=True).cast(target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"does not convert to {target}: {exc}", field=name) from None


def _decimal_array(name: str, values: Sequence[Any], target: pa.DataType) -> Any:
    pa = _pyarrow()
    exact = [
        v if type(v) is Decimal else frames.parse_decimal(v, column=name, row=i)
        for i, v in enumerate(values)
    ]
    try:
        # pyarrow refuses a value that would lose digits ("Rescaling Decimal value would cause
        # data loss") or overflow the precision; the scan below only names it.
        return pa.array(exact, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    for row, value in enumerate(exact):
        if value is not None:
            problem = _decimal_problem(value, target.scale)
            if problem:
                raise InputError(problem, row=row, field=name, value=value)
    raise InputError(f"does not convert to {target}", field=name)  # pragma: no cover


def _decimal_problem(value: Decimal, scale: int) -> str:
    if not value.is_finite():
        return "not a finite number"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values have an integer exponent
    places = list(digits)
    # Trailing zeros after the point are not digits lost by a smaller scale.
    while exponent < -scale and places and places[-1] == 0:
        places.pop()
        exponent += 1
    if exponent < -scale:
        return (
            f"has more than {scale} decimal places and would have to be rounded: give the "
            "column a larger scale in scales="
        )
    if len(places) + exponent > PRECISION - scale:
        return f"has more than {PRECISION - scale} digits before the point (scale {scale})"
    return ""


def _date_array(name: str, series: pd.Series[Any]) -> Any:
    pa = _pyarrow()
    stamps = pd.to_datetime(series)
    times = stamps.notna() & (stamps != stamps.dt.normalize())
    if times.any():
        row = int(times.to_numpy().nonzero()[0][0])
        raise InputError(
            "a date column holds a time of day, which date32 would drop: give it the kind "
            "'datetime'",
            row=row,
            field=name,
            value=stamps.iloc[row],
        )
    # Safe: every value is at midnight, so the cast drops nothing.
    return pa.array(stamps, from_pandas=True).cast(pa.date32())


def to_parquet(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    kinds: Mapping[str, frames.Kind] | None = None,
    scales: Mapping[str, int] | None = None,
    compression: str = "zstd",
) -> None:
    """Write :func:`to_arrow` of ``frame`` to a Parquet file (same schema every run).

    Args:
        frame: the frame.
        path: the file to write.
        kinds: column kinds overriding the recorded ones (see :func:`to_arrow`).
        scales: decimal column -> scale.
        compression: Parquet compression codec.

    Raises:
        InputError: as :func:`to_arrow`.
    """
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(frame, kinds=kinds, scales=scales), path, compression=compression)


def to_arrow_backed(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[str, frames.Kind] | None = None,
    scales: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The frame with ``pd.ArrowDtype`` columns of the :func:`to_arrow` schema.

    Money stays exact (``decimal128[38, 10]`` values read back as ``Decimal``) at 16 bytes a
    value instead of a Python object each; the index and ``attrs`` are kept.

    Args:
        frame: a typed frame (a read's result, or one built by hand).
        kinds: column -> kind, for columns whose kind the frame does not record.
        scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).

    Returns:
        A new DataFrame with the same index and ``attrs`` (kinds recorded).

    Raises:
        InputError: as :func:`to_arrow`.
    """
    table = to_arrow(frame, kinds=kinds, scales=scales)
    result: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    result.index = frame.index
    result.attrs.update(frame.attrs)
    result.attrs["kinds"] = kinds_of(frame, kinds)
    return result


def with_backend(frame: pd.DataFrame, dtype_backend: DtypeBackend | None) -> pd.DataFrame:
    """``frame`` as a read's ``dtype_backend=`` asks: unchanged, or :func:`to_arrow_backed`.

    ``None`` and ``"numpy_nullable"`` keep the frames layer's dtypes (``string``, ``Int64``,
    ``boolean``, exact ``Decimal`` objects: already pandas' nullable dtypes, not numpy's own);
    ``"pyarrow"`` gives ``pd.ArrowDtype`` columns of the :func:`to_arrow` schema, and so do
    the child frames the read carries in ``attrs["children"]`` (same relationships, same
    ``parent_key``), so a child row joins its Arrow-backed parent as before.

    Args:
        frame: a read's typed frame.
        dtype_backend: ``"pyarrow"``, ``"numpy_nullable"`` or None.

    Returns:
        ``frame`` itself, or a converted copy for ``"pyarrow"``.

    Raises:
        InputError: another backend name, or as :func:`to_arrow`.
    """
    return backend_converter(dtype_backend)(frame)


def backend_converter(
    dtype_backend: DtypeBackend | None,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """What a read does to each frame it returns for this ``dtype_backend=``, name checked now.

    A read calls it before its first request, so a wrong name is refused with nothing sent,
    then passes each page through the function it returns (:func:`with_backend` of a page).

    Args:
        dtype_backend: ``"pyarrow"``, ``"numpy_nullable"`` or None.

    Returns:
        The identity, or a function giving a frame (and its child frames) ``pd.ArrowDtype``
        columns of the :func:`to_arrow` schema.

    Raises:
        InputError: another backend name.
    """
    return _arrow_backed_read if _arrow_backend(dtype_backend) else _unchanged


def _unchanged(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _arrow_backed_read(frame: pd.DataFrame) -> pd.DataFrame:
    result = to_arrow_backed(frame)
    found = frame.attrs.get("children")
    if isinstance(found, frames.ChildFrames):
        result.attrs["children"] = frames.ChildFrames(
            {name: to_arrow_backed(child) for name, child in found.items()},
            parent_key=found.parent_key,
        )
    return result


def _arrow_backend(dtype_backend: DtypeBackend | None) -> bool:
    if dtype_backend not in (None, "numpy_nullable", "pyarrow"):
        raise InputError(
            "dtype_backend must be 'pyarrow' or 'numpy_nullable'",
            field="dtype_backend",
            value=dtype_backend,
        )
    return dtype_backend == "pyarrow"


def pages_with_backend(
    pages: Iterable[pd.DataFrame], dtype_backend: DtypeBackend | None
) -> Iterator[pd.DataFrame]:
    """Each page through :func:`with_backend`, as it comes (memory: one page of objects).

    A generator: the name is checked when the first page is asked for, which is before the
    read's first request when ``pages`` is a lazy read (an ``iter_*`` call).

    Args:
        pages: the pages of a read.
        dtype_backend: ``"pyarrow"``, ``"numpy_nullable"`` or None.

    Yields:
        Each page, converted to ``pd.ArrowDtype`` columns when ``"pyarrow"`` is asked.

    Raises:
        InputError: another backend name (refused before the first page is read), or as
            :func:`to_arrow`.
    """
    convert = backend_converter(dtype_backend)  # refused before the first request
    for page in pages:
        yield convert(page)


@pd.api.extensions.register_dataframe_accessor("isync")
class IsyncAccessor:
    """``frame.isync``: the Arrow conversions of this module as methods of any DataFrame.

    Registered when :mod:`intacct_sync` is imported; the column kinds come from
    ``frame.attrs["kinds"]`` (recorded by every read), else from the dtypes (see
    :func:`kinds_of`).

    >>> entries = ia.query("GLENTRY", select=["RECORDNO", "TRX_AMOUNT"])  # doctest: +SKIP
    >>> entries.isync.to_parquet("glentry.parquet")  # doctest: +SKIP
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    @property
    def kinds(self) -> dict[str, frames.Kind]:
        """Each column's kind (:func:`kinds_of`)."""
        return kinds_of(self._frame)

    def schema(
        self,
        *,
        kinds: Mapping[str, frames.Kind] | None = None,
        scales: Mapping[str, int] | None = None,
    ) -> pa.Schema:
        """The Arrow schema :meth:`to_arrow` gives (:func:`arrow_schema`).

        Args:
            kinds: column -> kind, for columns whose kind the frame does not record.
            scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).

        Returns:
            The schema, one field per column, each carrying its kind in its metadata.

        Raises:
            InputError: a column has no kind to map (give it in ``kinds``), or a scale is
                outside 0..38.
        """
        return arrow_schema(kinds_of(self._frame, kinds), scales=scales)

    def to_arrow(
        self,
        *,
        kinds: Mapping[str, frames.Kind] | None = None,
        scales: Mapping[str, int] | None = None,
    ) -> pa.Table:
        """The frame as an Arrow table (:func:`to_arrow`).

        Args:
            kinds: column -> kind, for columns whose kind the frame does not record.
            scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).

        Returns:
            An Arrow table with money as exact ``decimal128`` values.

        Raises:
            InputError: as :func:`to_arrow`.
        """
        return to_arrow(self._frame, kinds=kinds, scales=scales)

    def to_parquet(
        self,
        path: str | os.PathLike[str],
        *,
        kinds: Mapping[str, frames.Kind] | None = None,
        scales: Mapping[str, int] | None = None,
        compression: str = "zstd",
    ) -> None:
        """Write the frame to a Parquet file (:func:`to_parquet`).

        ``df.isync.to_parquet("gl.parquet")`` keeps money exact and records each column's kind.

        Args:
            path: the file to write.
            kinds: column -> kind, for columns whose kind the frame does not record.
            scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).
            compression: the Parquet codec.

        Raises:
            InputError: as :func:`to_arrow`.
        """
        to_parquet(self._frame, path, kinds=kinds, scales=scales, compression=compression)

    def to_arrow_backed(
        self,
        *,
        kinds: Mapping[str, frames.Kind] | None = None,
        scales: Mapping[str, int] | None = None,
    ) -> pd.DataFrame:
        """The frame with ``pd.ArrowDtype`` columns (:func:`to_arrow_backed`).

        Args:
            kinds: column -> kind, for columns whose kind the frame does not record.
            scales: column -> decimal places of a money column (default ``DEFAULT_SCALE``).

        Returns:
            A new DataFrame with the same index and ``attrs``, money still exact.

        Raises:
            InputError: as :func:`to_arrow`.
        """
        return to_arrow_backed(self._frame, kinds=kinds, scales=scales)
