"""Shared fixtures: the conformance corpus and the embedded sandbox.

``sb`` is a fresh sandbox per test (tests that write); ``shared_sb`` one per module (tests that
only read, or that write records nothing else in the module reads).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intacct_sync import sandbox

#: ../shared/conformance beside the repository: real request and response samples.
CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance corpus (``../shared/conformance``)."""
    return CONFORMANCE


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    """Both emulators, freshly seeded, for one test."""
    with sandbox.running() as running:
        yield running


@pytest.fixture(scope="module")
def shared_sb() -> Iterator[sandbox.Sandbox]:
    """Both emulators, seeded once for the whole module."""
    with sandbox.running() as running:
        yield running
