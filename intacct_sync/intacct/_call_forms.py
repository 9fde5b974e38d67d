"""The call forms of :class:`~intacct_sync.IntacctClient`: what a constructor or a write was given.

Kept apart from the client so the rules (exactly the credentials given; the object first; the
old forms for one release, with a ``DeprecationWarning``) are read in one place and can be
shared by the REST client.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, TypeVar

import pandas as pd

from intacct_sync.config import DEFAULT_INTACCT_ENDPOINT, IntacctCredentials
from intacct_sync.errors import ConfigError, InputError
from intacct_sync.intacct.models import IntacctRecord

__all__ = [
    "DeleteByName",
    "WriteByName",
    "WriteRecords",
    "check_model_objects",
    "explicit_credentials",
    "one_of",
    "write_arguments",
]

#: What ``create`` and ``update`` write: models, mappings of Intacct field names, DataFrame rows.
WriteRecords = pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]]


class WriteByName(TypedDict, total=False):
    # The positional parameters by name (ia.create(object="X", records=rows)); object= after
    # records is also the pre-symmetry form ia.create(records, object="X"), kept one release.
    object: str
    records: WriteRecords


class DeleteByName(TypedDict, total=False):
    object: str
    ids: Iterable[int | str]
    # ia.delete(object, keys=[...]): the pre-symmetry keyword, kept one release.
    keys: Iterable[int | str]


_T = TypeVar("_T")


def one_of(op: str, name: str, positional: _T | None, keyword: _T | None) -> _T | None:
    if positional is not None and keyword is not None:
        raise TypeError(f"{op}() got {name} twice (positionally and by name)")
    return keyword if positional is None else positional


def write_arguments(
    op: str,
    object: str | WriteRecords | None,
    records: WriteRecords | None,
    by_name: WriteByName,
) -> tuple[str | None, WriteRecords]:
    if object is not None and not isinstance(object, str):
        # ia.create(records, object="X") or ia.create(models): the old form.
        if records is not None or "records" in by_name:
            raise TypeError(f"{op}() takes the object first: ia.{op}(object, records)")
        warnings.warn(
            f"ia.{op}(records, object=...) is deprecated and will be removed in the next "
            f"release; use ia.{op}(object, records)",
            DeprecationWarning,
            stacklevel=3,
        )
        return by_name.get("object"), object
    obj: str | None = one_of(op, "object", object, by_name.get("object"))
    items = by_name.get("records") if records is None else records
    if records is not None and "records" in by_name:
        raise TypeError(f"{op}() got records twice (positionally and by name)")
    if obj is None or items is None:
        raise TypeError(f"{op}() needs the object and the records: ia.{op}(object, records)")
    if not isinstance(items, pd.DataFrame):
        items = list(items)
        check_model_objects(obj, items)
    return obj, items


def check_model_objects(obj: str, items: WriteRecords) -> None:
    # A model knows its object; writing a JournalEntry "as" a CUSTOMER is a caller's mistake,
    # caught before anything is sent.
    if isinstance(items, pd.DataFrame):
        return
    for row, item in enumerate(items):
        model_obj = getattr(item, "OBJECT", None)
        if not isinstance(item, Mapping) and model_obj and model_obj.upper() != obj.upper():
            raise InputError(
                f"a {type(item).__name__} is written as {model_obj}, not {obj}",
                row=row,
                field="OBJECT",
                value=model_obj,
            )


_REQUIRED = ("sender_id", "sender_password", "company_id", "user_id", "user_password")


def explicit_credentials(given: Mapping[str, str | None]) -> IntacctCredentials:
    # Exactly what was given: an empty value is an error, never a cue to read INTACCT_* or a
    # profile (a fully specified client must not change with the environment it runs in).
    missing = [name for name in _REQUIRED if not given[name]]
    if missing:
        raise ConfigError(
            f"IntacctClient needs {', '.join(f'{n}=' for n in missing)} (missing or empty); "
            "IntacctClient.from_env() reads the INTACCT_* variables and ~/.intacct instead"
        )
    return IntacctCredentials(
        sender_id=str(given["sender_id"]),
        sender_password=str(given["sender_password"]),
        company_id=str(given["company_id"]),
        user_id=str(given["user_id"]),
        user_password=str(given["user_password"]),
        entity_id=given["entity_id"],
        endpoint_url=given["endpoint_url"] or DEFAULT_INTACCT_ENDPOINT,
    )
