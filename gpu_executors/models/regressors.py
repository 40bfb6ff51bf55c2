"""Four regressor families, their Optuna search spaces, k-fold CV and native-format persistence.

Written against the original system's failures:

* the final refit ignored the tuned architecture because Optuna's names (``n_layers``,
  ``layer_i``, ``patience``) never reached the trainer: :func:`build_params` maps every searched
  name explicitly and refuses unknown or missing ones;
* a "test R^2" was computed on training rows: :func:`cross_validate` scores only held-out folds,
  and the neural net's early stopping uses an inner split of the fold's *training* rows;
* one interpreter per neural-net trial (3.4 s of 4 s was start-up): :func:`search` runs the whole
  study in-process and reports each trial's overhead (time outside the training epochs);
* failed trials vanished: they are recorded with their error and counted.

Search spaces are fixed; what a search may spend is set by :class:`Budget` (step caps for the net,
histogram bins and early stopping for the trees, median pruning of trials), off by default.

Heavy libraries are imported lazily so that importing this module (e.g. from a Dagster code
location) stays cheap; this package never imports dagster.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpu_executors.io.atomic import atomic_write

FAMILIES = ("neural_net", "xgboost", "lightgbm", "catboost")
EXTENSIONS = {"neural_net": ".pt", "xgboost": ".ubj", "lightgbm": ".txt", "catboost": ".cbm"}
CV_VAL_FRACTION = 0.1  # inner early-stopping split of a fold's training rows (nn; trees if asked)
NN_BATCH_SIZES = (0, 256, 512, 1024)  # 0 = full batch
LIGHTGBM_NUM_LEAVES = 31  # LightGBM's default num_leaves, which this module leaves alone
_PARAMS_KEY = "seedsieve_params"  # where the searched params live in each native model file

_TREE_KEYS = frozenset({"n_estimators", "max_depth", "learning_rate", "subsample", "colsample"})
_CAT_KEYS = frozenset({"iterations", "depth", "learning_rate"})
_NN_KEYS = frozenset(
    {"n_layers", "dropout", "learning_rate", "batch_size", "max_epochs", "patience"}
)


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of {FAMILIES}")
    return family


def _threads() -> int:
    return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# Search spaces and the searched-name -> trainer-argument mapping
# ---------------------------------------------------------------------------------------------


def suggest_params(trial: Any, family: str) -> dict[str, Any]:
    """Draw one configuration; every name returned is a real ``trial`` parameter."""
    _check_family(family)
    p: dict[str, Any] = {}
    if family == "neural_net":
        n_layers = p["n_layers"] = trial.suggest_int("n_layers", 2, 4)
        width = p["layer_0"] = trial.suggest_int("layer_0", 64, 256)
        for i in range(1, n_layers):
            width = p[f"layer_{i}"] = trial.suggest_int(f"layer_{i}", 32, width)
        p["dropout"] = trial.suggest_float("dropout", 0.2, 0.6)
        p["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        p["batch_size"] = trial.suggest_categorical("batch_size", list(NN_BATCH_SIZES))
        p["max_epochs"] = trial.suggest_int("max_epochs", 50, 200)
        p["patience"] = trial.suggest_int("patience", 10, 30)
    elif family in ("xgboost", "lightgbm"):
        p["n_estimators"] = trial.suggest_int("n_estimators", 100, 500)
        p["max_depth"] = trial.suggest_int("max_depth", 3, 12)
        p["learning_rate"] = trial.suggest_float("learning_rate", 0.01, 0.3, log=True)
        p["subsample"] = trial.suggest_float("subsample", 0.6, 1.0)
        p["colsample"] = trial.suggest_float("colsample", 0.6, 1.0)
    else:
        p["iterations"] = trial.suggest_int("iterations", 200, 800)
        p["depth"] = trial.suggest_int("depth", 3, 10)
        p["learning_rate"] = trial.suggest_float("learning_rate", 0.01, 0.3, log=True)
    return p


def _check_keys(family: str, params: dict[str, Any], expected: frozenset[str] | set[str]) -> None:
    missing = sorted(set(expected) - set(params))
    unknown = sorted(set(params) - set(expected))
    if missing or unknown:
        raise ValueError(
            f"{family} params do not match the search space: missing {missing}, unknown {unknown}"
        )


def _as_int(family: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(f"{family} param {name} must be an integer, got {value!r}")
    return int(value)


def build_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """Searched names -> the trainer's own arguments, explicitly, one by one.

    neural_net -> ``MLPConfig`` fields (``hidden`` from ``n_layers`` + ``layer_i``); xgboost /
    lightgbm -> sklearn-API estimator arguments (``colsample`` -> ``colsample_bytree``); catboost ->
    ``CatBoostRegressor`` arguments. Unknown or missing keys raise ``ValueError``.
    """
    _check_family(family)
    params = dict(params)
    if family == "neural_net":
        if "n_layers" not in params:
            raise ValueError("neural_net params lack n_layers (needed to read layer_0..layer_n-1)")
        n_layers = _as_int(family, "n_layers", params["n_layers"])
        if n_layers < 1:
            raise ValueError(f"neural_net n_layers must be >= 1, got {n_layers}")
        _check_keys(family, params, _NN_KEYS | {f"layer_{i}" for i in range(n_layers)})
        return {
            "hidden": tuple(
                _as_int(family, f"layer_{i}", params[f"layer_{i}"]) for i in range(n_layers)
            ),
            "dropout": float(params["dropout"]),
            "learning_rate": float(params["learning_rate"]),
            "batch_size": _as_int(family, "batch_size", params["batch_size"]),
            "max_epochs": _as_int(family, "max_epochs", params["max_epochs"]),
            "patience": _as_int(family, "patience", params["patience"]),
        }
    if family in ("xgboost", "lightgbm"):
        _check_keys(family, params, _TREE_KEYS)
        return {
            "n_estimators": _as_int(family, "n_estimators", params["n_estimators"]),
            "max_depth": _as_int(family, "max_depth", params["max_depth"]),
            "learning_rate": float(params["learning_rate"]),
            "subsample": float(params["subsample"]),
            "colsample_bytree": float(params["colsample"]),
        }
    _check_keys(family, params, _CAT_KEYS)
    return {
        "iterations": _as_int(family, "iterations", params["iterations"]),
        "depth": _as_int(family, "depth", params["depth"]),
        "learning_rate": float(params["learning_rate"]),
    }


# ---------------------------------------------------------------------------------------------
# Input checks and the one R^2
# ---------------------------------------------------------------------------------------------


def _all_finite(a: np.ndarray) -> bool:
    """A finite sum proves every element finite (NaN/inf propagate); only then skip the scan."""
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(a))):
            return True
    return bool(np.isfinite(a).all())  # the sum may have overflowed on huge finite values


def _check_X(X: Any, name: str = "X") -> np.ndarray:
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {a.shape}")
    if not _all_finite(a):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_xy(X: Any, y: Any, names: tuple[str, str] = ("X", "y")) -> tuple[np.ndarray, np.ndarray]:
    Xa = _check_X(X, names[0])
    ya = np.asarray(y, dtype=np.float64)
    if ya.ndim != 1:
        raise ValueError(f"{names[1]} must be 1-D (rows,), got shape {ya.shape}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"{names[1]} has {ya.shape[0]} rows but {names[0]} has {Xa.shape[0]}")
    if not _all_finite(ya):
        raise ValueError(f"{names[1]} contains NaN or inf")
    return Xa, ya


def r2(y_true: Any, y_pred: Any) -> float:
    """R^2 that refuses (N,) vs (N, 1) and non-finite values instead of broadcasting past them."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim != 1 or p.ndim != 1 or t.shape != p.shape:
        raise ValueError(
            f"r2 needs two 1-D arrays of equal shape, got y_true {t.shape} and y_pred {p.shape}"
        )
    if t.shape[0] < 2:
        raise ValueError(f"r2 needs at least 2 rows, got {t.shape[0]}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("r2 got NaN or inf in y_true or y_pred")
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        raise ValueError("r2 is undefined: y_true is constant")
    return 1.0 - float(np.sum((t - p) ** 2)) / ss_tot


# ---------------------------------------------------------------------------------------------
# Fitting and predicting
# ---------------------------------------------------------------------------------------------


@dataclass
class FittedModel:
    """A fitted model of one family; ``predict`` always returns float64 of shape (N,)."""

    family: str
    params: dict[str, Any]  # the searched names (what build_params takes)
    model: Any  # FittedMLP | XGBRegressor | lightgbm.Booster | CatBoostRegressor
    fit_seconds: float = 0.0  # wall time of fit(); 0.0 for a loaded model
    train_seconds: float = 0.0  # neural_net: inside the epochs; trees: the library's fit call
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        if self.family == "neural_net":
            return self.model.n_features
        if self.family == "xgboost":
            return int(self.model.get_booster().num_features())
        if self.family == "lightgbm":
            return int(self.model.num_feature())
        return len(self.model.feature_names_)

    @property
    def history(self) -> dict[str, list[float]] | None:
        """The net's per-epoch train/val losses (z-scored MSE); None for trees."""
        return self.model.history if self.family == "neural_net" else None

    def activation_stats(self, X: Any) -> list[dict[str, Any]]:
        """Where variance dies when predictions collapse to a constant.

        The net: per hidden layer and the output (see ``FittedMLP.activation_stats``). Trees have
        no layers: one ``output`` entry, in target units.
        """
        if self.family == "neural_net":
            return self.model.activation_stats(_check_X(X))
        pred = self.predict(X)
        std = float(pred.std())
        return [
            {
                "layer": "output",
                "width": 1,
                "mean": float(pred.mean()),
                "std": std,
                "dead_fraction": float(std < 1e-8 * max(1.0, abs(float(pred.mean())))),
                "negative_fraction": float((pred <= 0).all()),
            }
        ]

    def predict(self, X: Any) -> np.ndarray:
        Xa = _check_X(X)
        if Xa.shape[1] != self.n_features:
            raise ValueError(
                f"X has {Xa.shape[1]} features, the model was fitted on {self.n_features}"
            )
        if self.family == "neural_net":
            pred = self.model.predict(Xa)
        else:
            pred = np.asarray(self.model.predict(Xa), dtype=np.float64)
        if pred.shape != (Xa.shape[0],):
            raise ValueError(
                f"{self.family} predicted shape {pred.shape}, expected ({Xa.shape[0]},)"
            )
        return pred


@dataclass(frozen=True)
class Budget:
    """Compute caps for searching on modest hardware; the default caps nothing (full fidelity).

    Deterministic caps only (no wall-clock limits), so a seeded search stays reproducible.
    ``nn_max_steps`` caps optimiser steps per fit; ``nn_max_passes`` caps them at that many passes
    over the fit rows (full batch: one step per pass, batch 256: ~N/256 steps per pass), which
    bounds a fit's compute whatever batch size the trial drew. ``max_bin`` sets xgboost/lightgbm
    ``max_bin`` and catboost ``border_count``. ``tree_early_stopping`` stops trees after that many
    rounds without improvement on the validation rows (in CV: the same inner 10% split of the
    fold's training rows the neural net uses). ``tree_max_leaves`` caps the leaves a tree fit may
    grow in all, rounds x leaves per tree (2^depth; LightGBM: at most its 31), so that the costly
    corner of the space (deep trees at a small learning rate, hundreds of rounds) stays bounded
    like the rest: a fit stops at ``tree_max_leaves // leaves_per_tree`` rounds if the trial drew
    more. ``prune`` lets the study's pruner (median, from :func:`make_study`) stop a trial whose
    running fold mean trails, from its first fold on.
    """

    nn_max_steps: int | None = None
    nn_max_passes: float | None = None
    max_bin: int | None = None
    tree_early_stopping: int | None = None
    tree_max_leaves: int | None = None
    prune: bool = False

    def __post_init__(self) -> None:
        for name in ("nn_max_steps", "max_bin", "tree_early_stopping", "tree_max_leaves"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"Budget.{name} must be None or an int >= 1, got {v!r}")
        p = self.nn_max_passes
        if p is not None and not (isinstance(p, int | float) and math.isfinite(p) and p > 0):
            raise ValueError(f"Budget.nn_max_passes must be None or > 0, got {p!r}")
        if self.max_bin is not None and self.max_bin < 2:
            raise ValueError(f"Budget.max_bin must be >= 2, got {self.max_bin}")

    def nn_step_cap(self, n_rows: int, batch_size: int) -> int | None:
        """The MLP's ``max_steps`` for ``n_rows`` fit rows at this batch size (None: no cap)."""
        caps = []
        if self.nn_max_steps is not None:
            caps.append(self.nn_max_steps)
        if self.nn_max_passes is not None:
            bs = n_rows if batch_size == 0 or batch_size >= n_rows else batch_size
            caps.append(max(1, math.ceil(self.nn_max_passes * math.ceil(n_rows / bs))))
        return min(caps) if caps else None

    def tree_round_cap(self, family: str, depth: int) -> int | None:
        """Most boosting rounds a tree fit of this depth may run (None: no cap)."""
        if self.tree_max_leaves is None or family == "neural_net":
            return None
        leaves = 2 ** min(int(depth), 30)
        if family == "lightgbm":
            leaves = min(leaves, LIGHTGBM_NUM_LEAVES)
        return max(1, self.tree_max_leaves // leaves)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Budget()
# The default of the model assets and the bench: 4 x 20 trials x 5 folds on 20,000 x 90 rows in
# under 3 minutes on 2 cores (README, bench/models_bench.py), searching the same spaces as FULL.
CAPPED = Budget(
    nn_max_passes=3,
    max_bin=32,
    tree_early_stopping=10,
    tree_max_leaves=32768,
    prune=True,
)


def fit(
    family: str,
    params: dict[str, Any],
    X: Any,
    y: Any,
    seed: int = 0,
    device: str = "cpu",
    X_val: Any = None,
    y_val: Any = None,
    *,
    budget: Budget = FULL,
    threads: int | None = None,
) -> FittedModel:
    """Fit one family with searched-name ``params`` (mapped by :func:`build_params`).

    neural_net early-stops on (X_val, y_val) when given. Trees train for exactly the searched
    number of rounds unless ``budget.tree_early_stopping`` is set and X_val is given; otherwise
    X_val is only scored (``info["val_r2"]``). ``threads`` sets the tree libraries' thread count
    (default: every CPU); torch's is process-wide, so the caller sets it (see
    :func:`cross_validate`).
    """
    _check_family(family)
    kwargs = build_params(family, params)
    n_threads = _threads() if threads is None else int(threads)
    if n_threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    X, y = _check_xy(X, y)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = _check_xy(X_val, y_val, ("X_val", "y_val"))
    cuda = str(device).startswith("cuda")
    stop = budget.tree_early_stopping if X_val is not None else None
    t0 = time.perf_counter()
    info: dict[str, Any] = {"budget": budget.as_dict()}
    if family != "neural_net":
        rounds_key, depth_key = (
            ("iterations", "depth") if family == "catboost" else ("n_estimators", "max_depth")
        )
        cap = budget.tree_round_cap(family, kwargs[depth_key])
        if cap is not None and kwargs[rounds_key] > cap:
            kwargs[rounds_key] = cap
        info["rounds"] = kwargs[rounds_key]
    if family == "neural_net":
        from gpu_executors.models.mlp import MLPConfig, fit_mlp

        max_steps = budget.nn_step_cap(X.shape[0], kwargs["batch_size"])
        config = MLPConfig(**kwargs, seed=seed, device=device, max_steps=max_steps)
        net = fit_mlp(X, y, config, X_val, y_val)
        net.meta["params"] = dict(params)
        info.update(epochs=net.epochs, best_epoch=net.best_epoch, steps=net.steps)
        model: Any = net
        train_seconds = net.epoch_seconds
    elif family == "xgboost":
        import xgboost as xgb

        extra: dict[str, Any] = {}
        if budget.max_bin is not None:
            extra["max_bin"] = budget.max_bin
        if stop is not None:
            extra["early_stopping_rounds"] = stop
        model = xgb.XGBRegressor(
            **kwargs,
            **extra,
            tree_method="hist",
            device="cuda" if cuda else "cpu",
            n_jobs=n_threads,
            random_state=seed,
        )
        t1 = time.perf_counter()
        if stop is not None:
            model.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)
            info["best_iteration"] = int(model.best_iteration)
        else:
            model.fit(X, y)
        train_seconds = time.perf_counter() - t1
        model.get_booster().set_attr(**{_PARAMS_KEY: json.dumps(params)})
    elif family == "lightgbm":
        import lightgbm as lgb

        extra = {} if budget.max_bin is None else {"max_bin": budget.max_bin}
        est = lgb.LGBMRegressor(
            **kwargs,
            **extra,
            subsample_freq=1,  # without it LightGBM silently ignores subsample
            n_jobs=n_threads,
            random_state=seed,
            verbose=-1,
        )
        t1 = time.perf_counter()
        if stop is not None:
            # LightGBM 4.6 renamed eval_set to eval_X/eval_y; accept either version.
            evals: dict[str, Any] = (
                {"eval_X": (X_val,), "eval_y": (y_val,)}
                if "eval_X" in inspect.signature(est.fit).parameters
                else {"eval_set": [(X_val, y_val)]}
            )
            est.fit(
                X,
                y,
                **evals,
                callbacks=[lgb.early_stopping(stop, first_metric_only=True, verbose=False)],
            )
            info["best_iteration"] = int(est.booster_.best_iteration)
        else:
            est.fit(X, y)
        train_seconds = time.perf_counter() - t1
        model = est.booster_  # the Booster is what save/load round-trips
    else:
        import catboost as cb

        extra = {} if budget.max_bin is None else {"border_count": budget.max_bin}
        model = cb.CatBoostRegressor(
            **kwargs,
            **extra,
            random_seed=seed,
            thread_count=n_threads,
            task_type="GPU" if cuda else "CPU",
            verbose=False,
            allow_writing_files=False,
        )
        t1 = time.perf_counter()
        if stop is not None:
            model.fit(
                X, y, eval_set=(X_val, y_val), early_stopping_rounds=stop, use_best_model=True
            )
            info["best_iteration"] = int(model.get_best_iteration())
        else:
            model.fit(X, y)
        train_seconds = time.perf_counter() - t1
        model.get_metadata()[_PARAMS_KEY] = json.dumps(params)
    fitted = FittedModel(family, dict(params), model, 0.0, train_seconds, info)
    if X_val is not None and family != "neural_net":
        info["val_r2"] = r2(y_val, fitted.predict(X_val))
    fitted.fit_seconds = time.perf_counter() - t0
    return fitted


# ---------------------------------------------------------------------------------------------
# Cross-validation and search
# ---------------------------------------------------------------------------------------------


def fold_workers(folds: int, device: str = "cpu", workers: int | None = None) -> tuple[int, int]:
    """How many folds fit at once and with how many threads each: ``(workers, threads)``.

    Default on CPU: one fold per core, one thread each. On small data the libraries scale badly
    across threads (2 threads ran at 0.4-1.5x the speed of 1 on the 2-core reference machine, see
    bench/models_bench.py), while two single-threaded fits side by side run at 1.5-1.8x. A GPU
    fits one fold at a time.
    """
    cpus = _threads()
    if workers is None:
        workers = 1 if str(device).startswith("cuda") else cpus
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be None or >= 1, got {workers!r}")
    workers = max(1, min(int(workers), int(folds)))
    return workers, max(1, cpus // workers)


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count is process-wide: set it for the folds, then restore it."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cross_validate(
    family: str,
    params: dict[str, Any],
    X: Any,
    y: Any,
    folds: int = 5,
    seed: int = 0,
    *,
    budget: Budget = FULL,
    on_fold: Callable[[int, float, list[float]], None] | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> dict[str, Any]:
    """Shuffled k-fold R^2 on held-out folds only; ``sd`` is the sample sd (ddof=1) of the folds.

    ``folds`` is clamped to ``rows // 2`` (R^2 needs >= 2 held-out rows per fold). Early stopping
    (the neural net always, trees under ``budget.tree_early_stopping``) uses a 10% split of the
    fold's training rows, never the held-out fold. ``on_fold(i, score, scores_so_far)`` runs after
    each fold, in fold order (the search prunes from it: an exception it raises stops the rest).

    Up to ``workers`` folds fit at once (see :func:`fold_workers`); each fold's result depends only
    on its rows and the seed, so scores and pruning decisions do not depend on the timing.
    """
    from sklearn.model_selection import KFold

    _check_family(family)
    build_params(family, params)  # fail before any fold runs
    X, y = _check_xy(X, y)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"cross-validation needs at least 2 rows, got {n}")
    if int(folds) < 2:
        raise ValueError(f"cross-validation needs folds >= 2, got {folds}")
    k = min(int(folds), n // 2)
    if k < 2:
        raise ValueError(
            f"{n} rows are too few for 2-fold CV with >= 2 held-out rows per fold (need >= 4)"
        )
    n_workers, threads = fold_workers(k, device, workers)
    inner_split = family == "neural_net" or budget.tree_early_stopping is not None
    splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(X))

    def run_fold(i: int) -> tuple[float, FittedModel, float]:
        t_fold = time.perf_counter()
        train_idx, test_idx = splits[i]
        fit_idx, val_idx = train_idx, None
        if inner_split:
            n_val = round(CV_VAL_FRACTION * len(train_idx))
            if n_val >= 1 and len(train_idx) - n_val >= 2:
                perm = np.random.default_rng([seed, i]).permutation(train_idx)
                # Sorted rows gather faster; order is irrelevant (mini-batches are shuffled).
                val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        model = fit(
            family,
            params,
            X[fit_idx],
            y[fit_idx],
            seed=seed,
            device=device,
            X_val=None if val_idx is None else X[val_idx],
            y_val=None if val_idx is None else y[val_idx],
            budget=budget,
            threads=threads,
        )
        score = r2(y[test_idx], model.predict(X[test_idx]))
        return score, model, time.perf_counter() - t_fold

    scores: list[float] = []
    fold_seconds: list[float] = []
    fit_seconds: list[float] = []
    train_seconds: list[float] = []
    infos: list[dict[str, Any]] = []

    def record(i: int, score: float, model: FittedModel, seconds: float) -> None:
        scores.append(score)
        fold_seconds.append(seconds)
        fit_seconds.append(model.fit_seconds)
        train_seconds.append(model.train_seconds)
        infos.append({k_: v for k_, v in model.info.items() if k_ != "budget"})
        if on_fold is not None:
            on_fold(i, score, list(scores))

    t0 = time.perf_counter()
    torch_threads = threads if family == "neural_net" else None
    with _torch_threads(torch_threads):
        if n_workers == 1:
            for i in range(k):
                record(i, *run_fold(i))
        else:
            # Keep n_workers folds in flight; consume results in fold order.
            with ThreadPoolExecutor(n_workers, thread_name_prefix=f"cv-{family}") as pool:
                pending = [pool.submit(run_fold, i) for i in range(n_workers)]
                try:
                    for i in range(k):
                        record(i, *pending[i].result())  # may prune: decide, then refill
                        if i + n_workers < k:
                            pending.append(pool.submit(run_fold, i + n_workers))
                except BaseException:
                    for future in pending:
                        future.cancel()  # queued folds never start; running ones finish
                    raise
    return {
        "family": family,
        "params": dict(params),
        "folds": k,
        "folds_requested": int(folds),
        "scores": scores,
        "mean": float(np.mean(scores)),
        "sd": float(np.std(scores, ddof=1)),
        "fold_seconds": fold_seconds,  # each fold's wall time: split, fit, predict, score
        "fit_seconds": fit_seconds,
        "train_seconds": train_seconds,
        "fold_info": infos,
        "seconds": time.perf_counter() - t0,
        "workers": n_workers,
        "threads_per_fit": threads,
    }


def make_study(
    seed: int = 0,
    storage: Any = None,
    study_name: str | None = None,
    load_if_exists: bool = False,
) -> Any:
    """A maximising study: seeded TPE sampler, median pruner (acts only under ``Budget.prune``).

    The pruner compares a trial's running fold mean with the median of earlier trials at the same
    fold, from the first fold on, once 3 trials have finished. Give ``storage``/``study_name`` to
    persist the study (e.g. an RDB URL).
    """
    import optuna

    return optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        study_name=study_name,
        direction="maximize",
        load_if_exists=load_if_exists,
    )


def _warm_up(family: str) -> float:
    """Pay once, before any trial is timed, the lazy imports the first trial would otherwise pay
    (sklearn's KFold; the family's library; torch.optim's ~2 s first-use import of dynamo)."""
    t0 = time.perf_counter()
    import sklearn.model_selection  # noqa: F401

    if family == "neural_net":
        import torch

        import gpu_executors.models.mlp  # noqa: F401

        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    elif family == "xgboost":
        import xgboost  # noqa: F401
    elif family == "lightgbm":
        import lightgbm  # noqa: F401
    else:
        import catboost  # noqa: F401
    return time.perf_counter() - t0


def search(
    family: str,
    X: Any,
    y: Any,
    n_trials: int,
    folds: int = 5,
    seed: int = 0,
    study: Any = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    budget: Budget = FULL,
    device: str = "cpu",
    workers: int | None = None,
) -> dict[str, Any]:
    """TPE search maximising mean CV R^2, in this process (folds in parallel threads, see
    :func:`fold_workers`; trials one after another, so a seeded search is reproducible).

    ``study`` lets the caller supply storage and a name (see :func:`make_study`); best results are
    taken over the whole study's completed trials, ``trials`` lists this call's trials only. A
    trial that raises is recorded as failed with its error (never silently dropped); pruned
    trials (``budget.prune``) are counted apart. ``progress`` gets one dict per finished trial.
    Per-trial ``overhead_seconds`` is everything outside training (the epochs, for the neural
    net): the trial's time outside its CV plus each fold's time outside its training loop, summed
    over folds even when they run side by side; one-off imports are paid first and reported as
    ``warmup_seconds`` (included in ``seconds``).
    """
    import optuna

    _check_family(family)
    X, y = _check_xy(X, y)
    if int(n_trials) < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if study is None:
        study = make_study(seed)
    elif study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError("the study must maximise (mean CV R^2)")

    n_workers, n_threads = fold_workers(min(int(folds), X.shape[0] // 2) or 1, device, workers)
    mine: list[int] = []
    t_search = time.perf_counter()
    warmup_seconds = _warm_up(family)

    def objective(trial: optuna.Trial) -> float:
        t0 = time.perf_counter()
        mine.append(trial.number)
        train: list[float] = []

        def on_fold(i: int, score: float, scores: list[float]) -> None:
            trial.set_user_attr("fold_scores", scores)
            if budget.prune:
                trial.report(float(np.mean(scores)), step=i)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"running mean {np.mean(scores):.4f} after {i + 1}")

        try:
            params = suggest_params(trial, family)
            cv = cross_validate(
                family,
                params,
                X,
                y,
                folds,
                seed,
                budget=budget,
                on_fold=on_fold,
                device=device,
                workers=workers,
            )
            train = cv["train_seconds"]
        except optuna.TrialPruned:
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            raise
        seconds = time.perf_counter() - t0
        # Everything but training, summed over the folds even when they overlap in time: the
        # trial's own work outside the CV, plus each fold's time outside its training loop.
        overhead = (seconds - cv["seconds"]) + float(sum(cv["fold_seconds"]) - sum(train))
        trial.set_user_attr("fold_scores", cv["scores"])
        trial.set_user_attr("cv_sd", cv["sd"])
        trial.set_user_attr("seconds", seconds)
        trial.set_user_attr("train_seconds", float(sum(train)))
        trial.set_user_attr("overhead_seconds", overhead)
        trial.set_user_attr("fold_info", cv["fold_info"])
        return cv["mean"]

    def callback(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if progress is None:
            return
        progress(
            {
                "family": family,
                "number": trial.number,
                "state": trial.state.name,
                "value": trial.value,
                "seconds": trial.user_attrs.get("seconds"),
                "error": trial.user_attrs.get("error"),
                "done": len(mine),
                "requested": int(n_trials),
                "elapsed": time.perf_counter() - t_search,
            }
        )

    study.optimize(objective, n_trials=int(n_trials), catch=(Exception,), callbacks=[callback])
    seconds = time.perf_counter() - t_search

    mine_set = set(mine)
    trials = []
    for t in study.trials:
        if t.number not in mine_set:
            continue
        trials.append(
            {
                "number": t.number,
                "state": t.state.name,
                "params": dict(t.params),
                "value": t.value,
                "fold_scores": t.user_attrs.get("fold_scores"),
                "cv_sd": t.user_attrs.get("cv_sd"),
                "seconds": t.user_attrs.get("seconds"),
                "train_seconds": t.user_attrs.get("train_seconds"),
                "overhead_seconds": t.user_attrs.get("overhead_seconds"),
                "fold_info": t.user_attrs.get("fold_info"),
                "error": t.user_attrs.get("error"),
            }
        )
    completed = [t for t in trials if t["state"] == "COMPLETE"]
    failed = [t for t in trials if t["state"] == "FAIL"]
    pruned = [t for t in trials if t["state"] == "PRUNED"]
    errors = [{"number": t["number"], "error": t["error"]} for t in failed]
    if failed:
        warnings.warn(
            f"{family}: {len(failed)} of {len(trials)} trials failed; first: {errors[0]['error']}",
            RuntimeWarning,
            stacklevel=2,
        )

    best: dict[str, Any] = {
        "best_params": None,
        "best_cv_mean": None,
        "best_cv_sd": None,
        "best_fold_scores": None,
        "best_trial": None,
    }
    if any(t.state.name == "COMPLETE" for t in study.trials):
        bt = study.best_trial
        best = {
            "best_params": dict(bt.params),
            "best_cv_mean": float(bt.value),
            "best_cv_sd": bt.user_attrs.get("cv_sd"),
            "best_fold_scores": bt.user_attrs.get("fold_scores"),
            "best_trial": bt.number,
        }
    overheads = [t["overhead_seconds"] for t in completed]
    return {
        "family": family,
        "study_name": study.study_name,
        "n_rows": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "folds": int(folds),
        "seed": int(seed),
        "budget": budget.as_dict(),
        "device": str(device),
        "fold_workers": n_workers,
        "threads_per_fit": n_threads,
        **best,
        "trials": trials,
        "trials_requested": int(n_trials),
        "trials_completed": len(completed),
        "trials_failed": len(failed),
        "trials_pruned": len(pruned),
        "errors": errors,
        "seconds": seconds,
        "warmup_seconds": warmup_seconds,
        "train_seconds": float(sum(t["train_seconds"] for t in completed)),
        "overhead_seconds": overheads,
        "median_overhead_seconds": statistics.median(overheads) if overheads else None,
    }


# ---------------------------------------------------------------------------------------------
# Native-format persistence (no pickle)
# ---------------------------------------------------------------------------------------------


def save_model(model: FittedModel, path_without_ext: str | os.PathLike[str]) -> Path:
    """Save in the library's native format (.pt / .ubj / .txt / .cbm); returns the final path."""
    family = _check_family(model.family)
    base = Path(path_without_ext)
    final = base.with_name(base.name + EXTENSIONS[family])
    if family == "neural_net":
        model.model.meta["params"] = dict(model.params)
        return model.model.save(final)  # FittedMLP.save is atomic itself
    if family == "xgboost":
        model.model.get_booster().set_attr(**{_PARAMS_KEY: json.dumps(model.params)})
        return atomic_write(final, lambda p: model.model.save_model(str(p)))
    if family == "lightgbm":
        return atomic_write(final, lambda p: model.model.save_model(str(p)))
    model.model.get_metadata()[_PARAMS_KEY] = json.dumps(model.params)
    return atomic_write(final, lambda p: model.model.save_model(str(p), format="cbm"))


def _lightgbm_params(booster: Any) -> dict[str, Any]:
    """LightGBM files carry no custom metadata: read the searched values back from its params
    section (floats are stored there with 6 significant digits)."""
    bp = getattr(booster, "params", None) or {}
    names = {
        "n_estimators": "num_iterations",
        "max_depth": "max_depth",
        "learning_rate": "learning_rate",
        "subsample": "bagging_fraction",
        "colsample": "feature_fraction",
    }
    if not all(v in bp for v in names.values()):
        return {}
    out = {k: bp[v] for k, v in names.items()}
    out["n_estimators"] = int(out["n_estimators"])
    out["max_depth"] = int(out["max_depth"])
    return out


def load_model(family: str, path: str | os.PathLike[str], device: str = "cpu") -> FittedModel:
    """Load a model written by :func:`save_model`; nothing is unpickled."""
    _check_family(family)
    path = Path(path)
    if not path.exists() and path.with_name(path.name + EXTENSIONS[family]).exists():
        path = path.with_name(path.name + EXTENSIONS[family])
    if not path.is_file():
        raise FileNotFoundError(f"no {family} model at {path}")
    if family == "neural_net":
        from gpu_executors.models.mlp import FittedMLP

        net = FittedMLP.load(path, device=device)
        return FittedModel(family, dict(net.meta.get("params") or {}), net, info={"path": path})
    if family == "xgboost":
        import xgboost as xgb

        model = xgb.XGBRegressor()
        model.load_model(str(path))
        raw = model.get_booster().attr(_PARAMS_KEY)
        return FittedModel(family, json.loads(raw) if raw else {}, model, info={"path": path})
    if family == "lightgbm":
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        return FittedModel(family, _lightgbm_params(booster), booster, info={"path": path})
    import catboost as cb

    model = cb.CatBoostRegressor()
    model.load_model(str(path), format="cbm")
    raw = model.get_metadata().get(_PARAMS_KEY)
    return FittedModel(family, json.loads(raw) if raw else {}, model, info={"path": path})


__all__ = [
    "CAPPED",
    "CV_VAL_FRACTION",
    "EXTENSIONS",
    "FAMILIES",
    "FULL",
    "Budget",
    "FittedModel",
    "build_params",
    "cross_validate",
    "fit",
    "fold_workers",
    "load_model",
    "make_study",
    "r2",
    "save_model",
    "search",
    "suggest_params",
]
