"""dlt sources: Intacct objects and SOQL queries into a warehouse, incrementally, as Arrow.

>>> import dlt
>>> from intacct_sync.integrations.dlt import intacct_source, salesforce_source
>>> pipeline = dlt.pipeline("books", destination="duckdb", dataset_name="sage_intacct")  # doctest: +SKIP
>>> pipeline.run(intacct_source(ia, objects=["GLACCOUNT", "GLBATCH", "GLENTRY"]))  # doctest: +SKIP
>>> pipeline.run(salesforce_source(sf, queries={"account": "SELECT Id, Name, SystemModstamp FROM Account"}))  # doctest: +SKIP

Each Intacct object is one resource (table name from :data:`TABLE_NAMES`, the names the dbt
package for Sage Intacct reads; see ``docs/warehouse.md``), each query one resource named by
its key. Every resource:

* reads pages with the client's ``iter_query`` and yields each as an Arrow table
  (:func:`intacct_sync.arrow.to_arrow`: a schema fixed by the column kinds, money exact);
* is incremental on the modified timestamp (Intacct ``WHENMODIFIED``, Salesforce
  ``SystemModstamp`` by default) through ``dlt.sources.incremental``: the next run asks the
  server only for records modified at or after the newest one already loaded;
* merges on the record key (Intacct ``RECORDNO``, Salesforce ``Id``), so a record changed
  since the last run replaces its row.

The boundary is closed (``>=``) and dlt's boundary de-duplication is off: the timestamps have
one-second resolution, and a record modified again within the second of the last run's newest
row would otherwise be skipped for good. The rows at that one timestamp are therefore loaded
again each run; the merge keeps one copy of each.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dlt

from intacct_sync import arrow
from intacct_sync.errors import InputError
from intacct_sync.intacct.filters import greater_than_or_equal_to
from intacct_sync.salesforce.soql import identifier, literal

if TYPE_CHECKING:
    from dlt.extract.source import DltSource

    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient

__all__ = ["TABLE_NAMES", "intacct_source", "salesforce_source", "since_clause"]

#: Intacct object -> table name, as the Fivetran connector names its tables and the dbt package
#: ``fivetran/dbt_sage_intacct_source`` reads them (reference/intacct-api.md §13.2 [FIVETRAN]:
#: ``get_gl_entry_columns``, ``get_gl_batch_columns``, ``get_gl_detail_columns``,
#: ``get_gl_account_columns``). Other objects get their name in lower case.
TABLE_NAMES: Mapping[str, str] = {
    "GLENTRY": "gl_entry",
    "GLBATCH": "gl_batch",
    "GLDETAIL": "gl_detail",
    "GLACCOUNT": "gl_account",
}
INTACCT_CURSOR = "WHENMODIFIED"
INTACCT_KEY = "RECORDNO"
SALESFORCE_KEY = "Id"


def _naive(value: Any) -> dt.datetime | None:
    """Dlt's last value as the wire's naive wall-clock datetime.

    Intacct timestamps carry no zone (reference/intacct-api.md §7) and the Arrow column is a
    naive ``timestamp[us]``; dlt may hand the value back tagged UTC, without shifting it.
    """
    return None if value is None else _datetime(value).replace(tzinfo=None)


def _datetime(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InputError("the incremental cursor is not a datetime", value=value)
    return value


def intacct_source(
    ia: IntacctClient,
    objects: Sequence[str] | Mapping[str, Sequence[str] | None],
    *,
    initial_value: dt.datetime | None = None,
    page_size: int | None = None,
    scales: Mapping[str, int] | None = None,
    table_names: Mapping[str, str] | None = None,
    lag_seconds: float | None = None,
) -> DltSource:
    """A dlt source with one resource per Intacct object.

    Args:
        ia: the Intacct client.
        objects: object names (every field of each is read, from its ``lookup``), or object
            -> field list (``None``: every field). The fields must include ``RECORDNO`` and
            ``WHENMODIFIED``; they are added when missing (so platform objects keyed by
            ``id``, such as user-defined dimensions, are not supported, reference §13.5).
        initial_value: read only records modified at or after this (naive, Intacct's clock)
            on the first run; default: everything.
        page_size: records per ``query`` page.
        scales: decimal column -> scale (see :mod:`intacct_sync.arrow`).
        table_names: object -> table name, overriding :data:`TABLE_NAMES`.
        lag_seconds: look back this far behind the newest loaded timestamp each run (for
            records committed late with an earlier stamp); the merge absorbs the repeats.

    Returns:
        The source (``intacct``); run it with ``pipeline.run(...)``.
    """
    wanted = {name: None for name in objects} if not isinstance(objects, Mapping) else dict(objects)
    names = {**TABLE_NAMES, **(table_names or {})}

    def read(obj: str, fields: Sequence[str] | None) -> Any:
        # primary_key=(): no boundary de-duplication (see the module docstring).
        cursor = dlt.sources.incremental(
            INTACCT_CURSOR, initial_value=initial_value, primary_key=(), lag=lag_seconds
        )

        def pages(modified: dlt.sources.incremental[dt.datetime] = cursor) -> Iterator[Any]:
            select = list(fields) if fields is not None else list(ia.field_kinds(obj))
            for required in (INTACCT_KEY, INTACCT_CURSOR):
                if required not in select:
                    select.append(required)
            since = _naive(modified.start_value)
            # Pushed down to Intacct as `query` filter WHENMODIFIED >= since (§2.5 `query`
            # operators; timestamps as mm/dd/yyyy HH:MM:SS, §7), so a run reads only changes.
            where = None if since is None else greater_than_or_equal_to(INTACCT_CURSOR, since)
            for page in ia.iter_query(
                obj,
                select=select,
                filter=where,
                order_by=[(INTACCT_CURSOR, "ascending")],
                page_size=page_size,
            ):
                if len(page):
                    yield _keyed(arrow.to_arrow(page, scales=scales), INTACCT_KEY, obj)

        return dlt.resource(
            pages,
            name=names.get(obj.upper(), obj.lower()),
            primary_key=INTACCT_KEY,
            write_disposition="merge",
        )

    @dlt.source(name="intacct")
    def source() -> Any:
        return [read(obj, fields) for obj, fields in wanted.items()]

    built: DltSource = source()
    return built


def salesforce_source(
    sf: SalesforceClient,
    queries: Mapping[str, str],
    *,
    cursor_field: str = "SystemModstamp",
    initial_value: dt.datetime | None = None,
    scales: Mapping[str, int] | None = None,
    include_deleted: bool = False,
    lag_seconds: float | None = None,
) -> DltSource:
    """A dlt source with one resource per SOQL query.

    Args:
        sf: the Salesforce client.
        queries: resource (table) name -> SOQL. Each must select ``Id`` and the cursor field;
            the source adds ``cursor_field >= <newest loaded>`` to its WHERE clause.
        cursor_field: ``SystemModstamp`` (default: it also moves on system changes) or
            ``LastModifiedDate``.
        initial_value: timezone-aware start for the first run; default: everything.
        scales: decimal column -> scale (see :mod:`intacct_sync.arrow`).
        include_deleted: read through ``queryAll`` (deleted rows arrive with ``IsDeleted``
            true when it is selected).
        lag_seconds: look back this far behind the newest loaded timestamp each run.

    Returns:
        The source (``salesforce``).

    Raises:
        InputError: the cursor field is not a plain field name.
    """
    identifier(cursor_field)

    def read(name: str, query: str) -> Any:
        # primary_key=(): no boundary de-duplication (see the module docstring).
        cursor = dlt.sources.incremental(
            cursor_field, initial_value=initial_value, primary_key=(), lag=lag_seconds
        )

        def pages(modified: dlt.sources.incremental[dt.datetime] = cursor) -> Iterator[Any]:
            since = modified.start_value
            soql = query if since is None else since_clause(query, cursor_field, _aware(since))
            for page in sf.iter_query(soql, include_deleted=include_deleted):
                for column in (SALESFORCE_KEY, cursor_field):
                    if column not in page.columns:
                        raise InputError(
                            f"the {name!r} query must select {column}", field=column, value=query
                        )
                if len(page):
                    yield _keyed(arrow.to_arrow(page, scales=scales), SALESFORCE_KEY, name)

        return dlt.resource(pages, name=name, primary_key=SALESFORCE_KEY, write_disposition="merge")

    @dlt.source(name="salesforce")
    def source() -> Any:
        return [read(name, query) for name, query in queries.items()]

    built: DltSource = source()
    return built


def _keyed(table: Any, key: str, where: str) -> Any:
    """The table with its key column declared not null, as the merge key is in dlt's schema
    (otherwise dlt warns on every page that the hints differ).
    """
    column = table.column(key)
    if column.null_count:
        raise InputError(f"{where}: a record without its {key} cannot be merged", field=key)
    index = table.schema.get_field_index(key)
    return table.cast(table.schema.set(index, table.schema.field(key).with_nullable(False)))


def _aware(value: Any) -> dt.datetime:
    stamp = _datetime(value)
    # Salesforce datetimes are UTC (the column is timestamp[us, tz=UTC]).
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.UTC)


_CLAUSES = re.compile(
    r"\b(WHERE|WITH|GROUP\s+BY|ORDER\s+BY|LIMIT|OFFSET|FOR|UPDATE)\b", re.IGNORECASE
)


def _top_level(soql: str) -> list[tuple[int, int, str]]:
    """Clause keywords outside quotes and parentheses: (start, end, keyword upper-cased)."""
    mask = []
    depth, quoted, escaped = 0, False, False
    for char in soql:
        if quoted:
            mask.append(False)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                quoted = False
            continue
        if char == "'":
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        mask.append(depth == 0 and not quoted and char not in "()")
    found = []
    for match in _CLAUSES.finditer(soql):
        if all(mask[match.start() : match.end()]):
            found.append((match.start(), match.end(), re.sub(r"\s+", " ", match.group(1).upper())))
    return found


def since_clause(soql: str, field: str, since: dt.datetime) -> str:
    """``soql`` with ``field >= since`` added to its top-level WHERE clause.

    An existing condition is kept in parentheses (``WHERE (a OR b) AND field >= ...``); the
    condition goes before ``WITH``, ``GROUP BY``, ``ORDER BY``, ``LIMIT``, ``OFFSET`` and
    ``FOR``. Keywords inside quoted strings and subqueries are left alone.

    Args:
        soql: the SOQL statement.
        field: the datetime field to bound.
        since: the lowest value (timezone-aware).

    Returns:
        The SOQL text with the condition added.

    Raises:
        InputError: ``field`` is not a field name, or ``since`` is naive.
    """
    condition = f"{identifier(field).name} >= {literal(since)}"
    clauses = _top_level(soql)
    where = next((c for c in clauses if c[2] == "WHERE"), None)
    after = [c for c in clauses if c[2] != "WHERE" and (where is None or c[0] > where[1])]
    end = after[0][0] if after else len(soql)
    if where is None:
        return f"{soql[:end].rstrip()} WHERE {condition} {soql[end:]}".rstrip()
    existing = soql[where[1] : end].strip()
    return f"{soql[: where[1]]} ({existing}) AND {condition} {soql[end:]}".rstrip()
