"""The four model families: fit/predict shapes, CV, search, the searched-name mapping, reloads.

Each test answers a failure of the original system: the refit that ignored the tuned
architecture (build_params + refit checks), failed trials that vanished (recorded errors), a
"test R^2" on training rows (held-out folds only), and models that could not be reloaded (a fresh
interpreter loads every family and must predict identically). Data are small (400 x 8) and cheap
trials are enqueued where a random draw could be slow, so the module runs in seconds.
"""

from __future__ import annotations

import json
import os

# Busy-waiting OpenMP threads crawl when the cores are shared; only effective before they load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import subprocess
import sys

import numpy as np
import optuna
import pytest

from gpu_executors.models import regressors as R
from tests.paths import ROOT

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

CHEAP = {
    "neural_net": {
        "n_layers": 2,
        "layer_0": 64,
        "layer_1": 32,
        "dropout": 0.2,
        "learning_rate": 3e-3,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 10,
    },
    "xgboost": {
        "n_estimators": 100,
        "max_depth": 3,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample": 0.9,
    },
    "lightgbm": {
        "n_estimators": 100,
        "max_depth": 4,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample": 0.9,
    },
    "catboost": {"iterations": 200, "depth": 4, "learning_rate": 0.1},
}


@pytest.fixture(scope="module", autouse=True)
def _quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8))
    y = (2.0 * np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.standard_normal(400)) * 1e-3
    return X, y


@pytest.mark.parametrize("family", R.FAMILIES)
def test_every_family_fits_and_predicts(family, data):
    X, y = data
    m = R.fit(family, CHEAP[family], X[:300], y[:300])
    pred = m.predict(X[300:])
    assert pred.shape == (100,) and pred.dtype == np.float64
    assert m.family == family and m.params == CHEAP[family]
    assert m.fit_seconds > 0
    assert R.r2(y[300:], pred) > 0.3  # it learned something, on rows it never saw
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:5, :7])


@pytest.mark.parametrize("family", ["neural_net", "lightgbm"])
def test_history_and_activation_stats_for_diagnosis(family, data):
    X, y = data
    m = R.fit(family, CHEAP[family], X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    stats = m.activation_stats(X[:50])
    assert stats[-1]["layer"] == "output" and stats[-1]["dead_fraction"] == 0.0
    if family == "neural_net":
        assert len(m.history["val_loss"]) == m.model.epochs > 0
        assert [s["layer"] for s in stats] == ["hidden.0", "hidden.1", "output"]
    else:
        assert m.history is None and len(stats) == 1
        assert "val_r2" in m.info  # trees only score the validation rows without early stopping


@pytest.mark.parametrize("family", ["xgboost", "neural_net"])
def test_cross_validate_returns_one_score_per_fold(family, data):
    X, y = data
    cv = R.cross_validate(family, CHEAP[family], X, y, folds=4, seed=3)
    assert cv["folds"] == 4 and len(cv["scores"]) == 4
    assert cv["mean"] == pytest.approx(np.mean(cv["scores"]))
    assert cv["sd"] == pytest.approx(np.std(cv["scores"], ddof=1))
    assert all(-1.0 < s < 1.0 for s in cv["scores"])
    if family == "neural_net":  # early stopping ran on the inner split, so epochs are recorded
        assert all("epochs" in info for info in cv["fold_info"])


def test_cross_validate_clamps_folds_and_refuses_too_few_rows(data):
    X, y = data
    cv = R.cross_validate("lightgbm", CHEAP["lightgbm"], X[:12], y[:12], folds=50)
    assert cv["folds"] == 6 and cv["folds_requested"] == 50
    with pytest.raises(ValueError, match="at least 2 rows"):
        R.cross_validate("xgboost", CHEAP["xgboost"], X[:1], y[:1])
    with pytest.raises(ValueError, match="too few"):
        R.cross_validate("xgboost", CHEAP["xgboost"], X[:3], y[:3])
    with pytest.raises(ValueError, match="folds >= 2"):
        R.cross_validate("xgboost", CHEAP["xgboost"], X, y, folds=1)


@pytest.mark.parametrize("family", R.FAMILIES)
def test_suggested_names_are_real_trial_params(family):
    study = R.make_study(seed=1)
    for _ in range(5):
        trial = study.ask()
        params = R.suggest_params(trial, family)
        assert params == trial.params
        R.build_params(family, params)  # every searched name maps
        if family == "neural_net":
            widths = [params[f"layer_{i}"] for i in range(params["n_layers"])]
            assert widths == sorted(widths, reverse=True) and widths[-1] >= 32
            assert params["batch_size"] in (0, 256, 512, 1024)
        study.tell(trial, 0.0)


def test_build_params_maps_searched_names_explicitly():
    nn = dict(CHEAP["neural_net"], n_layers=3, layer_2=16)
    assert R.build_params("neural_net", nn) == {
        "hidden": (64, 32, 16),
        "dropout": 0.2,
        "learning_rate": 3e-3,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 10,
    }
    assert R.build_params("xgboost", CHEAP["xgboost"])["colsample_bytree"] == 0.9
    assert R.build_params("catboost", CHEAP["catboost"]) == CHEAP["catboost"]
    with pytest.raises(ValueError, match="unknown"):
        R.build_params("xgboost", dict(CHEAP["xgboost"], gamma=1.0))
    with pytest.raises(ValueError, match="missing"):
        R.build_params("lightgbm", {k: v for k, v in CHEAP["lightgbm"].items() if k != "subsample"})
    with pytest.raises(ValueError, match="layer_2"):  # n_layers says 3, only two widths given
        R.build_params("neural_net", dict(CHEAP["neural_net"], n_layers=3))
    with pytest.raises(ValueError, match="n_layers"):
        R.build_params("neural_net", {k: v for k, v in nn.items() if k != "n_layers"})
    with pytest.raises(ValueError, match="unknown model family"):
        R.build_params("svm", {})


@pytest.mark.parametrize("family", R.FAMILIES)
def test_search_then_refit_uses_the_searched_hyperparameters(family, data):
    X, y = data
    study = R.make_study(seed=0)
    study.enqueue_trial(CHEAP[family])  # one cheap known trial, then one TPE draw (nn, trees)
    seen: list[dict] = []
    n_trials = 2 if family in ("neural_net", "xgboost", "lightgbm") else 1
    res = R.search(
        family, X[:200], y[:200], n_trials, folds=2, seed=0, study=study, progress=seen.append
    )
    assert res["trials_requested"] == n_trials == len(res["trials"]) == len(seen)
    assert res["trials_completed"] == n_trials and res["trials_failed"] == 0
    best = res["best_params"]
    best_trial = next(t for t in res["trials"] if t["number"] == res["best_trial"])
    assert best == best_trial["params"] and res["best_cv_mean"] == best_trial["value"]
    assert len(res["best_fold_scores"]) == 2
    if family in ("xgboost", "lightgbm", "catboost"):
        assert set(best) == set(CHEAP[family])
    else:
        assert set(best) == set(CHEAP[family]) - {"layer_1"} | {
            f"layer_{i}" for i in range(best["n_layers"])
        }
        assert res["median_overhead_seconds"] is not None

    m = R.fit(family, best, X, y)
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
    y = np.full(len(X), 3.0)  # every fit refuses a constant target
    with pytest.warns(RuntimeWarning, match="2 of 2 trials failed"):
        res = R.search("neural_net", X, y, n_trials=2, folds=2, seed=0)
    assert res["trials_failed"] == 2 and res["trials_completed"] == 0
    assert res["best_params"] is None
    assert all("target is constant" in e["error"] for e in res["errors"])
    assert all(t["state"] == "FAIL" for t in res["trials"])


def test_search_uses_a_caller_study_with_storage(tmp_path, data):
    X, y = data
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = R.make_study(seed=0, storage=storage, study_name="lgb-test")
    study.enqueue_trial(CHEAP["lightgbm"])
    res = R.search("lightgbm", X[:200], y[:200], 1, folds=2, seed=0, study=study)
    assert res["study_name"] == "lgb-test"
    again = optuna.load_study(study_name="lgb-test", storage=storage)
    assert len(again.trials) == 1 and again.best_params == res["best_params"]


@pytest.mark.parametrize("family", ["lightgbm", "neural_net"])
def test_parallel_folds_score_exactly_as_one_at_a_time(family, data, monkeypatch):
    """Folds side by side (the default on CPU) must not change a score: each fold depends only on
    its rows and the seed. One thread per fit in both runs, so the arithmetic is the same."""
    X, y = data
    monkeypatch.setattr(R, "_threads", lambda: 1)
    one = R.cross_validate(family, CHEAP[family], X, y, folds=4, seed=5, workers=1)
    side = R.cross_validate(family, CHEAP[family], X, y, folds=4, seed=5, workers=2)
    assert (one["workers"], side["workers"]) == (1, 2)
    assert side["scores"] == one["scores"]
    assert len(side["fold_seconds"]) == 4


def test_a_pruned_trial_starts_no_further_fold(data, monkeypatch):
    X, y = data
    started: list[int] = []
    real_fit = R.fit

    def counting_fit(*args, **kwargs):
        started.append(len(args[2]))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(R, "fit", counting_fit)
    seen: list[int] = []

    def prune_first(i: int, score: float, scores: list[float]) -> None:
        seen.append(i)
        raise optuna.TrialPruned("trails")

    with pytest.raises(optuna.TrialPruned):
        R.cross_validate(
            "xgboost", CHEAP["xgboost"], X, y, folds=5, on_fold=prune_first, workers=2
        )
    assert seen == [0]
    assert len(started) == 2  # fold 0 and the fold already running beside it; 2-4 never start


def test_fold_workers_defaults_to_one_single_threaded_fold_per_core(monkeypatch):
    monkeypatch.setattr(R, "_threads", lambda: 16)
    assert R.fold_workers(5) == (5, 3)
    assert R.fold_workers(5, workers=2) == (2, 8)
    assert R.fold_workers(5, device="cuda:0") == (1, 16)
    monkeypatch.setattr(R, "_threads", lambda: 2)
    assert R.fold_workers(5) == (2, 1)
    with pytest.raises(ValueError, match="workers"):
        R.fold_workers(5, workers=0)


def test_leaf_cap_bounds_rounds_by_tree_size(data):
    X, y = data
    b = R.Budget(tree_max_leaves=640)
    xgb = R.fit("xgboost", dict(CHEAP["xgboost"], max_depth=6, n_estimators=300), X, y, budget=b)
    assert xgb.info["rounds"] == 10 == xgb.model.get_booster().num_boosted_rounds()
    lgb = R.fit("lightgbm", dict(CHEAP["lightgbm"], max_depth=9), X, y, budget=b)
    assert lgb.info["rounds"] == 640 // 31 == lgb.model.num_trees()  # at most 31 leaves a tree
    cat = R.fit("catboost", dict(CHEAP["catboost"], depth=4), X, y, budget=b)
    assert cat.info["rounds"] == 40 == cat.model.tree_count_
    shallow = R.fit("xgboost", dict(CHEAP["xgboost"], max_depth=2), X, y, budget=b)
    assert shallow.info["rounds"] == CHEAP["xgboost"]["n_estimators"]  # under the cap: as drawn
    assert R.Budget().tree_round_cap("catboost", 10) is None
    with pytest.raises(ValueError, match="tree_max_leaves"):
        R.Budget(tree_max_leaves=0)


def test_search_overhead_counts_every_fold_when_folds_overlap(data):
    X, y = data
    study = R.make_study(seed=0)
    study.enqueue_trial(CHEAP["neural_net"])
    res = R.search("neural_net", X, y, 1, folds=4, seed=0, study=study, workers=2)
    assert res["fold_workers"] == min(2, os.cpu_count() or 1)
    (trial,) = res["trials"]
    assert 0.0 <= trial["overhead_seconds"] < trial["seconds"]
    assert trial["train_seconds"] > 0.0


def test_budget_caps_nn_steps_and_early_stops_trees(data):
    X, y = data
    b = R.Budget(nn_max_passes=2, tree_early_stopping=5, max_bin=16)
    nn = R.fit("neural_net", dict(CHEAP["neural_net"], batch_size=64), X[:256], y[:256], budget=b)
    assert nn.model.steps == 2 * 4  # two passes of ceil(256 / 64) batches
    assert b.nn_step_cap(256, 0) == 2  # full batch: one step per pass
    many = dict(CHEAP["xgboost"], n_estimators=500, learning_rate=0.3)
    m = R.fit("xgboost", many, X[:300], y[:300], X_val=X[300:], y_val=y[300:], budget=b)
    assert m.info["best_iteration"] < 499 and m.model.get_params()["max_bin"] == 16
    with pytest.raises(ValueError, match="nn_max_passes"):
        R.Budget(nn_max_passes=0)


def test_fresh_process_reloads_every_family_identically(tmp_path, data):
    X, y = data
    paths = {}
    expected = {}
    for family in R.FAMILIES:
        m = R.fit(family, CHEAP[family], X[:300], y[:300], seed=2)
        paths[family] = R.save_model(m, tmp_path / f"model_{family}")
        assert paths[family].suffix == R.EXTENSIONS[family]
        expected[family] = m.predict(X)
    np.save(tmp_path / "X.npy", X)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temp files left behind: {leftovers}"

    script = (
        "import sys, json, numpy as np\n"
        "from pathlib import Path\n"
        "from gpu_executors.models.regressors import load_model\n"
        "d = Path(sys.argv[1]); X = np.load(d / 'X.npy')\n"
        "params = {}\n"
        "for fam, path in json.loads(sys.argv[2]).items():\n"
        "    m = load_model(fam, path)\n"
        "    np.save(d / f'pred_{fam}.npy', m.predict(X))\n"
        "    params[fam] = m.params\n"
        "(d / 'params.json').write_text(json.dumps(params))\n"
        "assert 'dagster' not in sys.modules, 'gpu_executors must not import dagster'\n"
    )
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    proc = subprocess.run(
        [python, "-c", script, str(tmp_path), json.dumps({k: str(v) for k, v in paths.items()})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    params = json.loads((tmp_path / "params.json").read_text())
    for family in R.FAMILIES:
        got = np.load(tmp_path / f"pred_{family}.npy")
        assert got.shape == (len(X),)
        assert np.allclose(got, expected[family], rtol=1e-6, atol=0), family
        if family == "lightgbm":  # its file keeps floats to 6 significant digits
            assert params[family]["max_depth"] == CHEAP[family]["max_depth"]
        else:
            assert params[family] == CHEAP[family]


def test_r2_refuses_mismatched_shapes_and_non_finite():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 1\)"):
        R.r2(y, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="equal shape"):
        R.r2(y, y[:3])
    with pytest.raises(ValueError, match="NaN"):
        R.r2(y, np.array([1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(ValueError, match="constant"):
        R.r2(np.ones(4), y)
    assert R.r2(y, y) == 1.0
    assert R.r2(y, np.full(4, y.mean())) == 0.0


def test_fit_refuses_column_targets(data):
    X, y = data
    with pytest.raises(ValueError, match="1-D"):
        R.fit("xgboost", CHEAP["xgboost"], X, y.reshape(-1, 1))
