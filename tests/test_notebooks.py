"""Every notebook runs top to bottom against the sandbox, and none is committed with outputs.

CI executes the notebooks, so they are stored stripped (no outputs, no execution counts): a
stored output could only be stale, and could leak what a cell printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Text that must never appear in a notebook's outputs: the sandbox's secrets and the shapes
#: real Intacct and Salesforce secrets take in a body.
SECRET_MARKERS = (
    "sandbox-sender-secret",
    "sandbox-user-secret",
    "sandbox-client-secret",
    "access_token",
    "sessionid>",
)


def _outputs_text(cells: list[Any]) -> str:
    return "\n".join(
        json.dumps(cell.get("outputs", []), ensure_ascii=False)
        for cell in cells
        if cell.get("cell_type") == "code"
    )


def _read_raw(path: Path) -> dict[str, Any]:
    # The file as committed, without nbformat's normalisation.
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_no_secret_in_saved_outputs() -> None:
    # Runs (and passes) even when notebooks/ is empty, so the module always collects a test.
    leaks = [
        f"{path.name}: {marker!r}"
        for path in NOTEBOOKS
        for marker in SECRET_MARKERS
        if marker in _outputs_text(_read_raw(path).get("cells", []))
    ]
    assert not leaks, f"secrets in saved notebook outputs: {leaks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    cells = _read_raw(path).get("cells", [])
    dirty = [
        index
        for index, cell in enumerate(cells)
        if cell.get("cell_type") == "code"
        and (cell.get("execution_count") is not None or cell.get("outputs"))
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; "
        "clear them before committing (e.g. `jupyter nbconvert --clear-output --inplace`)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this process's environment: no display, no GUI backend.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    text = _outputs_text(notebook.cells)
    leaked = [marker for marker in SECRET_MARKERS if marker in text]
    assert not leaked, f"{path.name} shows secrets when run: {leaked}"
