"""The Salesforce protocol layer in one name: pure wire code, no I/O, no clock.

The code lives in one module per concern; this module gathers their public names so the clients
(and tests) say ``from intacct_sync.salesforce import _protocol as wire``:

* :mod:`._wire`: JSON and Bulk 2.0 CSV codecs, every error-body shape;
* :mod:`._select`: SOQL SELECT parsing;
* :mod:`._frames`: records -> typed frames (columns from SELECT and describe), children as data
  in the layout both clients share (:class:`intacct_sync.frames.ChildFrames`,
  :func:`intacct_sync.frames.children`, re-exported here);
* :mod:`._results`: write answers -> the outcome contract (:mod:`intacct_sync.outcomes`).
"""

from __future__ import annotations

from intacct_sync.frames import PARENT_ID, ChildFrames, children
from intacct_sync.salesforce._frames import (
    PARENT_KEY,
    Column,
    Describer,
    QueryPage,
    QueryShape,
    concat_pages,
    flatten,
    kind_for,
    record_id,
)
from intacct_sync.salesforce._results import (
    OUTCOME_EXTRAS,
    CompositeResult,
    IngestResult,
    Operation,
    SubrequestOutcome,
    bulk_outcomes,
    outcome,
    outcome_frame,
    outcome_rows,
    parse_composite,
    parse_graph,
    save_outcome,
)
from intacct_sync.salesforce._select import FieldItem, Select, SubqueryItem, parse_select
from intacct_sync.salesforce._wire import (
    COLLECTION_SIZE,
    RETRYABLE_CODES,
    dumps,
    error_from_response,
    loads,
    parse_bulk_error,
    parse_csv,
    prepare_records,
    records_to_csv,
    snippet,
)

__all__ = [
    "COLLECTION_SIZE",
    "OUTCOME_EXTRAS",
    "PARENT_ID",
    "PARENT_KEY",
    "RETRYABLE_CODES",
    "ChildFrames",
    "Column",
    "CompositeResult",
    "Describer",
    "IngestResult",
    "Operation",
    "QueryPage",
    "QueryShape",
    "FieldItem",
    "Select",
    "SubqueryItem",
    "SubrequestOutcome",
    "bulk_outcomes",
    "children",
    "concat_pages",
    "dumps",
    "error_from_response",
    "flatten",
    "kind_for",
    "loads",
    "outcome",
    "outcome_frame",
    "outcome_rows",
    "parse_bulk_error",
    "parse_composite",
    "parse_csv",
    "parse_graph",
    "parse_select",
    "prepare_records",
    "records_to_csv",
    "record_id",
    "save_outcome",
    "snippet",
]
