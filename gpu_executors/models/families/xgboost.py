"""XGBoost's sklearn-API regressor (hist method) as a model family; files in UBJSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from gpu_executors.io.atomic import atomic_write
from gpu_executors.models.families.base import PARAMS_KEY, Family, FitRequest, SklearnTreeFamily


class XGBoost(SklearnTreeFamily):
    name = Family.XGBOOST
    extension = ".ubj"

    def fit(self, request: FitRequest) -> tuple[Any, float]:
        import xgboost as xgb

        r = request
        stop = r.early_stopping
        extra: dict[str, Any] = {}
        if r.budget.max_bin is not None:
            extra["max_bin"] = r.budget.max_bin
        if stop is not None:
            extra["early_stopping_rounds"] = stop
        model = xgb.XGBRegressor(
            **r.kwargs,
            **extra,
            tree_method="hist",
            device="cuda" if r.cuda else "cpu",
            n_jobs=r.threads,
            random_state=r.seed,
        )
        t1 = time.perf_counter()
        if stop is not None:
            model.fit(r.X, r.y, eval_set=[(r.X_val, r.y_val)], verbose=False)
            r.info["best_iteration"] = int(model.best_iteration)
        else:
            model.fit(r.X, r.y)
        train_seconds = time.perf_counter() - t1
        model.get_booster().set_attr(**{PARAMS_KEY: json.dumps(r.params)})
        return model, train_seconds

    def n_features(self, model: Any) -> int:
        return int(model.get_booster().num_features())

    def save(self, model: Any, params: dict[str, Any], final: Path) -> Path:
        model.get_booster().set_attr(**{PARAMS_KEY: json.dumps(params)})
        return atomic_write(final, lambda p: model.save_model(str(p)))

    def load(self, path: Path, device: str) -> tuple[Any, dict[str, Any]]:
        import xgboost as xgb

        model = xgb.XGBRegressor()
        model.load_model(str(path))
        raw = model.get_booster().attr(PARAMS_KEY)
        return model, json.loads(raw) if raw else {}

    def import_library(self) -> None:
        import xgboost  # noqa: F401


FAMILY = XGBoost()
