"""Mutation tests of the scorer, feature and model checks: each failure mode re-planted.

Every test plants one fault by monkeypatching the smallest piece of code, re-materialises only
the assets it touches (the scorer, the feature matrix, or model families and ``model_comparison``
from the stored matrix of one clean planted run, module-scoped), and asserts that the named check
fails at run time (and, for the scorer and the matrix, that it blocks what follows). Where cheap,
a fault is planted twice: before the record is written (the writer computes a wrong figure and
records it) and after (the record or the file is altered once the figures exist). The clean
run's checks must all pass; each test restores the clean artefacts afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from typing import Any

import dagster as dg
import numpy as np
import polars as pl
import pytest
import torch

import gpu_executors.models.mlp as mlp
import gpu_executors.ranking.matrix as matrix_code
import prng_assets.assets.features as feature_assets
import prng_assets.assets.models as model_assets
from gpu_executors.models.records import ModelSidecar
from gpu_executors.prng.synth import planted_history
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.ranking.schema import ScorerConfig
from gpu_executors.ranking.scorer import ScorerData
from prng_assets.artefact_keys import COMPARISON, MATRIX_RECORD, MATRIX_TABLE
from prng_assets.demo import DEMO
from resources.artefacts import ArtefactStore
from tests.prng_assets.test_ranking_assets import FAST_ML, _scenario
from tests.run_config import QUIET

pytestmark = pytest.mark.slow

MODEL_CHECKS = (
    "models_r2_sane",
    "models_shapes_equal",
    "models_predictions_vary",
    "models_training_loss_is_mse",
    "models_permutation_p_reproduced",
    "models_test_split_disjoint",
    "models_no_leakage_signature",
)
UPSTREAM_CHECKS = (
    "scorer_trial_samples_differ",
    "feature_matrix_uses_optimal_config",
    "feature_matrix_rebuilt_from_train",
    "feature_matrix_no_leakage",
)
# What a re-run rewrites; restored after each test.
SNAPSHOT = ("optimal_scorer_config", "feature_matrix", "models", "model_comparison")

Checks = dict[str, dg.AssetCheckEvaluation]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "mutations", values, truth)


@pytest.fixture
def scenario(clean: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The clean run, its models restored after the test (the next one starts clean)."""
    art = clean["art"]  # the case's artefact folder
    backup = clean["root"] / "clean_artefacts"  # beside the artefact root, not among the cases
    if not backup.exists():
        for part in SNAPSHOT:
            shutil.copytree(art / part, backup / part)
    yield clean
    for part in SNAPSHOT:
        shutil.rmtree(art / part)
        shutil.copytree(backup / part, art / part)


def _materialise(scenario: dict[str, Any], *keys: str) -> dg.ExecuteInProcessResult:
    """One run of ``rank_and_predict`` over ``keys`` (in graph order), for the scenario's case."""
    job = scenario["defs"].resolve_job_def("rank_and_predict")
    return job.execute_in_process(
        run_config={"ops": {k: FAST_ML[k] for k in keys if k in FAST_ML}, **QUIET},
        instance=scenario["instance"],
        partition_key=scenario["case"],
        raise_on_error=False,
        asset_selection=[dg.AssetKey(k) for k in keys],
    )


def _rerun(scenario: dict[str, Any], *families: str) -> Checks:
    """Re-materialise ``model_<family>`` for each of ``families``, then ``model_comparison``;
    the comparison's check evaluations by name."""
    run = _materialise(scenario, *(f"model_{f}" for f in families), "model_comparison")
    return {e.check_name: e for e in run.get_asset_check_evaluations()}


def _blocked(scenario: dict[str, Any], key: str, downstream: str, check: str) -> Checks:
    """Re-materialise ``key`` with ``downstream`` after it; assert that ``check`` failed as a
    blocking error and that ``downstream`` was therefore not materialised."""
    run = _materialise(scenario, key, downstream)
    checks = {e.check_name: e for e in run.get_asset_check_evaluations()}
    failed = checks[check]
    assert not failed.passed
    assert failed.blocking and failed.severity == dg.AssetCheckSeverity.ERROR
    assert run.asset_materializations_for_node(key) != []  # the fault was written, then judged
    assert run.asset_materializations_for_node(downstream) == []
    assert not run.success
    return checks


def _meta(check: dg.AssetCheckEvaluation, key: str) -> Any:
    return check.metadata[key].value


def _failed(checks: Checks) -> set[str]:
    return {name for name, e in checks.items() if not e.passed}


def test_clean_graph_passes_the_model_checks(clean: dict[str, Any]) -> None:
    checks = clean["checks"]
    assert clean["result"].success
    assert {k: checks[k].passed for k in MODEL_CHECKS} == dict.fromkeys(MODEL_CHECKS, True)
    loss = _meta(checks["models_training_loss_is_mse"], "loss")["neural_net"]
    assert loss["recorded_loss"] == pytest.approx(loss["recomputed_mse"], rel=1e-5)
    # The winner is judged by the recomputed p, which the recorded one agrees with.
    winner = checks["winner_beats_permutation"]
    recomputed = _meta(checks["models_permutation_p_reproduced"], "winner_recomputed")
    assert _meta(winner, "permutation_p_value") == recomputed["family_wise"]
    assert {k: checks[k].passed for k in UPSTREAM_CHECKS} == dict.fromkeys(UPSTREAM_CHECKS, True)
    rebuilt = checks["feature_matrix_rebuilt_from_train"]
    rows = ArtefactStore(root=str(clean["art"])).read_json(*MATRIX_RECORD)["rows"]
    assert _meta(rebuilt, "rows_rebuilt") == min(200, rows) > 20
    assert _meta(rebuilt, "differing_columns") == "none"
    assert _meta(checks["scorer_trial_samples_differ"], "distinct_samples") == 8


# (a) A model that predicts a constant: its float std is ~1e-17, which "std > 0" let through.
def test_mean_predicting_net_fails_predictions_vary(scenario, monkeypatch) -> None:
    """Before the record: the refitted network's output layer is zeroed before it is scored,
    so it predicts its fit rows' mean in float64, whose std over the test rows is rounding."""
    real = model_assets.fit

    def mean_fit(family: str, *args: Any, **kwargs: Any):
        model = real(family, *args, **kwargs)
        if family == "neural_net":
            with torch.no_grad():
                model.model.model.head.weight.zero_()
                model.model.model.head.bias.zero_()
        return model

    monkeypatch.setattr(model_assets, "fit", mean_fit)
    checks = _rerun(scenario, "neural_net")
    car = ModelSidecar.from_dict(
        ArtefactStore(root=str(scenario["art"])).read_json("models", "neural_net", "sidecar.json")
    )
    assert 0 < car.prediction_std < 1e-12  # 5.6e-17 here, as in the original: "> 0" passed it
    vary = checks["models_predictions_vary"]
    assert not vary.passed and _meta(vary, "constant") == "neural_net"
    assert _meta(vary, "spread")["neural_net"]["distinct_values"] == 1


def test_constant_model_fitted_fails_predictions_vary(scenario, monkeypatch) -> None:
    """Before the record: the refit learns nothing (learning rate 0), so its file predicts the
    base score for every row."""
    real = model_assets.fit

    def constant_fit(family: str, params: dict, *args: Any, **kwargs: Any):
        if family == "xgboost":
            params = {**params, "learning_rate": 0.0}
        return real(family, params, *args, **kwargs)

    monkeypatch.setattr(model_assets, "fit", constant_fit)
    checks = _rerun(scenario, "xgboost")
    vary = checks["models_predictions_vary"]
    assert not vary.passed and _meta(vary, "constant") == "xgboost"
    assert _meta(vary, "spread")["xgboost"]["relative_spread"] <= 1e-6


def test_constant_model_file_fails_predictions_vary(scenario, monkeypatch) -> None:
    """After the figures: the network saved with its output layer zeroed predicts its bias for
    every row, while the sidecar records the spread of the network that was scored."""
    real = model_assets.save_model

    def zeroed_save(model, path):
        if model.family == "neural_net":
            with torch.no_grad():
                model.model.model.head.weight.zero_()
        return real(model, path)

    monkeypatch.setattr(model_assets, "save_model", zeroed_save)
    checks = _rerun(scenario, "neural_net")
    car = ModelSidecar.from_dict(
        ArtefactStore(root=str(scenario["art"])).read_json("models", "neural_net", "sidecar.json")
    )
    assert car.prediction_std > 0  # the record alone looks healthy
    vary = checks["models_predictions_vary"]
    assert not vary.passed and _meta(vary, "constant") == "neural_net"
    assert not checks["models_r2_sane"].passed  # and the file no longer scores its record


# (b) A hard-coded permutation p-value: the checks recompute it and judge by their own.
def test_hard_coded_family_p_value_fails_reproduction(scenario, monkeypatch) -> None:
    """Before the record: the families' permutation test returns 0.0001 whatever the data."""
    monkeypatch.setattr(model_assets, "permutation_p_value", lambda *a, **k: 0.0001)
    checks = _rerun(scenario, "xgboost")
    reproduced = checks["models_permutation_p_reproduced"]
    assert not reproduced.passed and "xgboost" in _meta(reproduced, "disagreeing")
    figures = _meta(reproduced, "p_values")["xgboost"]
    assert figures["recorded"] == 0.0001 and figures["recomputed"] > 0.01
    _judged_by_recomputation(checks)


def test_hard_coded_winner_p_value_fails_reproduction(scenario, monkeypatch) -> None:
    """After the families' records: the comparison's corrected p is hard-coded."""
    monkeypatch.setattr(model_assets, "family_wise_p", lambda *a, **k: 0.0001)
    checks = _rerun(scenario)
    reproduced = checks["models_permutation_p_reproduced"]
    assert not reproduced.passed and _meta(reproduced, "winner_agrees") is False
    assert _meta(reproduced, "winner_recorded")["family_wise"] == 0.0001
    _judged_by_recomputation(checks)


def _judged_by_recomputation(checks: Checks) -> None:
    """winner_beats_permutation uses the recomputed p (here chance: the planted seed is
    confirmed and never trained on, the rest is noise), not the recorded 0.0001."""
    winner = checks["winner_beats_permutation"]
    recomputed = _meta(checks["models_permutation_p_reproduced"], "winner_recomputed")
    assert _meta(winner, "permutation_p_value") == recomputed["family_wise"] > 0.05
    assert not winner.passed


# (c) The loss broadcasting (N,) against (N, 1), its shape guard removed.
def test_loss_broadcast_fails_training_loss_check(scenario, monkeypatch) -> None:
    """The target viewed as a column inside the loss: an (N, N) loss, the net learns the mean;
    predict() is untouched, so every shape after it looks right."""
    monkeypatch.setattr(
        mlp, "_mse", lambda pred, target: torch.mean((pred - target.reshape(-1, 1)) ** 2)
    )
    checks = _rerun(scenario, "neural_net")
    loss = checks["models_training_loss_is_mse"]
    assert not loss.passed and _meta(loss, "mismatched") == "neural_net"
    assert checks["models_shapes_equal"].passed  # shapes after predict() are (N,)


def test_unsqueezed_network_fails_shape_and_loss_checks(scenario, monkeypatch) -> None:
    """The network emits (N, 1), the loss takes it against the (N,) target unguarded, and
    predict() reshapes (as the original's did), so the recorded shapes are equal."""

    def forward(self: mlp.MLPNet, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def predict(self: mlp.FittedMLP, X: Any) -> np.ndarray:
        self.model.eval()
        with torch.inference_mode():
            z = self.model(self._inputs(X)).double().cpu().numpy().reshape(-1)
        return z * self.y_std + self.y_mean

    monkeypatch.setattr(mlp.MLPNet, "forward", forward)
    monkeypatch.setattr(mlp.FittedMLP, "predict", predict)
    monkeypatch.setattr(mlp, "_mse", lambda pred, target: torch.mean((pred - target) ** 2))
    checks = _rerun(scenario, "neural_net")
    shapes = checks["models_shapes_equal"]
    assert not shapes.passed and _meta(shapes, "mismatched") == "neural_net"
    n = _meta(shapes, "shapes")["neural_net"]["target"][0]
    assert _meta(shapes, "shapes")["neural_net"]["raw_output"] == [n, 1]
    assert not checks["models_training_loss_is_mse"].passed


# (d) A recorded test R^2 that differs from what the model file scores.
def test_wrong_r2_recorded_fails_r2_check(scenario, monkeypatch) -> None:
    """Before the record: the asset's R^2 is off by 0.01."""
    real = model_assets.r2
    monkeypatch.setattr(model_assets, "r2", lambda y, p: real(y, p) + 0.01)
    checks = _rerun(scenario, "xgboost")
    sane = checks["models_r2_sane"]
    assert not sane.passed and "xgboost" in _meta(sane, "record_disagrees_with_model_file")


def test_tampered_sidecar_r2_fails_r2_check(scenario, monkeypatch) -> None:
    """After the figures: the sidecar writing alters the test R^2 it stores."""
    real = ArtefactStore.write_record

    def tampered(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, ModelSidecar) and record.ok and record.family == "xgboost":
            record = dataclasses.replace(record, test_r2=record.test_r2 + 1e-6)
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", tampered)
    checks = _rerun(scenario, "xgboost")
    sane = checks["models_r2_sane"]
    assert not sane.passed and "xgboost" in _meta(sane, "record_disagrees_with_model_file")


def test_tampered_comparison_r2_fails_r2_check(scenario, monkeypatch) -> None:
    """After the sidecars: the comparison record's rows carry another test R^2."""
    real = ArtefactStore.write_json

    def tampered(self: ArtefactStore, data: Any, *parts: str):
        if tuple(parts) == COMPARISON and data.get("rows"):
            rows = [{**r, "test_r2": r["test_r2"] + 0.01} for r in data["rows"]]
            data = {**data, "rows": rows}
        return real(self, data, *parts)

    monkeypatch.setattr(ArtefactStore, "write_json", tampered)
    checks = _rerun(scenario)
    assert "models_r2_sane" in _failed(checks)


# (e) A feature that reads the holdout: the stored rows are rebuilt from the train draws alone.
def test_feature_reading_a_holdout_draw_fails_rebuild(scenario, monkeypatch) -> None:
    """Before the record: the train cut lets one draw past it, so every train feature reads the
    first holdout draw; the rebuild has no holdout draw to read."""
    monkeypatch.setattr(matrix_code, "train_view", lambda pred, history: (
        pred[:, : history.n_train + 1], history.values[: history.n_train + 1]))
    checks = _blocked(scenario, "feature_matrix", "model_xgboost",
                      "feature_matrix_rebuilt_from_train")
    rebuilt = checks["feature_matrix_rebuilt_from_train"]
    assert "train_match_rate" in _meta(rebuilt, "differing_columns")
    assert _meta(rebuilt, "rows_match_pool") is True
    assert checks["feature_matrix_uses_optimal_config"].passed  # the record looks right


def test_holdout_target_written_into_a_feature_fails_rebuild(scenario, monkeypatch) -> None:
    """After the figures: the matrix file is written with a feature column replaced by the
    holdout target. The code is clean, so the code probe passes; the stored rows do not."""
    real = ArtefactStore.write_parquet

    def leaked(self: ArtefactStore, df: pl.DataFrame, *parts: str):
        if tuple(parts) == MATRIX_TABLE:
            df = df.with_columns(pl.col("holdout_hits").alias("train_match_rate"))
        return real(self, df, *parts)

    monkeypatch.setattr(ArtefactStore, "write_parquet", leaked)
    checks = _blocked(scenario, "feature_matrix", "model_xgboost",
                      "feature_matrix_rebuilt_from_train")
    differing = _meta(checks["feature_matrix_rebuilt_from_train"], "differing_columns")
    assert list(json.loads(differing)) == ["train_match_rate"]
    assert checks["feature_matrix_no_leakage"].passed  # it probes the code, not the file


# (f) A dropped override: the matrix built with the default scorer configuration.
def _chosen(scenario: dict[str, Any]) -> ScorerConfig:
    chosen = ArtefactStore(root=str(scenario["art"])).read_record(
        ScorerRecord, "optimal_scorer_config", "config.json").scorer_config
    assert chosen != ScorerConfig()  # else the fault would change nothing
    return chosen


def _default_matrix(monkeypatch) -> None:
    real = feature_assets.build_matrix
    monkeypatch.setattr(feature_assets, "build_matrix",
                        lambda pool, history, config: real(pool, history, ScorerConfig()))


def test_matrix_built_with_default_config_fails_rebuild(scenario, monkeypatch) -> None:
    """Before the record: the builder drops the chosen configuration and uses the default,
    while the record names the chosen one (digest and configuration)."""
    chosen = _chosen(scenario)
    _default_matrix(monkeypatch)
    checks = _blocked(scenario, "feature_matrix", "model_xgboost",
                      "feature_matrix_rebuilt_from_train")
    record = ArtefactStore(root=str(scenario["art"])).read_json(*MATRIX_RECORD)
    assert record["scorer_digest"] == chosen.digest()  # the record alone looks right
    assert checks["feature_matrix_uses_optimal_config"].passed
    differing = json.loads(_meta(checks["feature_matrix_rebuilt_from_train"],
                                 "differing_columns"))
    # The configuration's columns differ; the sieve's, which ignore it, do not.
    assert differing and not [k for k in differing if k.startswith("sieve_")]


def test_record_rewritten_to_the_default_config_fails_optimal_config(scenario,
                                                                     monkeypatch) -> None:
    """Before the record, honestly recorded: the asset reads the default configuration instead
    of the chosen one, builds with it and records it; the rebuild agrees with the file, the
    record is not the optimiser's."""
    chosen = _chosen(scenario)
    real = feature_assets.load_scorer_record
    monkeypatch.setattr(feature_assets, "load_scorer_record", lambda art: dataclasses.replace(
        real(art), scorer_config=ScorerConfig()))
    checks = _blocked(scenario, "feature_matrix", "model_xgboost",
                      "feature_matrix_uses_optimal_config")
    used = checks["feature_matrix_uses_optimal_config"]
    assert _meta(used, "optimiser_digest") == chosen.digest() != _meta(used, "matrix_digest")
    assert checks["feature_matrix_rebuilt_from_train"].passed  # what was recorded was used


def test_record_config_rewritten_after_the_build_fails_both(scenario, monkeypatch) -> None:
    """After the figures: the matrix is built with the default configuration and the record's
    configuration is rewritten to match it, its digest left as the chosen one."""
    chosen = _chosen(scenario)
    _default_matrix(monkeypatch)
    real = ArtefactStore.write_json

    def rewritten(self: ArtefactStore, data: Any, *parts: str):
        if tuple(parts) == MATRIX_RECORD:
            data = {**data, "scorer_config": ScorerConfig().to_dict()}
        return real(self, data, *parts)

    monkeypatch.setattr(ArtefactStore, "write_json", rewritten)
    checks = _blocked(scenario, "feature_matrix", "model_xgboost",
                      "feature_matrix_rebuilt_from_train")
    rebuilt = checks["feature_matrix_rebuilt_from_train"]
    assert _meta(rebuilt, "differing_columns") == "none"  # the file is the default's
    assert _meta(rebuilt, "record_digest_matches_config") is False
    used = checks["feature_matrix_uses_optimal_config"]
    assert not used.passed and _meta(used, "matrix_digest") == chosen.digest()


# (g) A fixed sampling seed: every scorer trial samples the same survivors.
def _fixed_sampling(monkeypatch) -> None:
    real = ScorerData.sample
    monkeypatch.setattr(ScorerData, "sample",
                        lambda self, trial_number, size, seed: real(self, 0, size, seed))


def test_fixed_sampling_seed_fails_samples_differ(scenario, monkeypatch) -> None:
    """Before the record: every trial draws its rows with trial 0's stream."""
    _fixed_sampling(monkeypatch)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trial_samples_differ")
    samples = checks["scorer_trial_samples_differ"]
    assert _meta(samples, "distinct_samples") == 1 and _meta(samples, "trials") == 8
    assert _meta(samples, "record_agrees_with_study") is True


def test_record_claiming_distinct_samples_fails_samples_differ(scenario, monkeypatch) -> None:
    """After the trials: the sampling is fixed and the scorer record is written claiming a
    sample of its own for each trial; the trials' own study says otherwise."""
    _fixed_sampling(monkeypatch)
    real = ArtefactStore.write_record

    def claimed(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, ScorerRecord) and not record.is_skipped:
            trials = [{**t, "sample": f"claimed{t['number']:05d}"} for t in record.trials]
            record = dataclasses.replace(record, trials=trials, distinct_samples=len(trials))
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", claimed)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trial_samples_differ")
    samples = checks["scorer_trial_samples_differ"]
    assert _meta(samples, "recorded_distinct_samples") == 8
    assert _meta(samples, "distinct_samples") == 1
    assert _meta(samples, "record_agrees_with_study") is False
