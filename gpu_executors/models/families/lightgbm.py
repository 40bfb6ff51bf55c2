"""LightGBM's sklearn-API regressor as a model family; the Booster is saved as text.

Every call into LightGBM holds ``lightgbm_threads.GUARD`` with the thread count it sets: LightGBM
keeps that count in one process-wide variable, and fold threads that set different counts at
once corrupt its heap (see :mod:`gpu_executors.models.lightgbm_threads`).
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpu_executors.io.atomic import atomic_write
from gpu_executors.models.families.base import Family, FitRequest, SklearnTreeFamily
from gpu_executors.models.lightgbm_threads import GUARD

NUM_LEAVES = 31  # LightGBM's default num_leaves, which this family leaves alone

# LightGBM files carry no custom metadata: the searched values are read back from the file's
# params section under LightGBM's own names.
_FILE_NAMES = {
    "n_estimators": "num_iterations",
    "max_depth": "max_depth",
    "learning_rate": "learning_rate",
    "subsample": "bagging_fraction",
    "colsample": "feature_fraction",
}


class LightGBM(SklearnTreeFamily):
    name = Family.LIGHTGBM
    extension = ".txt"

    def leaves_per_tree(self, depth: int) -> int:
        return min(super().leaves_per_tree(depth), NUM_LEAVES)

    def fit(self, request: FitRequest) -> tuple[Any, float]:
        import lightgbm as lgb

        r = request
        stop = r.early_stopping
        extra = {} if r.budget.max_bin is None else {"max_bin": r.budget.max_bin}
        est = lgb.LGBMRegressor(
            **r.kwargs,
            **extra,
            subsample_freq=1,  # without it LightGBM silently ignores subsample
            n_jobs=r.threads,
            random_state=r.seed,
            verbose=-1,
        )
        t1 = time.perf_counter()
        with GUARD.hold(r.threads):
            self._fit(est, r, stop)
        train_seconds = time.perf_counter() - t1
        return est.booster_, train_seconds  # the Booster is what save/load round-trips

    @staticmethod
    def _fit(est: Any, r: FitRequest, stop: int | None) -> None:
        import lightgbm as lgb

        if stop is not None:
            # LightGBM 4.6 renamed eval_set to eval_X/eval_y; accept either version.
            evals: dict[str, Any] = (
                {"eval_X": (r.X_val,), "eval_y": (r.y_val,)}
                if "eval_X" in inspect.signature(est.fit).parameters
                else {"eval_set": [(r.X_val, r.y_val)]}
            )
            est.fit(
                r.X,
                r.y,
                **evals,
                callbacks=[lgb.early_stopping(stop, first_metric_only=True, verbose=False)],
            )
            r.info["best_iteration"] = int(est.booster_.best_iteration)
        else:
            est.fit(r.X, r.y)

    @staticmethod
    def predict_threads(model: Any) -> int:
        """The count a prediction sets: the Booster's own (its fit's, or its file's), so a fold's
        predict runs beside the other folds' fits; every CPU when the Booster names none."""
        n = (getattr(model, "params", None) or {}).get("num_threads")
        return int(n) if isinstance(n, int) and n > 0 else (os.cpu_count() or 1)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.raw_predict(model, X), dtype=np.float64)

    def raw_predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        n = self.predict_threads(model)
        with GUARD.hold(n):
            return np.asarray(model.predict(X, num_threads=n))

    def n_features(self, model: Any) -> int:
        return int(model.num_feature())

    def save(self, model: Any, params: dict[str, Any], final: Path) -> Path:
        with GUARD.hold(None):
            return atomic_write(final, lambda p: model.save_model(str(p)))

    def load(self, path: Path, device: str) -> tuple[Any, dict[str, Any]]:
        """Floats come back with the 6 significant digits LightGBM writes."""
        import lightgbm as lgb

        with GUARD.hold(None):
            booster = lgb.Booster(model_file=str(path))
        stored = getattr(booster, "params", None) or {}
        if not all(v in stored for v in _FILE_NAMES.values()):
            return booster, {}
        params = {k: stored[v] for k, v in _FILE_NAMES.items()}
        params["n_estimators"] = int(params["n_estimators"])
        params["max_depth"] = int(params["max_depth"])
        return booster, params

    def import_library(self) -> None:
        import lightgbm  # noqa: F401


FAMILY = LightGBM()
