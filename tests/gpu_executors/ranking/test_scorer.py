"""The scorer search as plain functions: its objective, its parameters, its sampling."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from gpu_executors.ranking.scorer import SEARCHED, ScorerBounds, configs, spearman, suggest


def test_constant_prediction_scores_minus_one() -> None:
    target = np.linspace(0, 1, 50)
    assert spearman(np.full(50, 0.002), target) == (-1.0, 1.0)
    assert spearman(target, np.full(50, 0.002))[0] == -1.0
    rho, p = spearman(target, target)
    assert rho == pytest.approx(1.0) and p < 1e-10
    with pytest.raises(ValueError, match=r"shape \(50, 1\) != target shape \(50,\)"):
        spearman(target[:, None], target)


def test_every_searched_parameter_is_a_trial_parameter() -> None:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    trial = study.ask()
    params = suggest(trial, ScorerBounds(), n_train=320)
    assert set(params) == set(SEARCHED) == set(trial.params)
    scorer, net = configs(params)
    assert scorer.residue_mods == (
        params["residue_mod_1"],
        params["residue_mod_2"],
        params["residue_mod_3"],
    )
    assert net.hidden == tuple(int(w) for w in params["hidden_layers"].split("_"))
    assert net.batch_size == params["batch_size"]
    with pytest.raises(ValueError, match="missing: dropout"):
        configs({k: v for k, v in params.items() if k != "dropout"})


def test_enqueued_values_reach_the_trial_record() -> None:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    forced = {"residue_mod_1": 5, "hidden_layers": "512_256_128", "batch_size": 256}
    study.enqueue_trial(forced)
    trial = study.ask()
    params = suggest(trial, ScorerBounds(), n_train=320)
    assert all(params[k] == v for k, v in forced.items())


def test_trial_samples_differ_and_validation_rows_are_never_sampled() -> None:
    import polars as pl

    from gpu_executors.ranking.matrix import History
    from gpu_executors.ranking.scorer import ScorerData
    from gpu_executors.sieve.spec import SURVIVOR_SCHEMA

    n = 1000
    pool = pl.DataFrame(
        {
            "seed": np.arange(n, dtype=np.uint64),
            "generator": ["java_lcg"] * n,
            "draw": ["mod:1000"] * n,
            "offset": np.zeros(n, np.int64),
            "gap": np.zeros(n, np.int64),
            "gaps": [[]] * n,
            "strategy": [None] * n,
            "forward_matches": np.ones(n, np.int64),
            "reverse_matches": np.zeros(n, np.int64),
            "matches": np.ones(n, np.int64),
            "match_rate": np.full(n, 0.1),
        },
        schema=SURVIVOR_SCHEMA,
    )
    history = History(np.zeros(100, np.int64), 80, "java_lcg", "mod:1000", 10)
    data = ScorerData.split(pool, history, seed=3)
    samples = [data.sample(t, 100, seed=3) for t in range(5)]
    assert len({tuple(s) for s in samples}) == 5
    assert (samples[0] == data.sample(0, 100, seed=3)).all()  # a retry sees the same rows
    assert not set(np.concatenate(samples)) & set(data.validation_idx)
    with pytest.raises(ValueError, match="pool has 5 rows"):
        ScorerData.split(pool.head(5), history, seed=0)
