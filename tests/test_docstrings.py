"""Every public callable a user reaches says what it returns: ``help(ia.read_by_query)`` and the
API reference are where a finance analyst or a scripter learns what a call gives back.

The walk covers every public module the API reference documents or a user imports (``__all__``
of the top-level package, ``actions``, ``kpi``, ``o2c``, ``posting``, ``state``,
``integrations``, the two clients and the REST client, the filter builders, the models,
``frames``, ``reports``, ``arrow``, ``outcomes``, ``errors``, ``config``, ``testing``, the
Salesforce auth flows and SOQL helpers, and the ``Sandbox`` notebooks use), functions and the
public methods of public classes, inherited ones included. A callable annotated to return
something other than None needs a ``Returns:`` section (``Yields:`` for a generator or context
manager), one that takes arguments an ``Args:`` section naming each of them, and a ``Raises:``
section names only exception classes that exist (``intacct_sync.errors`` or built-in).
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from intacct_sync import errors

PACKAGES = [
    "intacct_sync.actions",
    "intacct_sync.kpi",
    "intacct_sync.o2c",
    "intacct_sync.posting",
    "intacct_sync.state",
    "intacct_sync.integrations",
]
MODULES = [
    "intacct_sync",
    "intacct_sync.journals",
    "intacct_sync.sync",
    "intacct_sync.intacct.client",
    "intacct_sync.intacct.filters",
    "intacct_sync.salesforce.client",
    "intacct_sync.frames",
    "intacct_sync.reports",
    "intacct_sync.arrow",
    "intacct_sync.outcomes",
    "intacct_sync.errors",
    "intacct_sync.config",
    "intacct_sync.testing",
    "intacct_sync.intacct",
    "intacct_sync.intacct.models",
    "intacct_sync.intacct.rest",
    "intacct_sync.intacct.rest.client",
    "intacct_sync.salesforce",
    "intacct_sync.salesforce.models",
    "intacct_sync.salesforce.soql",
    "intacct_sync.salesforce.auth",
    "intacct_sync.sandbox",
]


def _public_modules() -> Iterator[ModuleType]:
    names = list(MODULES)
    for package in PACKAGES:
        names.append(package)
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    for name in names:
        try:
            yield importlib.import_module(name)
        except ImportError as exc:  # an optional extra (dagster, dlt) that is not installed
            if not exc.name or exc.name.startswith("intacct_sync"):
                raise


def _ours(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("intacct_sync")


def _callables() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in _public_modules():
        # A module without ``__all__`` (``salesforce.soql``) exports what it defines publicly.
        names = getattr(module, "__all__", None) or [
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
        ]
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) and _ours(obj):
                for cls in obj.__mro__:
                    if not _ours(cls):
                        continue
                    for attr, value in vars(cls).items():
                        if attr.startswith("_"):
                            continue
                        if isinstance(value, staticmethod | classmethod):
                            value = value.__func__
                        if inspect.isfunction(value):
                            found.setdefault(f"{cls.__module__}.{cls.__qualname__}.{attr}", value)
            elif inspect.isfunction(obj) and _ours(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


CALLABLES = _callables()


def _returns_something(fn: Callable[..., Any]) -> bool:
    annotation = inspect.signature(fn).return_annotation
    return annotation not in (inspect.Signature.empty, None, "None", type(None))


def _yields(fn: Callable[..., Any]) -> bool:
    inner = inspect.unwrap(fn)
    return inspect.isgeneratorfunction(inner) or inner is not fn  # contextmanager-wrapped


def test_the_walk_finds_the_workflow_api() -> None:
    names = set(CALLABLES)
    for expected in (
        "intacct_sync.actions.sync.ActionSync.run",
        "intacct_sync.o2c.masters.plan_masters",
        "intacct_sync.kpi.posting.post_changes",
        "intacct_sync.intacct._xml_reads.XmlReads.read_by_query",
        "intacct_sync.state.tenancy.bind_tenant",
        "intacct_sync.state.sqlite.SQLiteStateStore.get_value",
        "intacct_sync.frames.frame_from_records",
        "intacct_sync.reports.frame_text",
        "intacct_sync.arrow.to_arrow",
        "intacct_sync.outcomes.outcome_frame",
        "intacct_sync.config.resolve_protocol",
        "intacct_sync.testing.check_state_store",
        "intacct_sync.intacct.models.ARInvoice.from_row",
        "intacct_sync.intacct.rest.client.IntacctRestClient.create",
        "intacct_sync.salesforce.soql.literal",
        "intacct_sync.salesforce.auth.parse_token_response",
        "intacct_sync.salesforce.models.SObjectDescribe.field",
        "intacct_sync.sandbox.Sandbox.intacct_client",
        "intacct_sync.sandbox.running",
    ):
        assert expected in names
    assert len(names) > 400


@pytest.mark.parametrize("name", sorted(n for n, f in CALLABLES.items() if _returns_something(f)))
def test_a_public_callable_says_what_it_returns(name: str) -> None:
    fn = CALLABLES[name]
    doc = inspect.getdoc(fn) or ""
    assert doc, f"{name} has no docstring"
    section = "Yields:" if _yields(fn) and "Returns:" not in doc else "Returns:"
    assert section in doc or "Yields:" in doc, (
        f"{name} returns {inspect.signature(fn).return_annotation} but its docstring has no "
        f"{section} section"
    )


def _parameters(fn: Callable[..., Any]) -> list[str]:
    return [
        ("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + p.name
        for p in inspect.signature(fn).parameters.values()
        if p.name not in ("self", "cls")
    ]


@pytest.mark.parametrize("name", sorted(n for n, f in CALLABLES.items() if _parameters(f)))
def test_a_public_callable_names_each_argument(name: str) -> None:
    fn = CALLABLES[name]
    doc = inspect.getdoc(fn) or ""
    assert "Args:" in doc, f"{name} takes {_parameters(fn)} but its docstring has no Args: section"
    section = doc.split("Args:", 1)[1]
    missing = [
        p
        for p in _parameters(fn)
        if not re.search(rf"^\s+{re.escape(p)}( \(.*\))?:", section, re.MULTILINE)
    ]
    assert not missing, f"{name}: Args does not name {missing}"


def _raises_section(doc: str) -> str:
    section = doc.split("Raises:", 1)[1].lstrip("\n")
    return re.split(r"\n(?=\S)", section, maxsplit=1)[0]  # up to the next section or prose


def _is_exception(name: str) -> bool:
    found = getattr(errors, name, None) or getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, BaseException)


@pytest.mark.parametrize(
    "name", sorted(n for n, f in CALLABLES.items() if "Raises:" in (inspect.getdoc(f) or ""))
)
def test_a_public_callable_raises_only_errors_that_exist(name: str) -> None:
    # A misspelt or renamed error in Raises: sends a caller to catch a class that is not there.
    raised = re.findall(
        r"^    (\w+)( \(.*\))?:", _raises_section(inspect.getdoc(CALLABLES[name]) or ""), re.M
    )
    assert raised, f"{name}: its Raises: section names no exception class"
    unknown = [error for error, _ in raised if not _is_exception(error)]
    assert not unknown, f"{name}: Raises: names {unknown}, not in intacct_sync.errors or built-in"
