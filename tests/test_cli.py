"""The command line: the demo and a scripted read, against the embedded sandbox."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from intacct_sync import sandbox
from intacct_sync.cli.main import main


def test_intacct_read_prints_csv_with_progress_off(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in shared_sb.intacct_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INTACCT_PROFILE_FILE", "/nonexistent/credentials.ini")
    out = io.StringIO()
    status = main(
        [
            "intacct",
            "read",
            "GLACCOUNT",
            "--fields",
            "ACCOUNTNO,TITLE",
            "--format",
            "csv",
            "--no-progress",
        ],
        out=out,
    )
    assert status == 0
    out.seek(0)
    frame = pd.read_csv(out, dtype=str)
    assert list(frame.columns) == ["ACCOUNTNO", "TITLE"]
    assert "4000" in set(frame["ACCOUNTNO"])


def test_intacct_read_with_bad_credentials_exits_1_without_leaking(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in shared_sb.intacct_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INTACCT_USER_PASSWORD", "wrong-password-123")
    status = main(["intacct", "read", "GLACCOUNT"], out=io.StringIO())
    err = capsys.readouterr().err
    assert status == 1
    assert "AuthenticationError" in err
    assert "wrong-password-123" not in err


def test_progress_bars_run_when_asked(shared_sb: sandbox.Sandbox) -> None:
    with shared_sb.intacct_client() as ia:
        frame = ia.read_by_query("GLACCOUNT", page_size=10, progress=True)
    assert len(frame) > 10
