"""One fit of each family: shapes, the searched params reaching the trainer, the budget's caps.

Answers the original system's refit that ignored the tuned architecture, its (N,) vs (N, 1)
loss, and a collapsed model nobody could diagnose.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpu_executors.models.budget import Budget
from gpu_executors.models.families import FAMILIES, Family
from gpu_executors.models.fitting import fit
from gpu_executors.models.validation import r2
from tests.gpu_executors.models.cheap import CHEAP


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_fits_and_predicts(family, data):
    X, y = data
    m = fit(family, CHEAP[family], X[:300], y[:300])
    pred = m.predict(X[300:])
    assert pred.shape == (100,) and pred.dtype == np.float64
    assert m.family is Family(family) and m.params == CHEAP[family]
    assert m.n_features == 8
    assert math.isfinite(m.fit_seconds) and 0.0 < m.train_seconds <= m.fit_seconds
    assert r2(y[300:], pred) > 0.3  # it learned something, on rows it never saw
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:5, :7])


@pytest.mark.parametrize("family", ["neural_net", "lightgbm"])
def test_history_and_activation_stats_for_diagnosis(family, data):
    X, y = data
    m = fit(family, CHEAP[family], X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    stats = m.activation_stats(X[:50])
    assert stats[-1]["layer"] == "output" and stats[-1]["dead_fraction"] == 0.0
    if family == "neural_net":
        assert len(m.history["val_loss"]) == m.model.epochs > 0
        assert [s["layer"] for s in stats] == ["hidden.0", "hidden.1", "output"]
        assert "val_r2" not in m.info  # the net early-stops on the validation rows instead
    else:
        assert m.history is None and len(stats) == 1
        assert "val_r2" in m.info  # trees only score the validation rows without early stopping


def test_leaf_cap_bounds_rounds_by_tree_size(data):
    X, y = data
    b = Budget(tree_max_leaves=640)
    xgb = fit("xgboost", dict(CHEAP["xgboost"], max_depth=6, n_estimators=300), X, y, budget=b)
    assert xgb.info["rounds"] == 10 == xgb.model.get_booster().num_boosted_rounds()
    lgb = fit("lightgbm", dict(CHEAP["lightgbm"], max_depth=9), X, y, budget=b)
    assert lgb.info["rounds"] == 640 // 31 == lgb.model.num_trees()  # at most 31 leaves a tree
    cat = fit("catboost", dict(CHEAP["catboost"], depth=4), X, y, budget=b)
    assert cat.info["rounds"] == 40 == cat.model.tree_count_
    shallow = fit("xgboost", dict(CHEAP["xgboost"], max_depth=2), X, y, budget=b)
    assert shallow.info["rounds"] == CHEAP["xgboost"]["n_estimators"]  # under the cap: as drawn
    assert shallow.params == dict(CHEAP["xgboost"], max_depth=2)  # the cap never edits params
    with pytest.raises(ValueError, match="tree_max_leaves"):
        Budget(tree_max_leaves=0)


def test_budget_caps_nn_steps_and_early_stops_trees(data):
    X, y = data
    b = Budget(nn_max_passes=2, tree_early_stopping=5, max_bin=16)
    nn = fit("neural_net", dict(CHEAP["neural_net"], batch_size=64), X[:256], y[:256], budget=b)
    assert nn.model.steps == 2 * 4  # two passes of ceil(256 / 64) batches
    assert b.nn_step_cap(256, 0) == 2  # full batch: one step per pass
    many = dict(CHEAP["xgboost"], n_estimators=500, learning_rate=0.3)
    m = fit("xgboost", many, X[:300], y[:300], X_val=X[300:], y_val=y[300:], budget=b)
    assert m.info["best_iteration"] < 499 and m.model.get_params()["max_bin"] == 16
    with pytest.raises(ValueError, match="nn_max_passes"):
        Budget(nn_max_passes=0)


def test_fit_refuses_column_targets_and_half_validation_sets(data):
    X, y = data
    with pytest.raises(ValueError, match="1-D"):
        fit("xgboost", CHEAP["xgboost"], X, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="both X_val and y_val"):
        fit("xgboost", CHEAP["xgboost"], X, y, X_val=X)
    with pytest.raises(ValueError, match="threads"):
        fit("xgboost", CHEAP["xgboost"], X, y, threads=0)
