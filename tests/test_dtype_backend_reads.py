"""``dtype_backend=`` on every frame-returning read of both clients (issue 17).

For each read: ``"pyarrow"`` gives ``pd.ArrowDtype`` columns (child frames too) holding the same
values as the default read, money as exact ``decimal128(38, scale)``; a wrong name is refused
before the first request; the ``iter_*`` reads hand over each page converted before the later
pages are asked for. A last test walks the clients' public methods so that a new read cannot
forget the argument.
"""

from __future__ import annotations

import datetime as dt
import inspect
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest

from intacct_sync import IntacctClient, SalesforceClient, frames, sandbox
from intacct_sync._http.transport import HttpRequest, HttpResponse, RequestsTransport, Timeout
from intacct_sync.errors import InputError
from intacct_sync.intacct.rest import IntacctRestClient
from intacct_sync.testing import MockTransport

pa = pytest.importorskip("pyarrow")

from intacct_sync import arrow  # noqa: E402 - after the importorskip

GL_SELECT = ["RECORDNO", "ENTRY_DATE", "ACCOUNTNO", "AMOUNT", "TRX_AMOUNT"]
OPPORTUNITIES = "SELECT Id, Name, Amount, CloseDate, IsWon FROM Opportunity"
WITH_LINES = (
    "SELECT Id, Amount, (SELECT Quantity, UnitPrice FROM OpportunityLineItems) FROM Opportunity"
)
#: Opportunities seeded beyond the demo's, so a 200-row Salesforce page is not the only one
SEEDED = 450


class Counting:
    """A transport that counts the requests it sends (below every client's retry layer)."""

    def __init__(self) -> None:
        self.inner = RequestsTransport()
        self.sent = 0
        self._lock = threading.Lock()

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        with self._lock:
            self.sent += 1
        return self.inner.send(request, timeout=timeout)

    def close(self) -> None:
        self.inner.close()


Client = IntacctClient | SalesforceClient
Result = pd.DataFrame | list[pd.DataFrame] | Iterator[pd.DataFrame]


@attrs.frozen
class Read:
    """One read: which client it needs and how to call it with a ``dtype_backend``."""

    name: str
    system: str  # "xml", "rest" (IntacctClient over REST) or "sf"
    call: Callable[[Any, Any], Result]
    money: tuple[str, ...] = ()  # decimal columns the read must return exact
    children: str | None = None  # the relationship whose child frames must be converted too
    compare: tuple[str, ...] | None = None  # the columns equal between two reads (None: all)

    @property
    def lazy(self) -> bool:
        return self.name.startswith("iter_")


def _intacct_reads(system: str) -> list[Read]:
    return [
        Read(
            "query",
            system,
            lambda ia, b: ia.query("GLENTRY", select=GL_SELECT, page_size=40, dtype_backend=b),
            money=("AMOUNT", "TRX_AMOUNT"),
        ),
        Read(
            "iter_query",
            system,
            lambda ia, b: ia.iter_query("GLENTRY", select=GL_SELECT, page_size=20, dtype_backend=b),
            money=("AMOUNT", "TRX_AMOUNT"),
        ),
        Read(
            "read_by_query",
            system,
            lambda ia, b: ia.read_by_query(
                "GLENTRY", fields=GL_SELECT, page_size=40, dtype_backend=b
            ),
            money=("AMOUNT", "TRX_AMOUNT"),
        ),
        Read(
            "iter_read_by_query",
            system,
            lambda ia, b: ia.iter_read_by_query(
                "GLENTRY", fields=GL_SELECT, page_size=20, dtype_backend=b
            ),
            money=("AMOUNT", "TRX_AMOUNT"),
        ),
        Read(
            "read",
            system,
            lambda ia, b: ia.read("GLBATCH", [1, 2, 3], dtype_backend=b),
            children="ENTRIES",
        ),
        Read(
            "read_by_name",
            system,
            lambda ia, b: ia.read_by_name("GLACCOUNT", ["1000", "4000"], dtype_backend=b),
        ),
        Read("dimensions", system, lambda ia, b: ia.dimensions(dtype_backend=b)),
        Read("lookup", system, lambda ia, b: ia.lookup("GLACCOUNT", dtype_backend=b)),
        Read(
            "read_by_query_batch",
            system,
            lambda ia, b: ia.read_by_query_batch(
                [("GLACCOUNT", "", ["ACCOUNTNO", "TITLE"]), ("DEPARTMENT", "", ["*"])],
                dtype_backend=b,
            ),
        ),
    ]


READS: list[Read] = [
    *_intacct_reads("xml"),
    *_intacct_reads("rest"),
    Read("inspect", "xml", lambda ia, b: ia.inspect("GLACCOUNT", dtype_backend=b)),
    Read("query", "sf", lambda sf, b: sf.query(OPPORTUNITIES, dtype_backend=b), money=("Amount",)),
    Read(
        "query (children)",
        "sf",
        lambda sf, b: sf.query(WITH_LINES, dtype_backend=b),
        money=("Amount",),
        children="OpportunityLineItems",
    ),
    Read(
        "query_all",
        "sf",
        lambda sf, b: sf.query_all(OPPORTUNITIES, dtype_backend=b),
        money=("Amount",),
    ),
    Read(
        "iter_query",
        "sf",
        lambda sf, b: sf.iter_query(OPPORTUNITIES, dtype_backend=b),
        money=("Amount",),
    ),
    Read(
        "bulk_query",
        "sf",
        lambda sf, b: sf.bulk_query(OPPORTUNITIES, dtype_backend=b),
        money=("Amount",),
    ),
    Read("sobjects", "sf", lambda sf, b: sf.sobjects(dtype_backend=b)),
    # Remaining and Used move with every request, the limits themselves do not.
    Read("limits", "sf", lambda sf, b: sf.limits(dtype_backend=b), compare=("Name", "Max")),
]


def _id(read: Read) -> str:
    return f"{read.system}-{read.name}"


@pytest.fixture(scope="module")
def seeded(shared_sb: sandbox.Sandbox) -> sandbox.Sandbox:
    shared_sb.salesforce.seed_bulk("Opportunity", SEEDED)
    return shared_sb


def _client(sb: sandbox.Sandbox, system: str, transport: Counting | None = None) -> Client:
    options: dict[str, Any] = {} if transport is None else {"transport": transport}
    if system == "sf":
        return sb.salesforce_client(batch_size=200, **options)
    return sb.intacct_client(protocol="rest" if system == "rest" else "xml", **options)


@pytest.fixture(scope="module")
def clients(seeded: sandbox.Sandbox) -> Iterator[dict[str, Client]]:
    made = {system: _client(seeded, system) for system in ("xml", "rest", "sf")}
    yield made
    for client in made.values():
        client.close()


def _frames(result: Result) -> list[pd.DataFrame]:
    return [result] if isinstance(result, pd.DataFrame) else list(result)


def _all_arrow(frame: pd.DataFrame) -> bool:
    return all(isinstance(dtype, pd.ArrowDtype) for dtype in frame.dtypes)


def _values(series: pd.Series[Any]) -> list[Any]:
    return [None if pd.isna(v) else v for v in series]


def _assert_same_read(plain: pd.DataFrame, backed: pd.DataFrame, read: Read) -> None:
    assert _all_arrow(backed), backed.dtypes
    assert list(backed.columns) == list(plain.columns)
    # Kinds kept; a child frame's parent_id, which its read does not record, is recorded too.
    assert backed.attrs["kinds"] == arrow.kinds_of(plain)
    assert plain.attrs["kinds"].items() <= backed.attrs["kinds"].items()
    columns = list(read.compare or plain.columns)
    # One schema from the kinds, so equal tables mean equal values, nothing rounded.
    assert arrow.to_arrow(backed[columns]).equals(arrow.to_arrow(plain[columns]))


@pytest.mark.parametrize("read", READS, ids=_id)
def test_pyarrow_backend_gives_arrow_columns_with_the_default_reads_values(
    read: Read, clients: dict[str, Client]
) -> None:
    client = clients[read.system]
    plain_pages = _frames(read.call(client, None))
    backed_pages = _frames(read.call(client, "pyarrow"))
    assert len(backed_pages) == len(plain_pages)
    for plain, backed in zip(plain_pages, backed_pages, strict=True):
        assert not any(isinstance(t, pd.ArrowDtype) for t in plain.dtypes)
        _assert_same_read(plain, backed, read)
    plain = frames.concat_pages(plain_pages)
    backed = frames.concat_pages(backed_pages)
    for column in read.money:
        assert len(backed) > 0
        dtype = backed[column].dtype.pyarrow_dtype
        assert pa.types.is_decimal128(dtype)
        assert (dtype.precision, dtype.scale) == (arrow.PRECISION, arrow.DEFAULT_SCALE)
        exact = _values(backed[column])
        assert all(isinstance(v, Decimal) for v in exact if v is not None)
        assert exact == _values(plain[column])
    if read.children is not None:
        plain_children = plain.attrs["children"][read.children]
        backed_children = backed.attrs["children"][read.children]
        assert len(backed_children) > 0
        _assert_same_read(plain_children, backed_children, read)
        assert backed.attrs["children"].parent_key == plain.attrs["children"].parent_key
        # Children still join their (Arrow-backed) parents by id after a cut of the parents.
        some = frames.children(backed.head(1), read.children)
        assert len(some) > 0
        assert _values(some[frames.PARENT_ID]) == _values(
            frames.children(plain.head(1), read.children)[frames.PARENT_ID]
        )


def test_numpy_nullable_keeps_the_typed_dtypes(clients: dict[str, Client]) -> None:
    ia = clients["xml"]
    assert isinstance(ia, IntacctClient)
    page = next(iter(ia.iter_query("GLENTRY", select=GL_SELECT, dtype_backend="numpy_nullable")))
    assert page["AMOUNT"].dtype == object
    assert page["RECORDNO"].dtype == "Int64"
    sf = clients["sf"]
    assert isinstance(sf, SalesforceClient)
    assert sf.query_all(OPPORTUNITIES, dtype_backend="numpy_nullable")["Amount"].dtype == object


@pytest.mark.parametrize("read", READS, ids=_id)
def test_a_wrong_backend_name_is_refused_before_any_request(
    read: Read, seeded: sandbox.Sandbox
) -> None:
    wire = Counting()
    client = _client(seeded, read.system, wire)
    with client, pytest.raises(InputError) as caught:
        _frames(read.call(client, "numpy"))
    assert caught.value.field == "dtype_backend"
    assert caught.value.value == "numpy"
    assert wire.sent == 0  # not even a sign-in, a describe or a lookup


LAZY = [read for read in READS if read.lazy]


def test_every_iterator_form_is_in_the_lazy_test() -> None:
    assert {_id(r) for r in LAZY} == {
        "xml-iter_query",
        "xml-iter_read_by_query",
        "rest-iter_query",
        "rest-iter_read_by_query",
        "sf-iter_query",
    }


@pytest.mark.parametrize("read", LAZY, ids=_id)
def test_iterators_hand_over_each_page_converted_before_asking_for_the_rest(
    read: Read, seeded: sandbox.Sandbox
) -> None:
    wire = Counting()
    client = _client(seeded, read.system, wire)
    with client:
        pages = read.call(client, "pyarrow")
        assert not isinstance(pages, pd.DataFrame | list)
        first = next(pages)
        after_first = wire.sent
        assert len(first) > 0
        assert _all_arrow(first)
        rest = list(pages)
    assert len(rest) >= 2
    assert all(_all_arrow(page) for page in rest)
    # Pages were still being fetched after the first was handed over: nothing read ahead of
    # the caller beyond the governor's few pages in flight.
    assert wire.sent >= after_first + 2


# -- every frame-returning read takes dtype_backend --------------------------------------------

#: public methods that return frames but are not reads of records or definitions
NOT_READS = {
    # writes: the outcome contract (intacct_sync.outcomes), not data read from a system
    "create",
    "update",
    "upsert",
    "delete",
    "create_sales_orders",
    # the child rows of a frame already read: Arrow-backed when that read was
    "children",
}


def _frame_returning(cls: type) -> dict[str, inspect.Signature]:
    found = {}
    for name, member in inspect.getmembers(cls, callable):
        if name.startswith("_"):
            continue
        signature = inspect.signature(member)
        if "DataFrame" in str(signature.return_annotation):
            found[name] = signature
    return found


@pytest.mark.parametrize("cls", [IntacctClient, IntacctRestClient, SalesforceClient])
def test_every_frame_returning_read_takes_dtype_backend(cls: type) -> None:
    methods = _frame_returning(cls)
    reads = {name: s for name, s in methods.items() if name not in NOT_READS}
    assert {"query", "iter_query"} <= set(reads)  # the walk finds the reads at all
    missing = sorted(name for name, s in reads.items() if "dtype_backend" not in s.parameters)
    assert missing == [], f"{cls.__name__} reads without dtype_backend=: {missing}"
    for name, signature in reads.items():
        parameter = signature.parameters["dtype_backend"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is None, name
        doc = inspect.getdoc(getattr(cls, name)) or ""
        assert "dtype_backend:" in doc, f"{cls.__name__}.{name} documents no dtype_backend"


def test_deleted_records_come_arrow_backed_from_the_conformance_sample(
    conformance: Path,
) -> None:
    # The sandbox has no getDeleted resource: the real answer is served instead.
    sample = (conformance / "salesforce" / "sobject_get_deleted.json").read_bytes()

    def answer(request: HttpRequest) -> HttpResponse:
        assert "/sobjects/Contact/deleted/" in request.url
        return HttpResponse(status=200, headers={"Content-Type": "application/json"}, body=sample)

    wire = MockTransport(answer)
    sf = SalesforceClient("https://example.my.salesforce.com", "token", transport=wire)
    start = dt.datetime(2013, 5, 1, tzinfo=dt.UTC)
    end = dt.datetime(2013, 5, 9, tzinfo=dt.UTC)
    with pytest.raises(InputError):
        sf.deleted("Contact", start=start, end=end, dtype_backend="numpy")  # type: ignore[arg-type]
    assert wire.requests == []
    plain = sf.deleted("Contact", start=start, end=end)
    backed = sf.deleted("Contact", start=start, end=end, dtype_backend="pyarrow")
    _assert_same_read(plain, backed, Read("deleted", "sf", lambda sf, b: plain))
    assert backed["deletedDate"].dtype.pyarrow_dtype == pa.timestamp("us", tz="UTC")
    assert backed.loc[0, "deletedDate"] == pd.Timestamp("2013-05-07T22:07:19Z")


def test_every_read_the_walk_finds_is_exercised_above() -> None:
    tested = {(r.system, r.name.split(" ")[0]) for r in READS} | {("sf", "deleted")}
    for system, cls in (("xml", IntacctClient), ("sf", SalesforceClient)):
        reads = set(_frame_returning(cls)) - NOT_READS
        assert {name for s, name in tested if s == system} == reads
