"""Model evaluation as plain functions: the test split, the skip registry, checks, baselines."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_executors.models.evaluation import (
    Split,
    backtest,
    confirmed,
    constant_models,
    digest,
    family_wise_p,
    insane_r2,
    permutation_p_value,
    ranking_skip_reason,
    shape_mismatches,
    skipped,
    split_problems,
    update_registry,
)


def test_split_is_carved_once_and_disjoint() -> None:
    a, b = Split.carve(1000, seed=4), Split.carve(1000, seed=4)
    assert (a.test == b.test).all() and not set(a.train) & set(a.test)
    assert len(a.test) == 200 and len(a.train) == 800
    with pytest.raises(ValueError, match="at least 10"):
        Split.carve(5, seed=0)


def _car(family: str, **changes) -> dict:
    split = Split.carve(100, seed=0)
    car = {
        "family": family,
        "test_r2": 0.01,
        "cv_r2_mean": 0.02,
        "test_shapes": {"target": [20], "prediction": [20]},
        "prediction_std": 0.1,
        "train_rows": split.train.tolist(),
        "test_rows": split.test.tolist(),
        "split": split.fingerprints(),
    }
    return {**car, **changes}


def test_model_checks_catch_planted_bugs() -> None:
    good = [_car("xgboost"), _car("catboost")]
    assert not insane_r2(good) and not shape_mismatches(good) and not constant_models(good)
    assert split_problems(good) == {
        "overlapping_rows": {},
        "one_test_split": True,
        "fingerprints_match_rows": True,
    }
    # A planted shape bug: predictions (N, 1) against targets (N,).
    assert shape_mismatches(
        [_car("neural_net", test_shapes={"target": [20], "prediction": [20, 1]})]
    )
    # The original's broadcast loss: R^2 = -1076.
    assert insane_r2([_car("neural_net", test_r2=-1076.0)]) == {"neural_net": -1076.0}
    assert insane_r2([_car("neural_net", test_r2=float("nan"))])
    # A planted constant model.
    assert constant_models([_car("lightgbm", prediction_std=0.0)]) == ["lightgbm"]
    # A planted train/test overlap: test rows also in training.
    bad = _car("xgboost")
    bad["train_rows"] = bad["train_rows"] + bad["test_rows"][:3]
    assert split_problems([bad])["overlapping_rows"] == {"xgboost": 3}
    # A test split recorded under one fingerprint but different rows.
    moved = _car("catboost")
    moved["test_rows"] = [*moved["test_rows"][1:], moved["train_rows"][0]]
    assert not split_problems([moved])["fingerprints_match_rows"]


def test_skip_registry_entries_expire() -> None:
    reg: dict = {}
    for i in range(3):
        assert skipped(reg, "catboost", now=100.0 + i) is None
        reg = update_registry(reg, "catboost", False, "boom", now=100.0 + i)
    assert "3 failures in a row" in skipped(reg, "catboost", now=200.0)
    assert skipped(reg, "catboost", now=102.0 + 24 * 3600 + 1) is None  # expired
    assert update_registry(reg, "catboost", True, now=300.0)["catboost"]["skip_until"] == 0.0


def test_backtest_and_permutation_against_chance() -> None:
    assert backtest(np.zeros(100, bool), 0.001)["p_value"] == 1.0
    exact = backtest(np.ones(80, bool), 0.001)
    assert exact["hit_rate"] == 1.0 and exact["p_value"] < 1e-100
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    assert permutation_p_value(y, y + rng.normal(scale=0.1, size=300), 0.99) < 0.01
    noise = rng.normal(size=300)
    r2 = 1 - ((y - noise) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert permutation_p_value(y, noise, r2) > 0.05
    assert digest(np.arange(3)) != digest(np.arange(4))


def test_confirmation_needs_bonferroni_evidence() -> None:
    ev = np.array([0.5, 3.0, 7.0, 320.0])
    assert confirmed(ev, 1_000_000).tolist() == [False, False, False, True]
    assert confirmed(ev, 10).tolist() == [False, True, True, True]


def test_models_skip_when_too_few_unconfirmed_rows_are_left_to_rank() -> None:
    chance = np.zeros(30)
    assert ranking_skip_reason(chance) is None
    assert ranking_skip_reason(chance[:19]).startswith("the survivor pool has 19 rows")
    assert ranking_skip_reason(np.zeros(0)).startswith("the survivor pool is empty: ")
    sure = chance.copy()
    sure[:11] = 320.0  # confirmed: never trained on, so 19 rows are left to rank
    assert ranking_skip_reason(sure).startswith("11 of 30 survivors are confirmed, leaving 19")
    assert ranking_skip_reason(np.concatenate([sure, [0.0]])) is None  # 20 left: ranked


def test_the_winner_p_value_pays_for_being_picked_among_families():
    """Four chance models on one test split: the best one's raw p < 0.05 one time in five."""
    rng = np.random.default_rng(7)
    y = rng.normal(size=400)
    raw_wins = corrected_wins = 0
    runs = 100
    for _ in range(runs):
        best = max(
            (rng.normal(size=400) * 0.05 for _ in range(4)),
            key=lambda pred: 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum(),
        )
        r2 = 1 - ((y - best) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        p = permutation_p_value(y, best, r2, n_perm=199, seed=1)
        raw_wins += p < 0.05
        corrected_wins += family_wise_p(p, 4) < 0.05
    assert raw_wins > corrected_wins
    assert corrected_wins <= 0.1 * runs
    assert family_wise_p(0.3, 4) == 1.0 and family_wise_p(0.01, 4) == 0.04
    with pytest.raises(ValueError):
        family_wise_p(0.5, 0)
