"""KPI trends against the books, AR trends, and the kpi command line."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from intacct_sync import kpi, sandbox
from intacct_sync.cli import kpi as cli_kpi
from intacct_sync.errors import InputError

matplotlib.use("Agg")


def kpi_frame(rows: dict[str, dict[str, int | str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"date": pd.Timestamp(day), "kpi": name, "value": Decimal(str(v))}
            for name, series in rows.items()
            for day, v in series.items()
        ]
    )


def money(rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": list(rows),
            "contributions_revenue": [Decimal(r) for r, _ in rows.values()],
            "fundraising_expense": [Decimal(e) for _, e in rows.values()],
        }
    )


def test_compare_joins_by_period_with_ratios_and_changes() -> None:
    kpis = kpi_frame(
        {
            # the value on the period's last recorded day counts, not a sum
            "active_donors": {
                "2025-01-10": 90,
                "2025-01-31": 100,
                "2025-02-28": 80,
                "2026-01-31": 125,
            },
            "average_gift": {"2025-01-31": "50.00", "2025-02-28": "55.00", "2026-01-31": "60.00"},
        }
    )
    fin = money(
        {"2025-01": ("10000", "1500"), "2025-02": ("8000", "2000"), "2026-01": ("15000", "0")}
    )
    report = kpi.compare(kpis, fin, freq="M")
    frame = report.to_frame().set_index("period")
    assert list(frame.index) == ["2025-01", "2025-02", "2026-01"]
    assert frame.loc["2025-01", "active_donors"] == 100
    assert frame.loc["2025-01", "revenue_per_active_donor"] == Decimal("100.00")
    assert frame.loc["2025-02", "cost_per_dollar_raised"] == Decimal("0.2500")
    assert frame.loc["2025-02", "contributions_revenue_pop"] == Decimal("-0.2000")
    assert frame.loc["2026-01", "contributions_revenue_yoy"] == Decimal("0.5000")
    assert frame.loc["2026-01", "active_donors_yoy"] == Decimal("0.2500")
    assert frame.loc["2026-01", "contributions_revenue_pop"] is None  # Dec 2025 is absent
    assert frame.loc["2026-01", "fundraising_expense_yoy"] == Decimal("-1.0000")
    text = str(report)
    assert "revenue_per_active_donor" in text and "2026-01" in text
    assert "<table" in report._repr_html_()
    figure = report.plot()
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert {"donors", "USD", "USD per donor", "USD per gift"} <= set(labels)
    assert figure.axes[-1].get_xlabel() == "period end"


def test_compare_refuses_unknown_frequency_and_missing_columns() -> None:
    kpis = kpi_frame({"active_donors": {"2025-01-31": 1}})
    with pytest.raises(InputError, match="freq"):
        kpi.compare(kpis, money({"2025-01": ("1", "1")}), freq="W")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no column 'contributions_revenue'"):
        kpi.compare(kpis, pd.DataFrame({"period": ["2025-01"], "fundraising_expense": [1]}))


def test_gl_by_period_in_natural_sign(shared_sb: sandbox.Sandbox) -> None:
    ia = shared_sb.intacct_client()
    lines = shared_sb.intacct.records(sandbox.COMPANIES["nonprofit"], "GLENTRY")
    revenue_lines = [line for line in lines if line["ACCOUNTNO"] == "4000"]
    expected = sum(Decimal(x["TRX_AMOUNT"]) * -int(x["TR_TYPE"]) for x in revenue_lines)
    long = kpi.gl_by_period(ia, ["4000", "6000"], by=["ACCOUNTNO", "LOCATION"])
    assert set(long["LOCATION"]) == {"HQ", "NORTH", "SOUTH"}
    revenue = long[long["ACCOUNTNO"] == "4000"]["amount"]
    assert sum(revenue, Decimal(0)) == expected and all(v > 0 for v in revenue)
    assert all(v > 0 for v in long[long["ACCOUNTNO"] == "6000"]["amount"])
    quarters = kpi.financials(ia, freq="Q")
    assert quarters["period"].str.contains("Q").all()
    assert sum(quarters["contributions_revenue"], Decimal(0)) == sum(
        kpi.financials(ia)["contributions_revenue"], Decimal(0)
    )


def test_ar_trends_dso_and_overdue() -> None:
    invoices = pd.DataFrame(
        {
            "WHENCREATED": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-10"]),
            "WHENDUE": pd.to_datetime(["2026-02-04", "2026-02-19", "2026-03-12"]),
            "WHENPAID": pd.to_datetime(pd.Series(["2026-02-15", None, None])),
            "TOTALENTERED": [Decimal(1000), Decimal(500), Decimal(300)],
            "TOTALDUE": [Decimal(0), Decimal(200), Decimal(300)],
        }
    )
    report = kpi.ar_trends(invoices, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    frame = report.to_frame().set_index("period")
    assert frame.loc["2026-01", "open_balance"] == Decimal(1200)  # 1000 unpaid yet + 200 due
    assert frame.loc["2026-01", "overdue_balance"] == 0
    assert frame.loc["2026-01", "dso"] == Decimal("24.8")  # 1200 / 1500 x 31
    assert frame.loc["2026-02", "open_balance"] == Decimal(500)  # paid 1000 on 15 Feb
    assert frame.loc["2026-02", "overdue_balance"] == Decimal(200)
    assert frame.loc["2026-03", "overdue_balance"] == Decimal(500)
    assert frame.loc["2026-03", "dso"] is None  # nothing billed in March
    assert report.plot().axes[0].get_ylabel() == "USD"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="intacct-sync")
    cli_kpi.add_commands(root.add_subparsers(dest="command", required=True))
    return root


def run(argv: list[str]) -> tuple[int, str]:
    args = parser().parse_args(argv)
    out = io.StringIO()
    return args.run(args, out), out.getvalue()


def test_cli_post_dry_run_then_post_then_rerun(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    base = ["kpi", "post", "--sandbox", "--state", state, "--date", "2026-03-02"]
    code, text = run([*base, "--dry-run", "--format", "json"])
    document = json.loads(text)
    assert code == 0 and document["holdings"] is None
    statuses = [r["status"] for r in document["posting"]["rows"]]
    assert "would post" in statuses and set(statuses) <= {"would post", "unchanged"}
    code, text = run(base)
    assert code == 0 and "posted" in text and "match their KPI" in text
    # A new sandbox each run, but the state store remembers. The books are the truth (issue
    # 12): the fresh sandbox holds none of the entries the ledger records, so they are posted
    # again and the holdings match; a ledger that disagrees with the books is not trusted.
    code, text = run([*base, "--format", "json"])
    document = json.loads(text)
    assert code == 0 and document["holdings"]["ok"]
    assert "posted" in [r["status"] for r in document["posting"]["rows"]]


def test_cli_usage_errors() -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["kpi", "post", "--date", "yesterday"])
    assert info.value.code == 2
    code, text = run(["kpi", "post", "--sandbox", "--backfill", "2026-03-02", "2026-03-01"])
    assert code == 2 and "FROM <= TO" in text


def test_cli_compare_json() -> None:
    code, text = run(
        ["kpi", "compare", "--sandbox", "--freq", "Q", "--months", "12", "--format", "json"]
    )
    document = json.loads(text)
    assert code == 0 and document["rows"] and "cost_per_dollar_raised" in document["rows"][0]


def test_demo_posts_then_shows_nothing_new(shared_sb: sandbox.Sandbox) -> None:
    out = io.StringIO()
    cli_kpi.demo(shared_sb, out)
    text = out.getvalue()
    assert "Statistical postings: 6 posted" in text
    assert "Rerun the same day (0 new): Statistical postings: 6 already posted" in text
    assert "KPIs against the books" in text and "revenue_per_active_donor" in text


def test_backfill_example_runs_against_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    from examples import backfill_kpis

    assert backfill_kpis.main(["--sandbox", "--from", "2026-01-01", "--to", "2026-03-31"]) == 0
    text = capsys.readouterr().out
    assert "daily totals" in text and "match their KPI" in text
    assert (
        backfill_kpis.main(["--sandbox", "--dry-run", "--from", "2026-03-01", "--to", "2026-03-02"])
        == 0
    )
    assert "Dry run" in capsys.readouterr().out
