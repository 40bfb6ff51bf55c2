"""draw_history through Dagster: artefact, metadata, checks, clear failures, nothing partial.

draw_history is partitioned by case: each run names its case (added first, as the inbox sensor
does) and the artefacts land in the case's folder (``ArtefactStore.case``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl

from prng_assets import case_runs
from prng_assets.artefact_keys import DRAWS_TABLE
from prng_assets.assets.ingest import draw_history
from prng_assets.checks import ingest as ingest_checks
from resources.artefacts import ArtefactStore

INGEST_CHECKS = dg.load_asset_checks_from_modules([ingest_checks])
CASE = "ingest"


def _run(instance, artefacts, path: Path, **config):
    case_runs.add_case(instance, CASE)
    return dg.materialize(
        [draw_history, *INGEST_CHECKS],
        instance=instance,
        resources={"artefacts": artefacts},
        run_config={"ops": {"draw_history": {"config": {"path": str(path), **config}}}},
        partition_key=CASE,
        raise_on_error=False,
    )


def _case(artefacts: ArtefactStore) -> ArtefactStore:
    """The case's folder, where draw_history writes (ROOT/cases/CASE)."""
    case = artefacts.case(CASE)
    assert case.path() == artefacts.path("cases", CASE)
    return case


def test_demo_history_materialises_with_checks_green(instance, artefacts, demo_history) -> None:
    before = demo_history.read_bytes()
    result = _run(instance, artefacts, demo_history)
    assert result.success
    meta = result.asset_materializations_for_node("draw_history")[0].metadata
    assert meta["n_draws"].value == 400
    assert meta["n_train"].value == 320 and meta["n_holdout"].value == 80
    assert meta["modulus"].value == 1000 and meta["modulus_inferred"].value is True
    assert meta["source_sha256"].value == hashlib.sha256(before).hexdigest()
    assert "data:image/png;base64," in meta["value_distribution"].value
    evals = result.get_asset_check_evaluations()
    assert {e.check_name for e in evals} == {
        spec.name for check in INGEST_CHECKS for spec in check.check_specs
    }
    assert all(e.passed for e in evals)
    table = _case(artefacts).read_parquet(*DRAWS_TABLE)
    assert table.columns == ["draw_index", "date", "session", "value", "split"]
    assert table["draw_index"].to_list() == list(range(400))
    assert table.filter(pl.col("split") == "train").height == 320
    assert demo_history.read_bytes() == before  # the source is never modified


def test_bad_file_fails_with_location_and_keeps_previous_artefact(
    instance, artefacts, demo_history, tmp_path
) -> None:
    assert _run(instance, artefacts, demo_history).success
    artefacts = _case(artefacts)
    good = artefacts.path(*DRAWS_TABLE).read_bytes()
    bad = tmp_path / "bad.json"
    records = json.loads(demo_history.read_text())
    records[7]["draw"] = 5000
    bad.write_text(json.dumps(records))
    result = _run(instance, artefacts, bad, modulus=1000)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "record 8" in failure.message and "5000" in failure.message
    assert artefacts.path(*DRAWS_TABLE).read_bytes() == good
    leftovers = [p for p in artefacts.path("draw_history").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_window_check_fails_when_train_split_too_short(instance, artefacts, tmp_path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("\n".join(str(v) for v in [1, 2, 3, 4, 5]) + "\n")
    result = _run(instance, artefacts, path, window=8, modulus=10)
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evals["draw_history_enough_for_window"].passed
    assert evals["draw_values_in_range"].passed


def test_split_mislabelled_in_the_table_fails_window_check(
    instance, artefacts, demo_history, monkeypatch
) -> None:
    """The draws table written with every row labelled train, while the asset's metadata still
    counts 80 holdout draws: the check counts the stored labels itself."""
    real = ArtefactStore.write_parquet

    def all_train(self: ArtefactStore, table: pl.DataFrame, *parts: str):
        if tuple(parts) == DRAWS_TABLE:
            table = table.with_columns(pl.lit("train").alias("split"))
        return real(self, table, *parts)

    monkeypatch.setattr(ArtefactStore, "write_parquet", all_train)
    result = _run(instance, artefacts, demo_history)
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "draw_history_enough_for_window"]
    assert not check.passed and check.blocking
    assert check.metadata["n_holdout"].value == 0
    assert check.metadata["recorded_counts_agree"].value is False


def test_drop_identical_reports_dropped_draws(instance, artefacts, demo_history, tmp_path) -> None:
    records = json.loads(demo_history.read_text())
    path = tmp_path / "repeated.json"
    path.write_text(json.dumps([*records, records[10]]))  # the 11th draw re-entered at the end
    assert not _run(instance, artefacts, path).success  # the default policy stops
    result = _run(instance, artefacts, path, duplicates="drop-identical")
    assert result.success
    meta = result.asset_materializations_for_node("draw_history")[0].metadata
    assert meta["duplicates"].value == "drop-identical"
    assert meta["n_dropped"].value == 1
    assert meta["n_draws"].value == 400
    assert "| record 401 | " in meta["dropped"].value
    assert "same value as record 11" in meta["dropped"].value
    assert "sessions" not in meta
    assert all(e.passed for e in result.get_asset_check_evaluations())
