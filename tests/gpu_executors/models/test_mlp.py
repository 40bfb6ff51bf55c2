"""The MLP regressor: it learns, it refuses the original system's silent failures, it round-trips.

Small data (400 x 8) so the module runs in seconds. Each guard tested here maps to a past failure:
a (N,) vs (N, 1) loss, unscaled tiny targets, a collapsed model nobody could see, pickled weights.
"""

from __future__ import annotations

import math
import os

# Busy-waiting OpenMP threads crawl when the cores are shared; only effective before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch

from gpu_executors.models.mlp import (
    FittedMLP,
    MLPConfig,
    _mse,
    fit_mlp,
)
from gpu_executors.models.validation import r2


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8))
    # Nonlinear signal, scaled to std ~0.002 as in the original system's targets.
    y = (2.0 * np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(400)) * 1e-3
    return X, y


@pytest.fixture(scope="module")
def fitted(data) -> FittedMLP:
    X, y = data
    cfg = MLPConfig(hidden=(64, 32), dropout=0.0, learning_rate=1e-2, max_epochs=300, patience=30)
    return fit_mlp(X[:280], y[:280], cfg, X[280:340], y[280:340])


def test_learns_a_nonlinear_function_on_held_out_rows(data, fitted):
    X, y = data
    pred = fitted.predict(X[340:])
    assert pred.shape == (60,) and pred.dtype == np.float64
    assert r2(y[340:], pred) > 0.8  # held-out rows: neither fitted on nor early-stopped on
    assert abs(pred.std() - y[340:].std()) < y[340:].std()  # original units, not z-scores


def test_early_stopping_restores_the_best_weights(data, fitted):
    X, y = data
    val = fitted.history["val_loss"]
    assert len(val) == fitted.epochs == len(fitted.history["train_loss"])
    assert fitted.best_epoch == int(np.argmin(val))
    # The restored model reproduces the best validation loss (z-scored MSE).
    z = (fitted.predict(X[280:340]) - y[280:340]) / fitted.y_std
    assert np.mean(z**2) == pytest.approx(min(val), rel=1e-4)


def test_shape_guard_refuses_broadcasting():
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(5,\)"):
        _mse(torch.zeros(5, 1), torch.zeros(5))
    assert float(_mse(torch.ones(5), torch.zeros(5))) == 1.0


def test_column_target_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="1-D"):
        fit_mlp(X, y.reshape(-1, 1), MLPConfig(max_epochs=1))


def test_constant_target_raises_a_clear_error(data):
    X, _ = data
    with pytest.raises(ValueError, match="target is constant"):
        fit_mlp(X, np.full(len(X), 0.25), MLPConfig(max_epochs=1))


def test_constant_columns_are_centred_not_blown_up(data):
    X, y = data
    Xc = np.column_stack([X, np.full(len(X), 0.1), np.zeros(len(X))])
    m = fit_mlp(Xc, y, MLPConfig(hidden=(8,), max_epochs=2))
    assert m.x_std[-2:].tolist() == [1.0, 1.0]
    assert np.isfinite(m.predict(Xc)).all()


def test_non_finite_inputs_are_refused(data):
    X, y = data
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_mlp(Xn, y, MLPConfig(max_epochs=1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden": ()},
        {"hidden": (0, 4)},
        {"dropout": 1.0},
        {"learning_rate": 0.0},
        {"batch_size": -1},
        {"max_epochs": 0},
        {"patience": 2.5},
        {"max_steps": 0},
        {"device": ""},
    ],
)
def test_config_validation(kwargs):
    with pytest.raises(ValueError, match="MLPConfig"):
        MLPConfig(**kwargs)


def test_config_round_trips_as_plain_dict():
    cfg = MLPConfig(hidden=[32, 16], max_steps=5)
    assert cfg.hidden == (32, 16)
    assert MLPConfig.from_dict(cfg.to_dict()) == cfg


def test_activation_stats_shows_dead_units(data):
    X, y = data
    m = fit_mlp(X, y, MLPConfig(hidden=(16, 8), max_epochs=5, seed=1))
    healthy = m.activation_stats(X)
    assert [s["layer"] for s in healthy] == ["hidden.0", "hidden.1", "output"]
    assert healthy[0]["width"] == 16 and healthy[1]["width"] == 8
    assert healthy[-1]["dead_fraction"] == 0.0 and healthy[-1]["std"] > 0
    with torch.no_grad():
        m.model.blocks[1][0].weight.zero_()  # layer 1 now ignores its input: constant output
    collapsed = m.activation_stats(X)
    assert collapsed[0]["dead_fraction"] < 1.0
    assert collapsed[1]["dead_fraction"] == 1.0
    assert collapsed[-1]["dead_fraction"] == 1.0  # ...and so the prediction is a constant
    assert np.ptp(m.predict(X)) < 1e-6 * y.std()


def test_save_load_weights_only_round_trip(tmp_path, data, fitted):
    X, _ = data
    fitted.meta["note"] = "kept"
    path = fitted.save(tmp_path / "sub" / "net.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["net.pt"]  # no temp file left
    raw = torch.load(path, weights_only=True)  # plain tensors/lists/floats only
    assert raw["config"]["hidden"] == [64, 32]
    loaded = FittedMLP.load(path)
    assert loaded.config == fitted.config
    assert loaded.model.widths == (64, 32)
    assert loaded.history == fitted.history and loaded.epochs == fitted.epochs
    assert loaded.meta["note"] == "kept"
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_minibatch_path_and_step_cap(data):
    X, y = data
    m = fit_mlp(X[:300], y[:300], MLPConfig(hidden=(32, 16), batch_size=64, max_epochs=4))
    assert m.epochs == 4 and m.steps == 4 * 5  # ceil(300 / 64) batches per epoch
    capped = fit_mlp(X[:300], y[:300], MLPConfig(batch_size=64, max_epochs=50, max_steps=7))
    assert capped.steps == 7 and capped.epochs == 2
    # 65 rows at batch 64 would leave a 1-row batch, which BatchNorm cannot train on.
    odd = fit_mlp(X[:65], y[:65], MLPConfig(hidden=(8,), batch_size=64, max_epochs=2))
    assert odd.steps == 2
    assert odd.predict(X[:10]).shape == (10,)


def test_seeded_fits_are_reproducible(data):
    X, y = data
    cfg = MLPConfig(hidden=(16, 8), batch_size=128, max_epochs=3, seed=7)
    a = fit_mlp(X, y, cfg).predict(X)
    b = fit_mlp(X, y, cfg).predict(X)
    np.testing.assert_array_equal(a, b)


def test_fit_records_its_timings(data):
    """How long a fit takes is measured in bench/; here only what fit_mlp guarantees: both times
    are recorded, finite, and the epochs are part of the whole fit."""
    X, y = data
    m = fit_mlp(X[:100], y[:100], MLPConfig(max_epochs=2))
    assert math.isfinite(m.fit_seconds) and math.isfinite(m.epoch_seconds)
    assert 0.0 < m.epoch_seconds <= m.fit_seconds
