"""What one emulated function sees (:class:`Ctx`) and returns (:class:`FnResult`), and the
readByQuery result sets that readMore continues (:class:`ResultSets`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime

import attrs
from lxml import etree

from intacct_sync.sandbox.intacct.schema import ObjectDef
from intacct_sync.sandbox.intacct.store import Row, Store
from intacct_sync.sandbox.intacct.xml import Err

__all__ = ["Ctx", "FnResult", "FunctionFailed", "ResultSet", "ResultSets", "wire_now"]


def wire_now(now: datetime) -> str:
    """``mm/dd/yyyy HH:MM:SS`` (the wire's naive audit timestamp)."""
    return now.strftime("%m/%d/%Y %H:%M:%S")


class FunctionFailed(Exception):
    """A function's failure: its errors, and data written before the failure (if any)."""

    def __init__(self, *errors: Err, data: etree._Element | None = None, written: int = 0) -> None:
        super().__init__(errors[0].description2 or errors[0].errorno if errors else "failed")
        self.errors = list(errors)
        self.data = data
        self.written = written


@attrs.define(kw_only=True)
class FnResult:
    """One ``<result>``."""

    function: str
    controlid: str
    status: str = "success"
    data: etree._Element | None = None
    key: str | None = None
    errors: list[Err] = attrs.field(factory=list)
    #: records this function wrote (0 for reads); the write counts once committed
    written: int = 0


@attrs.define(kw_only=True)
class ResultSet:
    """A readByQuery answer snapshotted at query time."""

    company: str
    obj: ObjectDef
    tag: str
    columns: tuple[str, ...]
    indexes: tuple[int, ...]
    extra_index: int | None
    rows: Sequence[Row]
    pagesize: int
    position: int
    expires: float


class ResultSets:
    """readByQuery result sets by resultId, expiring ``ttl`` seconds after their last use."""

    def __init__(self) -> None:
        self._sets: dict[str, ResultSet] = {}
        self._latest: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def add(self, rs: ResultSet) -> str:
        """Store ``rs``; returns its new resultId."""
        result_id = f"{int(time.time()):010d}" + secrets.token_urlsafe(18)
        with self._lock:
            self._prune()
            self._sets[result_id] = rs
            self._latest[(rs.company, rs.obj.name)] = result_id
        return result_id

    def get(self, company: str, result_id: str) -> ResultSet | None:
        """The live set ``result_id`` of ``company``, or None."""
        with self._lock:
            rs = self._sets.get(result_id)
            if rs is None or rs.company != company:
                return None
            if rs.expires < time.monotonic():
                del self._sets[result_id]
                return None
            return rs

    def latest(self, company: str, object_name: str) -> str | None:
        """ResultId of the latest readByQuery of ``object_name`` (readMore by object)."""
        with self._lock:
            return self._latest.get((company, object_name))

    def drop(self, result_id: str) -> None:
        """Forget ``result_id`` (read to the end)."""
        with self._lock:
            self._sets.pop(result_id, None)

    def expire_all(self) -> None:
        """Make every resultId invalid."""
        with self._lock:
            self._sets.clear()
            self._latest.clear()

    def _prune(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._sets.items() if v.expires < now]:
            del self._sets[key]


@attrs.define(kw_only=True)
class Ctx:
    """The state one function runs with."""

    store: Store
    company: str
    controlid: str
    now: datetime
    results: ResultSets
    result_ttl: float
    #: per-function cache: object name -> {ID: STATUS}, for reference checks
    id_cache: dict[str, dict[str, str]] = attrs.field(factory=dict)
    #: books closed through this date (inclusive): entries dated on or before it are refused
    closed_through: date | None = None
    #: per-function cache: journal symbol -> last BATCHNO
    batchnos: dict[str, int] = attrs.field(factory=dict)

    @property
    def stamp(self) -> str:
        """The function's audit timestamp."""
        return wire_now(self.now)

    def ref_ids(self, obj: ObjectDef) -> dict[str, str]:
        """What a reference to ``obj`` names -> STATUS: its ID field, or a platform object's
        integer ``id`` (``GLDIM<name>`` takes the UDD record's id, reference §13.5).
        """
        if not obj.platform:
            return self.ids(obj)
        key = obj.name + "#key"
        if key not in self.id_cache:
            self.id_cache[key] = self.store.key_status(self.company, obj)
        return self.id_cache[key]

    def ids(self, obj: ObjectDef) -> dict[str, str]:
        """ID -> STATUS of every ``obj`` record (cached for the function)."""
        if obj.name not in self.id_cache:
            self.id_cache[obj.name] = self.store.id_status(self.company, obj)
        return self.id_cache[obj.name]
