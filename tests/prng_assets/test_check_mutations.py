"""Mutation tests of the model checks: each failure mode of the original system re-planted.

Every test plants one fault by monkeypatching the smallest piece of code, re-materialises only
the model families it touches and ``model_comparison`` (from the stored feature matrix of one
clean planted run, module-scoped), and asserts that the named check fails at run time. Where
cheap, a fault is planted twice: before the record is written (the writer computes a wrong
figure and records it) and after (the record or the file is altered once the figures exist).
The clean run's model checks must all pass; each test restores the clean models afterwards.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from typing import Any

import dagster as dg
import numpy as np
import pytest
import torch

import gpu_executors.models.mlp as mlp
import prng_assets.assets.models as model_assets
from gpu_executors.models.records import ModelSidecar
from gpu_executors.prng.synth import planted_history
from prng_assets.artefact_keys import COMPARISON
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
SNAPSHOT = ("models", "model_comparison")  # what a re-run rewrites; restored after each test

Checks = dict[str, dg.AssetCheckEvaluation]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    values, truth = planted_history(**DEMO)
    yield from _scenario(tmp_path_factory, "mutations", values, truth)


@pytest.fixture
def scenario(clean: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The clean run, its models restored after the test (the next one starts clean)."""
    art = clean["art"]  # the case's artefact folder
    backup = clean["root"] / "clean_models"  # beside the artefact root, not among the cases
    if not backup.exists():
        for part in SNAPSHOT:
            shutil.copytree(art / part, backup / part)
    yield clean
    for part in SNAPSHOT:
        shutil.rmtree(art / part)
        shutil.copytree(backup / part, art / part)


def _rerun(scenario: dict[str, Any], *families: str) -> Checks:
    """Re-materialise ``model_<family>`` for each of ``families``, then ``model_comparison``;
    the comparison's check evaluations by name."""
    keys = [f"model_{f}" for f in families]
    job = scenario["defs"].resolve_job_def("rank_and_predict")
    run = job.execute_in_process(
        run_config={"ops": {k: FAST_ML[k] for k in keys}, **QUIET},
        instance=scenario["instance"],
        partition_key=scenario["case"],
        raise_on_error=False,
        asset_selection=[dg.AssetKey(k) for k in [*keys, "model_comparison"]],
    )
    return {e.check_name: e for e in run.get_asset_check_evaluations()}


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
