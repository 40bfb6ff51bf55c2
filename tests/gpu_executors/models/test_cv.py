"""k-fold CV: held-out folds only (the original system's "test R^2" was on training rows),
folds side by side without changing a score, and pruning that stops further folds."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from gpu_executors.models import cv as CV
from gpu_executors.models.cv import cross_validate, fold_workers
from tests.gpu_executors.models.cheap import CHEAP


@pytest.mark.parametrize("family", ["xgboost", "neural_net"])
def test_cross_validate_returns_one_score_per_fold(family, data):
    X, y = data
    cv = cross_validate(family, CHEAP[family], X, y, folds=4, seed=3)
    assert cv.folds == 4 and len(cv.scores) == 4
    assert cv.mean == pytest.approx(np.mean(cv.scores))
    assert cv.sd == pytest.approx(np.std(cv.scores, ddof=1))
    assert all(-1.0 < s < 1.0 for s in cv.scores)
    assert len(cv.fold_seconds) == len(cv.fit_seconds) == len(cv.train_seconds) == 4
    if family == "neural_net":  # early stopping ran on the inner split, so epochs are recorded
        assert all("epochs" in info for info in cv.fold_info)


def test_cross_validate_clamps_folds_and_refuses_too_few_rows(data):
    X, y = data
    cv = cross_validate("lightgbm", CHEAP["lightgbm"], X[:12], y[:12], folds=50)
    assert cv.folds == 6 and cv.folds_requested == 50
    with pytest.raises(ValueError, match="at least 2 rows"):
        cross_validate("xgboost", CHEAP["xgboost"], X[:1], y[:1])
    with pytest.raises(ValueError, match="too few"):
        cross_validate("xgboost", CHEAP["xgboost"], X[:3], y[:3])
    with pytest.raises(ValueError, match="folds >= 2"):
        cross_validate("xgboost", CHEAP["xgboost"], X, y, folds=1)


@pytest.mark.parametrize("family", ["lightgbm", "neural_net"])
def test_parallel_folds_score_exactly_as_one_at_a_time(family, data, monkeypatch):
    """Folds side by side (the default on CPU) must not change a score: each fold depends only on
    its rows and the seed. One thread per fit in both runs, so the arithmetic is the same."""
    X, y = data
    monkeypatch.setattr(CV, "_cpus", lambda: 1)
    one = cross_validate(family, CHEAP[family], X, y, folds=4, seed=5, workers=1)
    side = cross_validate(family, CHEAP[family], X, y, folds=4, seed=5, workers=2)
    assert (one.workers, side.workers) == (1, 2)
    assert side.scores == one.scores
    assert len(side.fold_seconds) == 4


def test_a_pruned_trial_starts_no_further_fold(data, monkeypatch):
    X, y = data
    started: list[int] = []
    real_fit = CV.fit

    def counting_fit(*args, **kwargs):
        started.append(len(args[2]))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(CV, "fit", counting_fit)
    seen: list[int] = []

    def prune_first(i: int, score: float, scores: list[float]) -> None:
        seen.append(i)
        raise optuna.TrialPruned("trails")

    with pytest.raises(optuna.TrialPruned):
        cross_validate("xgboost", CHEAP["xgboost"], X, y, folds=5, on_fold=prune_first, workers=2)
    assert seen == [0]
    assert len(started) == 2  # fold 0 and the fold already running beside it; 2-4 never start


def test_fold_workers_defaults_to_one_single_threaded_fold_per_core(monkeypatch):
    monkeypatch.setattr(CV, "_cpus", lambda: 16)
    assert fold_workers(5) == (5, 3)
    assert fold_workers(5, workers=2) == (2, 8)
    assert fold_workers(5, device="cuda:0") == (1, 16)
    monkeypatch.setattr(CV, "_cpus", lambda: 2)
    assert fold_workers(5) == (2, 1)
    with pytest.raises(ValueError, match="workers"):
        fold_workers(5, workers=0)
