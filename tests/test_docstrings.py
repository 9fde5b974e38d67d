"""Every public callable a user reaches says what it returns: ``help(ia.read_by_query)`` and the
API reference are where a finance analyst or a scripter learns what a call gives back.

The walk covers the public modules of the workflows and what they take (``__all__`` of the
top-level package, ``actions``, ``kpi``, ``o2c``, ``posting``, ``state``, ``integrations``,
the two clients and the filter builders), functions and the public methods of public classes,
inherited ones included. A callable annotated to return something other than None needs a
``Returns:`` section (``Yields:`` for a generator or context manager), and one that takes
arguments an ``Args:`` section naming each of them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

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
        for name in getattr(module, "__all__", []):
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
    ):
        assert expected in names
    assert len(names) > 250


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
