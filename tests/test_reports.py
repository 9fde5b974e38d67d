"""How reports read: one summary line, money and dates formatted, long text cut, internals hidden,
the data whole in ``to_frame()``; charts that show in a notebook and save to a file."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intacct_sync import reports
from intacct_sync.errors import InputError
from intacct_sync.reports import Report


class Sample(Report):
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def summary(self) -> str:
        return f"Sample: {reports.plural(len(self.frame), 'row')}"


def sample() -> Sample:
    return Sample(
        pd.DataFrame(
            {
                "name": ["Acme", "x" * 800],
                "amount": [Decimal("44510.0"), Decimal("3009.6")],
                "retention_rate": [Decimal("0.5806"), None],
                "when": [pd.Timestamp("2026-01-31"), pd.NaT],
                "control_id": ["create-GLBATCH-c5b8d86c7d8a927a", "create-GLBATCH-ad1bbf242eb"],
                "RECORDNO": [12345, 7],
            }
        )
    )


def test_repr_is_the_summary_and_table_not_an_object_address() -> None:
    text = repr(sample())
    assert text.splitlines()[0] == "Sample: 2 rows"
    assert " at 0x" not in text


def test_money_is_right_aligned_with_separators_and_two_decimals() -> None:
    text = str(sample())
    assert "44,510.00" in text and "3,009.60" in text
    assert "44510.0" not in text
    header, _, first, second = text.splitlines()[1:5]
    column = [c.strip() for c in header.split("|")].index("amount")
    assert first.split("|")[column].endswith("44,510.00 ")
    assert second.split("|")[column].endswith(" 3,009.60 ")


def test_ratios_are_percentages_dates_are_dates() -> None:
    text = str(sample())
    assert "58.1%" in text and "0.5806" not in text
    assert "2026-01-31" in text and "00:00:00" not in text


def test_long_text_is_cut_but_whole_in_the_frame() -> None:
    report = sample()
    text = str(report)
    assert "x" * 800 not in text and "…" in text
    assert max(len(line) for line in text.splitlines()) < 200
    assert report.to_frame()["name"].iloc[1] == "x" * 800
    html = report._repr_html_()
    assert f'title="{"x" * 800}"' in html  # the full value one hover away


def test_internal_columns_hidden_unless_asked_for() -> None:
    report = sample()
    assert "control_id" not in str(report) and "control_id" not in report._repr_html_()
    assert "internal column hidden" in str(report)
    assert "control_id" in str(report.table(internal=True))
    assert "control_id" in report.to_frame().columns


def test_html_right_aligns_numbers_and_escapes() -> None:
    html = Sample(pd.DataFrame({"name": ["<b>x</b>"], "amount": [Decimal("1")]}))._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert re.search(r'<td style="text-align:right"[^>]*>1\.00</td>', html)


def test_the_widest_column_of_a_long_text_report_fits_the_page() -> None:
    # notebook 04's plan had an 800-character column: a cell is at most MAX_TEXT_SHOWN wide
    html = sample()._repr_html_()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert max(len(c) for c in cells) <= reports.MAX_TEXT_SHOWN


def test_analysts_values_render() -> None:
    frame = pd.DataFrame(
        {
            "n": [np.int64(1234567)],
            "ok": [np.bool_(True)],
            "x": [np.float64(3009.6)],
            "day": [dt.date(2026, 1, 2)],
        }
    )
    text = reports.frame_text(frame)
    assert "1,234,567" in text and "yes" in text and "3,009.60" in text and "2026-01-02" in text


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [(0, "document", "0 documents"), (1, "document", "1 document"), (3, "entry", "3 entries")],
)
def test_plural(count: int, word: str, expected: str) -> None:
    assert reports.plural(count, word) == expected


def test_times_have_one_form_with_the_zone() -> None:
    aware = dt.datetime(2026, 12, 1, 10, 11, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert reports.when(aware) == "2026-12-01 09:11 UTC"
    assert reports.when("2026-12-01T10:11:00+00:00") == "2026-12-01 10:11 UTC"
    assert "+00:00" not in reports.when(pd.Timestamp("2026-12-01T10:11:00Z"))
    assert reports.when(None) == "never"


def test_value_text_is_never_a_repr() -> None:
    shown = [reports.value_text(v) for v in (None, Decimal("5"), "Acme", False)]
    assert shown == ["(empty)", "5.00", '"Acme"', "no"]
    assert reports.counts_text({"Intacct_Invoice__c": 52, "Account": 33}) == (
        "52 Intacct_Invoice__c, 33 Account"
    )


def test_every_report_class_shows_its_summary_as_repr() -> None:
    # attrs would otherwise write a field-by-field repr (a DataFrame inside) over Report's.
    import intacct_sync.actions.catalog
    import intacct_sync.actions.journal_import
    import intacct_sync.actions.journals
    import intacct_sync.actions.sync
    import intacct_sync.kpi.posting
    import intacct_sync.kpi.segments
    import intacct_sync.kpi.trends
    import intacct_sync.o2c.invoices
    import intacct_sync.o2c.masters
    import intacct_sync.o2c.masters_report
    import intacct_sync.o2c.orders
    import intacct_sync.o2c.reconciliation
    import intacct_sync.posting.preflight  # noqa: F401

    def subclasses(cls: type) -> list[type]:
        found: list[type] = []
        children: list[type] = cls.__subclasses__()
        for sub in children:
            found += [sub, *subclasses(sub)]
        return found

    found = [c for c in subclasses(Report) if c.__module__.startswith("intacct_sync.")]
    assert len(found) >= 15
    wrong = [c.__qualname__ for c in found if "__repr__" in vars(c)]
    assert not wrong, f"reports with their own repr: {wrong}"


def test_sandbox_repr_says_where_and_what(shared_sb: object) -> None:
    from intacct_sync import sandbox

    text = repr(shared_sb)
    assert "running" in text and "127.0.0.1" in text and sandbox.COMPANIES["itservices"] in text
    assert "secret" not in text and "password" not in text.lower()
    with sandbox.running() as sb:
        assert "running" in repr(sb)
    assert "stopped" in repr(sb)


def test_id_map_frame() -> None:
    from intacct_sync.state import IdMapping, SQLiteStateStore

    with SQLiteStateStore(":memory:") as state:
        state.id_map_put(IdMapping(object="Account", salesforce_id="001A", intacct_id="C1"))
        frame = reports.id_map_frame(state.id_map("Account"))
    assert list(frame[["object", "salesforce_id", "intacct_id"]].iloc[0]) == [
        "Account",
        "001A",
        "C1",
    ]


def _trend() -> object:
    from intacct_sync.kpi.trends import TrendReport

    frame = pd.DataFrame(
        {
            "period": ["2026-01", "2026-02"],
            "period_end": [dt.date(2026, 1, 31), dt.date(2026, 2, 28)],
            "active_donors": [Decimal(10), Decimal(12)],
            "active_donors_pop": [None, Decimal("0.2")],
        }
    )
    return TrendReport(
        frame,
        units={"active_donors": "donors"},
        shown=list(frame.columns),
        title="KPIs",
        freq="M",
    )


def test_a_trend_plot_shows_itself_in_a_notebook_and_saves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = _trend()
    figure = report.plot()  # type: ignore[attr-defined]
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert figure.save(tmp_path / "t.svg").read_text().lstrip().startswith("<?xml")
    assert report.save(tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="jpg"):
        report.save(tmp_path / "t.jpg")  # type: ignore[attr-defined]
    assert "20.0%" in str(report)


def test_plot_needs_no_pyplot() -> None:
    from intacct_sync.kpi import trends

    assert "import matplotlib.pyplot" not in inspect.getsource(trends)
