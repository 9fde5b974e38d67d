"""The public surface: what ``intacct_sync`` exports, and what the docs say the modules expose."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import intacct_sync
import intacct_sync.errors
import intacct_sync.intacct
import intacct_sync.salesforce
from intacct_sync import frames

# Written out literally: adding or removing a public name must change this test too.
EXPECTED_ALL = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ControlError",
    "FunctionError",
    "HttpRequest",
    "HttpResponse",
    "IncompleteWriteError",
    "InputError",
    "IntacctClient",
    "IntacctCredentials",
    "IntacctError",
    "IntacctSyncError",
    "ProtocolError",
    "RetryPolicy",
    "SalesforceAuthenticationError",
    "SalesforceClient",
    "SalesforceCredentials",
    "SalesforceError",
    "StateError",
    "Timeout",
    "Transport",
    "TransportError",
    "ValidationError",
    "__version__",
]

# docs/errors.md: the exception tree, child -> parent.
ERROR_TREE = {
    "IntacctSyncError": "Exception",
    "ConfigError": "IntacctSyncError",
    "UnsafeUrlError": "ConfigError",  # also a ProtocolError (docs/errors.md)
    "TransportError": "IntacctSyncError",
    "RequestTimeout": "TransportError",
    "DeadlineExceeded": "RequestTimeout",
    "GovernorTimeout": "TransportError",
    "ProtocolError": "IntacctSyncError",
    "ResponseTooLarge": "ProtocolError",
    "ApiError": "IntacctSyncError",
    "IntacctError": "ApiError",
    "ControlError": "IntacctError",
    "AuthenticationError": "IntacctError",
    "FunctionError": "IntacctError",
    "SalesforceError": "ApiError",
    "SalesforceAuthenticationError": "SalesforceError",
    "SalesforceLimitError": "SalesforceError",
    "InputError": "IntacctSyncError",
    "ValidationError": "IntacctSyncError",
    "IncompleteWriteError": "IntacctSyncError",
    "StateError": "IntacctSyncError",
    "LeaseHeldError": "StateError",
    "LeaseLostError": "StateError",
}


def test_all_is_sorted() -> None:
    assert intacct_sync.__all__ == sorted(intacct_sync.__all__)


def test_all_is_exactly_the_expected_names() -> None:
    assert sorted(intacct_sync.__all__) == EXPECTED_ALL
    assert len(set(intacct_sync.__all__)) == len(intacct_sync.__all__)


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("intacct_sync")
    assert getattr(module, name) is not None


def test_public_names_are_attributed_to_their_homes() -> None:
    # Re-exports are the same objects as in their home modules, not copies.
    assert intacct_sync.IntacctClient is intacct_sync.intacct.IntacctClient
    assert intacct_sync.SalesforceClient is intacct_sync.salesforce.SalesforceClient
    for name in ERROR_TREE:
        if name in EXPECTED_ALL:
            assert getattr(intacct_sync, name) is getattr(intacct_sync.errors, name)


def test_version_is_a_string() -> None:
    assert isinstance(intacct_sync.__version__, str)
    assert intacct_sync.__version__


def test_intacct_subpackage_exposes_the_client_and_outcome_columns() -> None:
    assert sorted(intacct_sync.intacct.__all__) == [
        "IntacctClient",
        "OUTCOME_COLUMNS",
        "create_control_id",
    ]
    # docs/intacct.md, "The outcome frame"
    assert list(intacct_sync.intacct.OUTCOME_COLUMNS) == [
        "row",
        "key",
        "id",
        "status",
        "done",
        "errors",
        "error_codes",
        "object",
        "function",
        "control_id",
        "RECORDNO",
    ]


def test_intacct_client_has_the_documented_methods() -> None:
    client = intacct_sync.IntacctClient
    for method in (
        "from_env",
        "close",
        "execute",
        "lookup",
        "field_kinds",
        "read_by_query",
        "iter_read_by_query",
        "query",
        "iter_query",
        "read",
        "read_by_name",
        "create",
        "update",
        "delete",
        "create_sales_orders",
    ):
        assert callable(getattr(client, method)), method


def test_errors_module_exports_every_documented_class() -> None:
    documented = set(ERROR_TREE) | {"ErrorDetail", "SalesforceErrorDetail"}
    assert set(intacct_sync.errors.__all__) == documented
    for name in intacct_sync.errors.__all__:
        assert hasattr(intacct_sync.errors, name), name


@pytest.mark.parametrize(("child", "parent"), sorted(ERROR_TREE.items()))
def test_error_tree_matches_the_docs(child: str, parent: str) -> None:
    cls = getattr(intacct_sync.errors, child)
    base = Exception if parent == "Exception" else getattr(intacct_sync.errors, parent)
    assert base in cls.__bases__


def test_value_errors_are_value_errors() -> None:
    # docs/errors.md: ConfigError, InputError and ValidationError are also ValueErrors.
    assert issubclass(intacct_sync.errors.ConfigError, ValueError)
    assert issubclass(intacct_sync.errors.InputError, ValueError)
    assert issubclass(intacct_sync.errors.ValidationError, ValueError)


DOCS = Path(__file__).resolve().parents[1] / "docs"


def _table_rows(page: str, first_header: str) -> list[list[str]]:
    """Cells of the Markdown table of ``page`` whose header row starts with ``first_header``."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split(" | ")])
    return rows


def test_kinds_table_in_the_guide_matches_frames() -> None:
    rows = _table_rows("intacct.md", "kind")
    documented = {kind: dtype.split("`")[0] for kind, dtype, *_ in rows}
    assert documented == {kind: frames.DTYPES[kind] for kind in frames.KINDS}


def test_outcome_columns_table_in_the_guide_matches_the_client() -> None:
    rows = _table_rows("intacct.md", "column")
    assert [(name, kind) for name, kind, *_ in rows] == list(
        intacct_sync.intacct.OUTCOME_COLUMNS.items()
    )
