"""The scorer meta-optimiser: an Optuna search of the ``ScorerConfig`` that ranks survivors best.

Each Optuna trial samples survivors with an RNG seeded by its trial number (never one seed for
every trial), computes train features under the trial's scorer configuration, trains the scorer
network and returns Spearman's rho between its predictions and the holdout target on rows it did
not train on; a constant prediction scores -1. The best configuration is then re-scored on
survivors no trial ever saw (the validated rho), with its p-value. The target is fixed (it does
not depend on the scorer configuration), so a trial cannot make its own task easier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from optuna.trial import TrialState

from gpu_executors.io.hashing import index_digest
from gpu_executors.models.mlp_config import MLPConfig
from gpu_executors.ranking.features import feature_columns
from gpu_executors.ranking.matrix import (
    History,
    candidates_of,
    holdout_view,
    rows,
    sieve_columns,
    train_view,
)
from gpu_executors.ranking.minimum import MIN_RANKING_ROWS
from gpu_executors.ranking.predicted import predicted_draws
from gpu_executors.ranking.schema import BATTERY_COLUMNS, ScorerConfig
from gpu_executors.ranking.targets import target_columns

SEARCHED = ("residue_mod_1", "residue_mod_2", "residue_mod_3", "keep_fraction",
            "temporal_window_size", "temporal_num_windows", "min_confidence",
            "hidden_layers", "dropout", "learning_rate", "batch_size")
OBJECTIVE = "spearman_rho(scorer prediction, holdout_quality) on the trial's held-out rows"
TARGET = "holdout_quality"
HIDDEN_CHOICES = ("128_64", "256_128_64", "512_256_128")
BATCH_CHOICES = (32, 64, 128, 256)
MAX_STEPS = 150  # optimiser steps per trial: the scorer net is a quick probe, not the model
PRED_CACHE_LIMIT = 150_000_000  # predicted draws kept for all trials (int64: 1.2 GB at most)


@dataclass(frozen=True)
class ScorerBounds:
    """The search space (the original's ranges; ``keep_fraction`` replaces ``max_offset``)."""

    residue_mod_1: tuple[int, int] = (5, 20)
    residue_mod_2: tuple[int, int] = (50, 150)
    residue_mod_3: tuple[int, int] = (500, 1500)
    keep_fraction: tuple[float, float] = (0.05, 0.5)
    temporal_window_size: tuple[int, int] = (50, 200)
    temporal_num_windows: tuple[int, int] = (1, 10)
    min_confidence: tuple[float, float] = (0.05, 0.5)
    dropout: tuple[float, float] = (0.1, 0.5)
    learning_rate: tuple[float, float] = (1e-4, 1e-2)

    def validate(self) -> None:
        for name, (lo, hi) in self.__dict__.items():
            if not 0 < lo <= hi:
                raise ValueError(f"{name} bounds {lo}:{hi} need 0 < lo <= hi")
        if self.residue_mod_1[0] < 2:
            raise ValueError("residue moduli must be at least 2")
        if self.keep_fraction[1] >= 1 or self.dropout[1] >= 1:
            raise ValueError("keep_fraction and dropout bounds must stay below 1")


def suggest(trial, bounds: ScorerBounds, n_train: int) -> dict:
    """One trial's parameters; every searched name is a real trial parameter."""
    tw_hi = max(2, min(bounds.temporal_window_size[1], n_train))
    tw_lo = min(bounds.temporal_window_size[0], tw_hi)
    return {
        "residue_mod_1": trial.suggest_int("residue_mod_1", *bounds.residue_mod_1),
        "residue_mod_2": trial.suggest_int("residue_mod_2", *bounds.residue_mod_2),
        "residue_mod_3": trial.suggest_int("residue_mod_3", *bounds.residue_mod_3),
        "keep_fraction": trial.suggest_float("keep_fraction", *bounds.keep_fraction),
        "temporal_window_size": trial.suggest_int("temporal_window_size", tw_lo, tw_hi),
        "temporal_num_windows": trial.suggest_int("temporal_num_windows",
                                                  *bounds.temporal_num_windows),
        "min_confidence": trial.suggest_float("min_confidence", *bounds.min_confidence),
        "hidden_layers": trial.suggest_categorical("hidden_layers", HIDDEN_CHOICES),
        "dropout": trial.suggest_float("dropout", *bounds.dropout),
        "learning_rate": trial.suggest_float("learning_rate", *bounds.learning_rate, log=True),
        "batch_size": trial.suggest_categorical("batch_size", BATCH_CHOICES),
    }


def configs(params: dict, seed: int = 0) -> tuple[ScorerConfig, MLPConfig]:
    """The scorer and network configurations a parameter set names (every key required)."""
    missing = [k for k in SEARCHED if k not in params]
    if missing:
        raise ValueError(f"scorer parameters missing: {', '.join(missing)}")
    scorer = ScorerConfig(
        residue_mods=(int(params["residue_mod_1"]), int(params["residue_mod_2"]),
                      int(params["residue_mod_3"])),
        keep_fraction=float(params["keep_fraction"]),
        temporal_window=int(params["temporal_window_size"]),
        temporal_windows=int(params["temporal_num_windows"]),
        min_confidence=float(params["min_confidence"]),
    )
    scorer.validate()
    net = MLPConfig(
        hidden=tuple(int(w) for w in str(params["hidden_layers"]).split("_")),
        dropout=float(params["dropout"]),
        learning_rate=float(params["learning_rate"]),
        batch_size=int(params["batch_size"]),
        max_epochs=200,
        patience=10,
        seed=seed,
        max_steps=MAX_STEPS,
    )
    return scorer, net


def spearman(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """rho and its two-sided p-value; a constant prediction or target is -1 (no ranking)."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} != target shape {target.shape}")
    if len(pred) < 3 or np.ptp(pred) < 1e-12 or np.ptp(target) == 0:
        return -1.0, 1.0
    from scipy import stats  # a second of import: not on every process's path

    rho, p = stats.spearmanr(pred, target)
    if not np.isfinite(rho):
        return -1.0, 1.0
    return float(rho), float(p)


@dataclass
class ScorerData:
    """The pool cut once: search rows (trials sample these) and validation rows (never seen)."""

    pool: pl.DataFrame
    history: History
    search_idx: np.ndarray
    validation_idx: np.ndarray
    _pred: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _battery: dict | None = field(default=None, repr=False)

    @classmethod
    def split(cls, pool: pl.DataFrame, history: History, seed: int,
              validation_share: float = 0.2) -> ScorerData:
        if pool.height < MIN_RANKING_ROWS:
            raise ValueError(f"the survivor pool has {pool.height} rows: the scorer needs at "
                             f"least {MIN_RANKING_ROWS} (loosen the sieve or scan more seed "
                             "blocks)")
        if history.n_holdout < 1:
            raise ValueError("the draw history has no holdout draws: no target to score")
        order = np.random.default_rng([seed, 7]).permutation(pool.height)
        n_val = max(10, round(validation_share * pool.height))
        return cls(pool, history, np.sort(order[n_val:]), np.sort(order[:n_val]))

    def sample(self, trial_number: int, sample_size: int, seed: int) -> np.ndarray:
        """The trial's rows: its own RNG stream, so trials see different survivors."""
        if len(self.search_idx) <= sample_size:
            return self.search_idx
        rng = np.random.default_rng([seed, trial_number])
        return np.sort(rng.choice(self.search_idx, size=sample_size, replace=False))

    def predicted(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows' predicted train and holdout draws, generated once for every trial when they
        fit in memory (cut through the same train/holdout views as the feature matrix)."""
        if self.pool.height * len(self.history.values) > PRED_CACHE_LIMIT:
            return None
        if self._pred is None:
            pred = predicted_draws(candidates_of(self.pool, self.history),
                                   len(self.history.values))
            p_train, _ = train_view(pred, self.history)
            p_hold, _ = holdout_view(pred, self.history)
            self._pred = (np.ascontiguousarray(p_train), np.ascontiguousarray(p_hold))
        return self._pred[0][idx], self._pred[1][idx]

    def battery(self) -> dict[str, np.ndarray]:
        """The battery columns of every row: they ignore the scorer configuration, so once."""
        if self._battery is None:
            p_train, _ = self.predicted(np.arange(self.pool.height))
            h = self.history
            cols = feature_columns(p_train, h.values[: h.n_train], h.low, h.modulus, h.window,
                                   ScorerConfig())
            self._battery = {k: cols[k] for k in BATTERY_COLUMNS}
        return self._battery

    def xy(self, idx: np.ndarray, scorer: ScorerConfig) -> tuple[np.ndarray, np.ndarray]:
        cached = self.predicted(idx)
        if cached is None:
            feats, targs = rows(self.pool[idx], self.history, scorer)
        else:
            h = self.history
            p_train, p_hold = cached
            feats = {**sieve_columns(self.pool[idx]),
                     **feature_columns(p_train, h.values[: h.n_train], h.low, h.modulus,
                                       h.window, scorer, spectral=False)}
            feats.update({k: v[idx] for k, v in self.battery().items()})
            targs = target_columns(p_hold, h.values[h.n_train:], h.low, h.modulus)
        x = np.column_stack([feats[k] for k in sorted(feats)])
        return x, targs[TARGET]


@contextmanager
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def score(data: ScorerData, idx: np.ndarray, params: dict, seed: int,
          eval_idx: np.ndarray | None = None) -> dict:
    """Train the scorer on ``idx`` and rank held-out rows: the trial's own 20 % of ``idx``, or
    ``eval_idx`` (the validation rows) when given."""
    scorer, net = configs(params, seed)
    x, y = data.xy(idx, scorer)
    if eval_idx is None:
        perm = np.random.default_rng([seed, len(idx)]).permutation(len(idx))
        n_eval = max(3, len(idx) // 5)
        fit_rows, eval_rows = perm[n_eval:], perm[:n_eval]
        x_fit, y_fit, x_eval, y_eval = x[fit_rows], y[fit_rows], x[eval_rows], y[eval_rows]
    else:
        x_fit, y_fit = x, y
        x_eval, y_eval = data.xy(eval_idx, scorer)
    if np.ptp(y_fit) == 0:
        return {"rho": -1.0, "p_value": 1.0, "reason": "constant target on the fit rows",
                "n_fit": len(y_fit), "n_eval": len(y_eval)}
    with one_torch_thread():  # a small net on small batches: one thread beats two
        from gpu_executors.models.mlp import fit_mlp  # torch: only where a net is trained

        model = fit_mlp(x_fit, y_fit, net)
        pred = model.predict(x_eval)
    rho, p = spearman(pred, y_eval)
    reason = "constant prediction" if np.ptp(pred) < 1e-12 else ""
    return {"rho": rho, "p_value": p, "reason": reason, "n_fit": len(y_fit),
            "n_eval": len(y_eval), "epochs": model.epochs,
            "scorer_digest": scorer.digest()}


def objective_fn(data: ScorerData, bounds: ScorerBounds, sample_size: int, seed: int,
                 log: Callable[[str], None] = print) -> Callable:
    """The Optuna objective, logging one line per trial."""
    t0 = time.perf_counter()

    def objective(trial) -> float:
        params = suggest(trial, bounds, data.history.n_train)
        idx = data.sample(trial.number, sample_size, seed)
        sample = index_digest(idx, 12)
        result = score(data, idx, params, seed)
        trial.set_user_attr("params", params)  # complete even for enqueued / fixed trials
        # One attribute, one database write: RDB storages commit per call.
        trial.set_user_attr("result", {"sample_fingerprint": sample,
                                       "sample_rows": len(idx),
                                       **{k: result[k] for k in ("p_value", "reason", "n_fit",
                                                                 "n_eval")}})
        log(f"trial {trial.number}: rho {result['rho']:+.4f} (p {result['p_value']:.3g}) on "
            f"{result['n_eval']} held-out rows, sample {sample} "
            f"[{time.perf_counter() - t0:.1f} s]")
        return result["rho"]

    return objective


def summarise(study, requested: int) -> dict:
    """What the asset records: every trial, the best one's complete parameters, the counts."""
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    failed = study.get_trials(states=(TrialState.FAIL,))
    if not complete:
        raise ValueError(f"no scorer trial completed ({len(failed)} failed)")
    best = max(complete, key=lambda t: t.value)
    values = [t.value for t in complete]
    return {
        "trials_requested": requested,
        "trials_completed": len(complete),
        "trials_failed": len(failed),
        "best_trial": best.number,
        "best_value": best.value,
        # user_attrs["params"] is the trial's own record: enqueued and fixed values included.
        "best_params": {**best.params, **best.user_attrs.get("params", {})},
        "best_user_attrs": dict(best.user_attrs),
        "distinct_values": len(set(values)),
        "value_spread": float(max(values) - min(values)),
        "distinct_samples": len({t.user_attrs["result"]["sample_fingerprint"]
                                 for t in complete}),
        "trials": [{"number": t.number, "value": t.value, "params": t.params,
                    "sample": t.user_attrs["result"]["sample_fingerprint"]} for t in complete],
    }
