"""The Dagster assets run in process against the sandbox, one partition per company."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from intacct_sync import sandbox
from intacct_sync.reports import Report

dg = pytest.importorskip("dagster")

from intacct_sync.integrations import dagster as isd  # noqa: E402 - after importorskip

NONPROFIT = sandbox.COMPANIES["nonprofit"]
ITSERVICES = sandbox.COMPANIES["itservices"]


@pytest.fixture
def resources(
    shared_sb: sandbox.Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    # Secrets reach the resources through EnvVar, as they would in a deployment.
    for name, value in {**shared_sb.intacct_env(), **shared_sb.salesforce_env()}.items():
        monkeypatch.setenv(name, value)
    return isd.resources(
        intacct=isd.IntacctResource(
            sender_id=dg.EnvVar("INTACCT_SENDER_ID"),
            sender_password=dg.EnvVar("INTACCT_SENDER_PASSWORD"),
            user_id=dg.EnvVar("INTACCT_USER_ID"),
            user_password=dg.EnvVar("INTACCT_USER_PASSWORD"),
            endpoint_url=dg.EnvVar("INTACCT_ENDPOINT_URL"),
        ),
        salesforce=isd.SalesforceResource(
            instance_url=dg.EnvVar("SF_INSTANCE_URL"),
            client_id=dg.EnvVar("SF_CLIENT_ID"),
            client_secret=dg.EnvVar("SF_CLIENT_SECRET"),
        ),
        state=isd.StateStoreResource(path=str(tmp_path / "{company}.sqlite")),
    )


def _metadata(result: Any, asset: str) -> dict[str, Any]:
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
    ]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_assets_are_partitioned_by_company() -> None:
    assets = isd.workflow_assets(companies=[NONPROFIT, ITSERVICES])
    assert [a.key.to_user_string() for a in assets] == [
        "journal_entries",
        "kpi_statistical_entries",
        "order_to_cash",
    ]
    for asset in assets:
        assert asset.partitions_def is not None
        assert asset.partitions_def.get_partition_keys() == [NONPROFIT, ITSERVICES]
    dg.Definitions(assets=assets)  # the definitions load


def test_journal_entries_post_once_per_company(resources: dict[str, Any], tmp_path: Path) -> None:
    assets = isd.workflow_assets(companies=[NONPROFIT, ITSERVICES])
    # The demo nonprofit has invalid actions: by default the run halts, nothing posted.
    with pytest.raises(dg.Failure, match="invalid action") as halted:
        dg.materialize(assets[:1], resources=resources, partition_key=NONPROFIT)
    assert halted.value.metadata["summary"].value
    skip = {"ops": {"journal_entries": {"config": {"on_invalid": "skip"}}}}
    first = dg.materialize(
        assets[:1], resources=resources, partition_key=NONPROFIT, run_config=skip
    )
    assert first.success
    meta = _metadata(first, "journal_entries")
    assert meta["rows"] > 0
    assert isinstance(meta["summary"], str) and meta["summary"]
    assert (tmp_path / f"{NONPROFIT}.sqlite").exists()
    assert not (tmp_path / f"{ITSERVICES}.sqlite").exists()
    # A second run of the same partition finds the watermark: nothing new is posted.
    again = dg.materialize(
        assets[:1], resources=resources, partition_key=NONPROFIT, run_config=skip
    )
    counts = _metadata(again, "journal_entries")["counts"]
    assert counts["posted"] == 0
    assert meta["counts"]["posted"] >= counts["already_posted"] > 0


def test_kpi_and_order_to_cash_assets_report_their_runs(resources: dict[str, Any]) -> None:
    assets = isd.workflow_assets(companies=[NONPROFIT, ITSERVICES])
    kpi_run = dg.materialize(
        [assets[1]],
        resources=resources,
        partition_key=NONPROFIT,
        run_config={"ops": {"kpi_statistical_entries": {"config": {"dry_run": True}}}},
    )
    assert kpi_run.success
    assert _metadata(kpi_run, "kpi_statistical_entries")["summary"]
    o2c_run = dg.materialize(
        [assets[2]],
        resources=resources,
        partition_key=ITSERVICES,
        run_config={"ops": {"order_to_cash": {"config": {"dry_run": True}}}},
    )
    assert o2c_run.success
    meta = _metadata(o2c_run, "order_to_cash")
    assert "dry run" in meta["summary"]
    assert meta["rows"] >= 1


def test_a_shared_state_path_is_refused_for_partitions(resources: dict[str, Any]) -> None:
    resources["state"] = isd.StateStoreResource(path="/tmp/one-for-all.sqlite")
    assets = isd.workflow_assets(companies=[NONPROFIT])
    with pytest.raises(dg.Failure, match="company"):
        dg.materialize(assets[:1], resources=resources, partition_key=NONPROFIT)


def test_secrets_stay_out_of_the_resources_reprs(resources: dict[str, Any]) -> None:
    from intacct_sync.sandbox.intacct import gateway
    from intacct_sync.sandbox.salesforce import api

    secrets = [gateway.SENDER_PASSWORD, gateway.USER_PASSWORD, api.CLIENT_SECRET]
    with dg.build_resources(resources) as built:
        shown = repr(built.intacct) + repr(built.salesforce)
        assert built.intacct.user_password == gateway.USER_PASSWORD  # resolved from the env
        with built.intacct.client(NONPROFIT) as client:
            shown += repr(client)
    for secret in secrets:
        assert secret not in shown


class _Counted(Report):
    @property
    def counts(self) -> dict[str, int]:
        return {"posted": 5, "failed": 1}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"status": ["posted", "posted", "failed"]})

    def summary(self) -> str:
        return "3 rows"


class _Plain(Report):
    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"status": ["posted", "posted", "failed"]})

    def summary(self) -> str:
        return "3 rows"


def test_report_metadata_gives_summary_rows_and_counts() -> None:
    meta = isd.report_metadata(_Counted())
    assert meta["summary"] == "3 rows"
    assert meta["rows"] == 3
    # The report's own counts win over counting its status column.
    assert meta["counts"].value == {"posted": 5, "failed": 1}
    table = meta["report"].value
    assert table.splitlines()[0].split("|")[1].strip() == "status"
    assert table.count("posted") == 2


def test_without_counts_the_status_column_is_counted() -> None:
    assert isd.report_metadata(_Plain())["counts"].value == {"posted": 2, "failed": 1}


def test_resources_refuse_missing_company_and_credentials() -> None:
    intacct = isd.IntacctResource(
        sender_id="s", sender_password="p", user_id="u", user_password="q"
    )
    with pytest.raises(dg.Failure, match="no company"):
        intacct.client()
    with pytest.raises(dg.Failure, match="access_token or client_id"):
        isd.SalesforceResource(instance_url="https://example.my.salesforce.com").client()
    with isd.SalesforceResource(
        instance_url="https://example.my.salesforce.com", access_token="t0k3n-value"
    ).client() as sf:
        assert "t0k3n-value" not in repr(sf)


def test_an_unpartitioned_asset_uses_the_configured_company(
    resources: dict[str, Any], tmp_path: Path
) -> None:
    resources["intacct"] = isd.IntacctResource(
        sender_id=dg.EnvVar("INTACCT_SENDER_ID"),
        sender_password=dg.EnvVar("INTACCT_SENDER_PASSWORD"),
        user_id=dg.EnvVar("INTACCT_USER_ID"),
        user_password=dg.EnvVar("INTACCT_USER_PASSWORD"),
        endpoint_url=dg.EnvVar("INTACCT_ENDPOINT_URL"),
        company_id=ITSERVICES,
    )
    resources["state"] = isd.StateStoreResource(path=str(tmp_path / "one.sqlite"))
    [_, _, o2c_asset] = isd.workflow_assets()
    assert o2c_asset.partitions_def is None
    run = dg.materialize(
        [o2c_asset],
        resources=resources,
        run_config={"ops": {"order_to_cash": {"config": {"dry_run": True}}}},
    )
    assert run.success
    assert (tmp_path / "one.sqlite").exists()


def test_kpi_asset_posts_then_a_rerun_posts_nothing_new(resources: dict[str, Any]) -> None:
    [_, kpi_asset, _] = isd.workflow_assets(companies=[NONPROFIT])
    config = {
        "ops": {"kpi_statistical_entries": {"config": {"start": "2026-06-29", "end": "2026-06-30"}}}
    }
    first = dg.materialize(
        [kpi_asset], resources=resources, partition_key=NONPROFIT, run_config=config
    )
    again = dg.materialize(
        [kpi_asset], resources=resources, partition_key=NONPROFIT, run_config=config
    )
    assert first.success and again.success
    before = _metadata(first, "kpi_statistical_entries")
    after = _metadata(again, "kpi_statistical_entries")
    assert before["summary"] and after["summary"]
    assert before["counts"].get("posted", 0) > 0
    assert after["counts"].get("posted", 0) == 0
    assert after["rows"] > 0


class _Empty(Report):
    status = "nothing_to_do"

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"x": []})

    def summary(self) -> str:
        return "nothing"


def test_an_empty_report_has_no_table_and_keeps_its_status() -> None:
    meta = isd.report_metadata(_Empty())
    assert meta["rows"] == 0
    assert meta["report"].value == "(no rows)"
    assert meta["status"] == "nothing_to_do"
    assert "counts" not in meta


class _Called(_Plain):
    def counts(self) -> dict[str, int]:
        return {"posted": 7}


def test_counts_may_be_a_method() -> None:
    assert isd.report_metadata(_Called())["counts"].value == {"posted": 7}
