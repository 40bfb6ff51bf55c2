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
import optuna
import polars as pl
import pytest
import torch

import gpu_executors.models.forecast as forecast_code
import gpu_executors.models.mlp as mlp
import gpu_executors.ranking.matrix as matrix_code
import gpu_executors.ranking.scorer as scorer_code
import prng_assets.assets.features as feature_assets
import prng_assets.assets.models as model_assets
import prng_assets.assets.scorer as scorer_assets
from gpu_executors.models.evaluation import Split, digest
from gpu_executors.models.records import ModelSidecar
from gpu_executors.prng.synth import planted_history
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.ranking.schema import ScorerConfig
from gpu_executors.ranking.scorer import ScorerData
from prng_assets.artefact_keys import COMPARISON, MATRIX_RECORD, MATRIX_TABLE, PREDICTIONS
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
    "scorer_trials_differ",
    "scorer_trials_all_completed",
    "scorer_best_config_complete",
    "scorer_trial_samples_differ",
    "scorer_validated_rho_reproduced",
    "feature_matrix_uses_optimal_config",
    "feature_matrix_rebuilt_from_train",
    "feature_matrix_no_leakage",
)
# What a re-run rewrites; restored after each test.
SNAPSHOT = ("optimal_scorer_config", "feature_matrix", "models", "model_comparison",
            "predictions")

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
    assert _meta(checks["scorer_trials_all_completed"], "trials_completed") == 8
    validated = checks["scorer_validated_rho_reproduced"]
    assert _meta(validated, "validation_rows_in_a_trial_sample") == 0
    assert _meta(validated, "validated_rho") == pytest.approx(_meta(validated, "recorded_rho"))


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
    """After the families' records: the comparison's corrected p is hard-coded, to 0.0001, or
    to 1.0 when the true one is itself small enough that 0.0001 lies within the check's Monte
    Carlo tolerance of it (a winner with a raw p near 0.01, as here since the matrix carries
    the gap-strategy columns)."""

    def hard_coded(p_raw: float, n: int) -> float:
        return 0.0001 if min(1.0, p_raw * n) > 0.3 else 1.0

    monkeypatch.setattr(model_assets, "family_wise_p", hard_coded)
    checks = _rerun(scenario)
    reproduced = checks["models_permutation_p_reproduced"]
    assert not reproduced.passed and _meta(reproduced, "winner_agrees") is False
    recorded = _meta(reproduced, "winner_recorded")["family_wise"]
    assert recorded in (0.0001, 1.0)
    assert recorded != _meta(reproduced, "winner_recomputed")["family_wise"]
    _judged_by_recomputation(checks)


def _judged_by_recomputation(checks: Checks) -> None:
    """winner_beats_permutation uses the recomputed p (here chance: the planted seed is
    confirmed and never trained on, the rest is noise), not the recorded, hard-coded one."""
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


# (h) Identical trial values: the objective cannot tell configurations apart.
def _constant_objective(monkeypatch) -> None:
    """Every trial scores rho 0.05 (the validation score, outside the objective, is real)."""
    def constant(data, idx, params, seed, eval_idx=None):
        return {"rho": 0.05, "p_value": 0.5, "reason": "", "n_fit": len(idx), "n_eval": 40}

    monkeypatch.setattr(scorer_code, "score", constant)


def _rewritten_scorer_record(monkeypatch, change) -> None:
    """The scorer record passes through ``change`` on its way to the file."""
    real = ArtefactStore.write_record

    def rewritten(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, ScorerRecord) and not record.is_skipped:
            record = change(record)
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", rewritten)


def test_identical_trial_values_fail_trials_differ(scenario, monkeypatch) -> None:
    """Before the record: the objective returns one value for every configuration."""
    _constant_objective(monkeypatch)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trials_differ")
    differ = checks["scorer_trials_differ"]
    assert _meta(differ, "distinct_values") == 1 and _meta(differ, "value_spread") == 0
    assert _meta(differ, "record_agrees_with_study") is True


def test_record_claiming_distinct_values_fails_trials_differ(scenario, monkeypatch) -> None:
    """After the trials: the record is written with a value of its own for each trial."""
    _constant_objective(monkeypatch)
    _rewritten_scorer_record(monkeypatch, lambda r: dataclasses.replace(
        r, trials=[{**t, "value": 0.01 * t["number"]} for t in r.trials],
        distinct_values=len(r.trials), value_spread=0.01 * (len(r.trials) - 1)))
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trials_differ")
    differ = checks["scorer_trials_differ"]
    assert _meta(differ, "recorded_distinct_values") == 8
    assert _meta(differ, "distinct_values") == 1
    assert _meta(differ, "record_agrees_with_study") is False


# (i) Lost trials: failed, never run, or hidden by the record.
def test_failing_trials_fail_all_completed(scenario, monkeypatch) -> None:
    """Before the record: every other trial raises, and Optuna's catch= swallows it."""
    real = scorer_code.score
    calls = iter(range(1000))

    def flaky(data, idx, params, seed, eval_idx=None):
        if eval_idx is None and next(calls) % 2:
            raise RuntimeError("planted: a trial that dies")
        return real(data, idx, params, seed, eval_idx)

    monkeypatch.setattr(scorer_code, "score", flaky)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trials_all_completed")
    completed = checks["scorer_trials_all_completed"]
    assert _meta(completed, "trials_failed") == 4 and _meta(completed, "trials_completed") == 4


def _three_trials_never_run(monkeypatch) -> None:
    """The search is cut short: three of the requested trials never start."""
    real = optuna.study.Study.optimize

    def short(self, func, n_trials=None, **kwargs):
        return real(self, func, n_trials=n_trials - 3, **kwargs)

    monkeypatch.setattr("optuna.study.Study.optimize", short)


@pytest.mark.parametrize("hidden", ["honest", "requested_lowered", "completed_raised"])
def test_trials_never_run_fail_all_completed(scenario, monkeypatch, hidden: str) -> None:
    """Before the record (honest: 5 of 8), and after it: the record lowers the requested count
    to what completed, or claims all 8 completed; the run config and the study disagree."""
    _three_trials_never_run(monkeypatch)
    if hidden == "requested_lowered":
        _rewritten_scorer_record(monkeypatch, lambda r: dataclasses.replace(
            r, trials_requested=r.trials_completed))
    elif hidden == "completed_raised":
        _rewritten_scorer_record(monkeypatch, lambda r: dataclasses.replace(
            r, trials_completed=r.trials_requested))
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_trials_all_completed")
    completed = checks["scorer_trials_all_completed"]
    assert _meta(completed, "trials_requested") == 8  # from the run config, not the record
    assert _meta(completed, "trials_completed") == 5  # from the study
    assert _meta(completed, "record_agrees") is (hidden == "honest")


# (j) A searched parameter missing from the best configuration.
class _WithoutDropout:
    """A trial that is never asked for ``dropout``: the default is used instead."""

    def __init__(self, trial) -> None:
        self._trial = trial

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)

    def suggest_float(self, name: str, *args: Any, **kwargs: Any) -> float:
        return 0.2 if name == "dropout" else self._trial.suggest_float(name, *args, **kwargs)


def _dropout_not_searched(monkeypatch) -> None:
    """``dropout`` is dropped from the search and every configuration falls back to 0.2
    (the guard in ``configs`` loosened, so nothing raises)."""
    real_suggest, real_configs = scorer_code.suggest, scorer_code.configs

    def suggest(trial, bounds, n_train):
        params = real_suggest(_WithoutDropout(trial), bounds, n_train)
        del params["dropout"]
        return params

    def configs(params, seed=0):
        return real_configs({"dropout": 0.2, **params}, seed)

    monkeypatch.setattr(scorer_code, "suggest", suggest)
    monkeypatch.setattr(scorer_code, "configs", configs)
    monkeypatch.setattr(scorer_assets, "configs", configs)


def test_unsearched_parameter_fails_best_config(scenario, monkeypatch) -> None:
    """Before the record: the best configuration lacks ``dropout``, and says so."""
    _dropout_not_searched(monkeypatch)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_best_config_complete")
    best = checks["scorer_best_config_complete"]
    assert _meta(best, "missing") == "dropout" == _meta(best, "missing_in_record")


def test_record_filling_in_the_parameter_fails_best_config(scenario, monkeypatch) -> None:
    """After the trials: the record's best parameters get the missing value filled in, so the
    record alone is complete; the study's best trial never had it."""
    _dropout_not_searched(monkeypatch)
    _rewritten_scorer_record(monkeypatch, lambda r: dataclasses.replace(
        r, best_params={**r.best_params, "dropout": 0.2}))
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_best_config_complete")
    best = checks["scorer_best_config_complete"]
    assert _meta(best, "missing") == "dropout" and _meta(best, "missing_in_record") == "none"
    assert _meta(best, "record_agrees_with_study") is False


# (k) A validated rho that is not what the stored artefacts give.
def test_validated_on_seen_rows_fails_reproduction(scenario, monkeypatch) -> None:
    """Before the record: the best configuration is "validated" on the search rows, which the
    trials saw, not on the held-back validation rows."""
    real = scorer_assets.score

    def on_search_rows(data, idx, params, seed, eval_idx=None):
        return real(data, idx, params, seed,
                    eval_idx=data.search_idx if eval_idx is not None else None)

    monkeypatch.setattr(scorer_assets, "score", on_search_rows)
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_validated_rho_reproduced")
    validated = checks["scorer_validated_rho_reproduced"]
    assert _meta(validated, "record_agrees") is False
    assert _meta(validated, "validation_rows_in_a_trial_sample") == 0  # the cut itself is clean


def test_hard_coded_validated_rho_fails_reproduction(scenario, monkeypatch) -> None:
    """After the figures: the record claims a significant validated rho."""
    _rewritten_scorer_record(monkeypatch, lambda r: dataclasses.replace(
        r, validated_rho=0.4, validated_p_value=1e-4, validated_significant=True))
    checks = _blocked(scenario, "optimal_scorer_config", "feature_matrix",
                      "scorer_validated_rho_reproduced")
    validated = checks["scorer_validated_rho_reproduced"]
    assert _meta(validated, "recorded_rho") == 0.4 != _meta(validated, "validated_rho")


# (l) Overlapping or mislabelled test rows.
def test_test_split_overlapping_training_fails_disjoint(scenario, monkeypatch) -> None:
    """Before the record: the carved test split takes five training rows as well."""
    real = Split.carve.__func__

    def overlapping(cls, rows, seed, *args: Any, **kwargs: Any) -> Split:
        split = real(cls, rows, seed, *args, **kwargs)
        return Split(split.train, np.sort(np.concatenate([split.test, split.train[:5]])))

    monkeypatch.setattr(Split, "carve", classmethod(overlapping))
    checks = _rerun(scenario, "xgboost")
    disjoint = checks["models_test_split_disjoint"]
    assert not disjoint.passed
    assert json.loads(_meta(disjoint, "overlapping_rows")) == {"xgboost": 5}


def _relabelled(car: ModelSidecar, consistent: bool) -> ModelSidecar:
    """The sidecar's test rows swapped for as many training rows; ``consistent`` also moves the
    true test rows into the training list and re-fingerprints, so the record agrees with
    itself."""
    test, train = list(car.test_rows), list(car.train_rows)
    swapped = sorted(train[: len(test)])
    if not consistent:
        return dataclasses.replace(car, test_rows=swapped)
    rest = sorted(set(train[len(test):]) | set(test))
    return dataclasses.replace(car, test_rows=swapped, train_rows=rest,
                               split={**car.split, "test": digest(np.array(swapped)),
                                      "train": digest(np.array(rest))})


@pytest.mark.parametrize("consistent", [False, True])
def test_relabelled_test_rows_fail(scenario, monkeypatch, consistent: bool) -> None:
    """After the figures: the sidecar names other rows as the test rows; alone (the split's
    fingerprint and the training rows then contradict it), or with the family's whole split
    record rewritten to agree with itself (the model file, scored on the named rows, tells, and
    the other families' test split is no longer the same)."""
    real = ArtefactStore.write_record

    def relabelled(self: ArtefactStore, record: Any, *parts: str):
        if isinstance(record, ModelSidecar) and record.ok and record.family == "xgboost":
            record = _relabelled(record, consistent)
        return real(self, record, *parts)

    monkeypatch.setattr(ArtefactStore, "write_record", relabelled)
    checks = _rerun(scenario, "xgboost")
    sane = checks["models_r2_sane"]
    assert not sane.passed and "xgboost" in _meta(sane, "record_disagrees_with_model_file")
    disjoint = checks["models_test_split_disjoint"]
    assert not disjoint.passed
    assert _meta(disjoint, "fingerprints_match_rows") is consistent
    assert _meta(disjoint, "one_test_split") is not consistent
    assert (json.loads(_meta(disjoint, "overlapping_rows")) == {}) is consistent


@pytest.mark.parametrize("hidden", [False, True])
def test_net_fitted_on_test_rows_fails(scenario, monkeypatch, hidden: bool) -> None:
    """Before the record: the test rows are also training rows, so the network's refit takes
    some of them. Honest, the sidecar lists the overlap; hidden, it lists the training and
    refit rows without the test rows (fingerprints redone), and only the network's recorded
    loss, which is not the MSE on the rows it names, tells."""
    real = Split.carve.__func__

    def overlapping(cls, rows, seed, *args: Any, **kwargs: Any) -> Split:
        split = real(cls, rows, seed, *args, **kwargs)
        return Split(np.sort(np.concatenate([split.train, split.test])), split.test)

    def hide(car: ModelSidecar) -> ModelSidecar:
        test = set(car.test_rows)
        train = [r for r in car.train_rows if r not in test]
        return dataclasses.replace(car, train_rows=train,
                                   fit_rows=[r for r in car.fit_rows if r not in test],
                                   split={**car.split, "train": digest(np.array(train)),
                                          "n_train": len(train)})

    monkeypatch.setattr(Split, "carve", classmethod(overlapping))
    if hidden:
        write = ArtefactStore.write_record

        def hidden_write(self: ArtefactStore, record: Any, *parts: str):
            if isinstance(record, ModelSidecar) and record.ok:
                record = hide(record)
            return write(self, record, *parts)

        monkeypatch.setattr(ArtefactStore, "write_record", hidden_write)
    checks = _rerun(scenario, "neural_net")
    assert checks["models_test_split_disjoint"].passed is hidden
    loss = checks["models_training_loss_is_mse"]
    assert loss.passed is not hidden
    if hidden:
        assert _meta(loss, "mismatched") == "neural_net"


# (m) Predictions past the gate that the stored artefacts do not give.
def _predictions_checks(scenario: dict[str, Any]) -> Checks:
    run = _materialise(scenario, "predictions")
    return {e.check_name: e for e in run.get_asset_check_evaluations()}


def test_clean_predictions_are_reproduced(scenario) -> None:
    checks = scenario["checks"]
    reproduced = checks["predictions_backtest_reproduced"]
    assert reproduced.passed and _meta(reproduced, "open_sources") == "confirmed"
    assert _meta(reproduced, "backtests")["confirmed"]["hits"] > 0


def test_hard_coded_backtest_fails_reproduction(scenario, monkeypatch) -> None:
    """Before the record: every source's backtest is declared a hit (p 1e-9), so the model's
    picks are published beside the confirmed ones."""
    real = forecast_code.backtest
    monkeypatch.setattr(forecast_code, "backtest",
                        lambda hits, chance: {**real(hits, chance), "p_value": 1e-9})
    checks = _predictions_checks(scenario)
    reproduced = checks["predictions_backtest_reproduced"]
    assert not reproduced.passed and "model" in _meta(reproduced, "sources_disagreeing")
    assert _meta(reproduced, "recorded_open_sources") == "confirmed, model"
    assert _meta(reproduced, "open_sources") == "confirmed"


def test_published_draws_altered_fail_reproduction(scenario, monkeypatch) -> None:
    """After the backtest: the published picks' next draws are written shifted by one."""
    real = ArtefactStore.write_json

    def shifted(self: ArtefactStore, data: Any, *parts: str):
        if tuple(parts) == PREDICTIONS:
            picks = [{**p, "next_draws": [(v + 1) % 1000 for v in p["next_draws"]]}
                     for p in data["predictions"]]
            data = {**data, "predictions": picks}
        return real(self, data, *parts)

    monkeypatch.setattr(ArtefactStore, "write_json", shifted)
    checks = _predictions_checks(scenario)
    reproduced = checks["predictions_backtest_reproduced"]
    assert not reproduced.passed and _meta(reproduced, "picks_not_reproduced") != "none"
    assert _meta(reproduced, "sources_disagreeing") == "none"
