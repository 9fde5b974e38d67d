"""Shared fixtures. Kept minimal: most fixtures live beside the tests that use them."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ../shared/conformance beside the repository: real request and response samples.
CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance corpus (``../shared/conformance``)."""
    return CONFORMANCE
