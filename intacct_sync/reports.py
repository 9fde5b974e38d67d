"""Report objects: a table a person can read in a notebook, a terminal or a script.

Every report has ``to_frame()`` (the data), ``str()`` (a GitHub-style table via tabulate, for
scripts and the CLI) and ``_repr_html_()`` (an escaped HTML table for notebooks).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from tabulate import tabulate

__all__ = ["MAX_ROWS_SHOWN", "Report", "frame_html", "frame_text"]

MAX_ROWS_SHOWN = 50


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        return value.date().isoformat()
    return value


def frame_text(frame: pd.DataFrame, *, max_rows: int = MAX_ROWS_SHOWN) -> str:
    """A frame as a GitHub-style text table, capped at ``max_rows`` with a note."""
    shown = frame.head(max_rows)
    rows = [[_cell(v) for v in row] for row in shown.itertuples(index=False, name=None)]
    text = tabulate(
        rows, headers=[str(c) for c in frame.columns], tablefmt="github", disable_numparse=True
    )
    if len(frame) > max_rows:
        text += f"\n(showing {max_rows} of {len(frame):,} rows)"
    return text


def frame_html(frame: pd.DataFrame, *, max_rows: int = MAX_ROWS_SHOWN) -> str:
    """A frame as escaped HTML, capped at ``max_rows`` with a note."""
    shown = frame.head(max_rows).map(_cell)
    table = shown.to_html(index=False, escape=True, na_rep="")
    if len(frame) > max_rows:
        table += f"<p>showing {max_rows} of {len(frame):,} rows</p>"
    return table


class Report:
    """Base for report objects: subclasses implement :meth:`to_frame` and :meth:`summary`."""

    def to_frame(self) -> pd.DataFrame:
        """The report's rows as a DataFrame."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line saying what the report holds."""
        raise NotImplementedError

    def __str__(self) -> str:
        frame = self.to_frame()
        if frame.empty:
            return self.summary()
        return f"{self.summary()}\n{frame_text(frame)}"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        head = f"<p><strong>{html.escape(self.summary())}</strong></p>"
        return head if frame.empty else head + frame_html(frame)
