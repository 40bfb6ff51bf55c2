"""The TPE search: the best configuration refits as searched, failed trials are recorded (the
original system lost them), the caller's study is used, and the record keeps its stored keys."""

from __future__ import annotations

import statistics

import optuna
import pytest
from optuna.trial import TrialState

from gpu_executors.models import search as S
from gpu_executors.models.cv import CVResult
from gpu_executors.models.families import Family
from gpu_executors.models.fitting import fit
from gpu_executors.models.search import SearchResult, make_study, search
from tests.gpu_executors.models.cheap import CHEAP

STORED_KEYS = [
    "family", "study_name", "n_rows", "n_features", "folds", "seed", "budget", "device",
    "fold_workers", "threads_per_fit", "best_params", "best_cv_mean", "best_cv_sd",
    "best_fold_scores", "best_trial", "trials", "trials_requested", "trials_completed",
    "trials_failed", "trials_pruned", "errors", "seconds", "warmup_seconds", "train_seconds",
    "overhead_seconds", "median_overhead_seconds",
]  # fmt: skip
TRIAL_KEYS = [
    "number", "state", "params", "value", "fold_scores", "cv_sd", "seconds", "train_seconds",
    "overhead_seconds", "fold_info", "error",
]  # fmt: skip


@pytest.mark.parametrize("family", ["neural_net", "xgboost", "lightgbm", "catboost"])
def test_search_then_refit_uses_the_searched_hyperparameters(family, data):
    X, y = data
    study = make_study(seed=0)
    study.enqueue_trial(CHEAP[family])  # one cheap known trial, then one TPE draw (nn, trees)
    seen: list[dict] = []
    n_trials = 2 if family in ("neural_net", "xgboost", "lightgbm") else 1
    res = search(
        family, X[:200], y[:200], n_trials, folds=2, seed=0, study=study, progress=seen.append
    )
    assert isinstance(res, SearchResult) and res.family is Family(family)
    assert res.trials_requested == n_trials == len(res.trials) == len(seen)
    assert res.trials_completed == n_trials and res.trials_failed == 0
    best = res.best_params
    best_trial = next(t for t in res.trials if t.number == res.best_trial)
    assert best == best_trial.params and res.best_cv_mean == best_trial.value
    assert len(res.best_fold_scores) == 2
    overheads = [t.overhead_seconds for t in res.completed]
    assert all(o is not None and o >= 0.0 for o in overheads)
    assert res.median_overhead_seconds == statistics.median(overheads)
    if family in ("xgboost", "lightgbm", "catboost"):
        assert set(best) == set(CHEAP[family])
    else:
        assert set(best) == set(CHEAP[family]) - {"layer_1"} | {
            f"layer_{i}" for i in range(best["n_layers"])
        }

    m = fit(family, best, X, y)
    if family == "neural_net":
        cfg = m.model.config
        assert m.model.model.widths == tuple(best[f"layer_{i}"] for i in range(best["n_layers"]))
        assert (cfg.dropout, cfg.learning_rate, cfg.batch_size) == (
            best["dropout"],
            best["learning_rate"],
            best["batch_size"],
        )
        assert (cfg.max_epochs, cfg.patience) == (best["max_epochs"], best["patience"])
    elif family == "xgboost":
        got = m.model.get_params()
        assert got["max_depth"] == best["max_depth"]
        assert got["n_estimators"] == best["n_estimators"]
        assert got["learning_rate"] == best["learning_rate"]
        assert got["subsample"] == best["subsample"]
        assert got["colsample_bytree"] == best["colsample"]
    elif family == "lightgbm":
        got = m.model.params
        assert got["max_depth"] == best["max_depth"]
        assert got["num_iterations"] == best["n_estimators"]
        assert got["learning_rate"] == best["learning_rate"]
        assert got["subsample"] == best["subsample"] and got["subsample_freq"] == 1
        assert got["colsample_bytree"] == best["colsample"]
        assert m.model.num_trees() == best["n_estimators"]
    else:
        got = m.model.get_params()
        assert (got["depth"], got["iterations"]) == (best["depth"], best["iterations"])
        assert got["learning_rate"] == best["learning_rate"]


def test_failed_trials_are_recorded_not_swallowed(data):
    X, _ = data
    y = [3.0] * len(X)  # every fit refuses a constant target
    with pytest.warns(RuntimeWarning, match="2 of 2 trials failed"):
        res = search("neural_net", X, y, n_trials=2, folds=2, seed=0)
    assert len(res.failed) == 2 and not res.completed
    assert res.best_params is None and res.median_overhead_seconds is None
    assert all("target is constant" in e["error"] for e in res.errors)
    assert all(t.state == TrialState.FAIL for t in res.trials)
    stored = res.to_dict()
    assert (stored["trials_failed"], stored["trials_completed"], stored["train_seconds"]) == (
        2,
        0,
        0.0,
    )
    assert [t["state"] for t in stored["trials"]] == ["FAIL", "FAIL"]


def test_search_uses_a_caller_study_with_storage(tmp_path, data):
    X, y = data
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = make_study(seed=0, storage=storage, study_name="lgb-test")
    study.enqueue_trial(CHEAP["lightgbm"])
    res = search("lightgbm", X[:200], y[:200], 1, folds=2, seed=0, study=study)
    assert res.study_name == "lgb-test"
    again = optuna.load_study(study_name="lgb-test", storage=storage)
    assert len(again.trials) == 1 and again.best_params == res.best_params


def test_the_stored_record_keeps_its_keys(data):
    X, y = data
    study = make_study(seed=0)
    study.enqueue_trial(CHEAP["xgboost"])
    stored = search("xgboost", X[:100], y[:100], 1, folds=2, seed=0, study=study).to_dict()
    assert list(stored) == STORED_KEYS
    assert list(stored["trials"][0]) == TRIAL_KEYS
    assert stored["family"] == "xgboost" and type(stored["family"]) is str
    assert stored["trials"][0]["state"] == "COMPLETE"
    assert (stored["trials_completed"], stored["trials_failed"], stored["trials_pruned"]) == (
        1,
        0,
        0,
    )
    assert stored["budget"]["prune"] is False and stored["errors"] == []


def test_search_overhead_counts_every_fold_when_folds_overlap(data, monkeypatch):
    """Overhead = the trial's time outside its CV + each fold's time outside training, summed over
    the folds even when they ran side by side (their wall times then add up to more than the
    CV's): planted fold times make the sum exact."""
    X, y = data

    def planted_cv(family, params, *args, **kwargs) -> CVResult:
        return CVResult(
            family=Family(family), params=params, folds=2, folds_requested=2, scores=[0.1, 0.3],
            mean=0.2, sd=0.1, fold_seconds=[5.0, 7.0], fit_seconds=[4.0, 6.0],
            train_seconds=[3.0, 4.0], fold_info=[{}, {}], seconds=0.0, workers=2,
            threads_per_fit=1,
        )  # fmt: skip

    monkeypatch.setattr(S, "cross_validate", planted_cv)
    res = search("xgboost", X, y, 1, folds=2, seed=0, workers=2)
    (trial,) = res.trials
    assert trial.train_seconds == 7.0
    assert trial.overhead_seconds == pytest.approx(trial.seconds + (12.0 - 7.0))
    assert trial.value == 0.2 and trial.fold_scores == [0.1, 0.3]
