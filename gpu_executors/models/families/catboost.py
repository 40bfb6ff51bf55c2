"""CatBoost's regressor as a model family; files in its own .cbm format."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpu_executors.io.atomic import atomic_write
from gpu_executors.models.families.base import PARAMS_KEY, Family, FitRequest, TreeFamily

if TYPE_CHECKING:
    import optuna

KEYS = frozenset({"iterations", "depth", "learning_rate"})


class CatBoost(TreeFamily):
    name = Family.CATBOOST
    extension = ".cbm"
    rounds_key = "iterations"
    depth_key = "depth"

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "iterations": trial.suggest_int("iterations", 200, 800),
            "depth": trial.suggest_int("depth", 3, 10),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        }

    def build(self, params: dict[str, Any]) -> dict[str, Any]:
        """``CatBoostRegressor`` arguments, which share the searched names."""
        self.check_keys(params, KEYS)
        return {
            "iterations": self.as_int("iterations", params["iterations"]),
            "depth": self.as_int("depth", params["depth"]),
            "learning_rate": float(params["learning_rate"]),
        }

    def fit(self, request: FitRequest) -> tuple[Any, float]:
        import catboost as cb

        r = request
        stop = r.early_stopping
        extra = {} if r.budget.max_bin is None else {"border_count": r.budget.max_bin}
        model = cb.CatBoostRegressor(
            **r.kwargs,
            **extra,
            random_seed=r.seed,
            thread_count=r.threads,
            task_type="GPU" if r.cuda else "CPU",
            verbose=False,
            allow_writing_files=False,
        )
        t1 = time.perf_counter()
        if stop is not None:
            model.fit(
                r.X,
                r.y,
                eval_set=(r.X_val, r.y_val),
                early_stopping_rounds=stop,
                use_best_model=True,
            )
            r.info["best_iteration"] = int(model.get_best_iteration())
        else:
            model.fit(r.X, r.y)
        train_seconds = time.perf_counter() - t1
        model.get_metadata()[PARAMS_KEY] = json.dumps(r.params)
        return model, train_seconds

    def n_features(self, model: Any) -> int:
        return len(model.feature_names_)

    def save(self, model: Any, params: dict[str, Any], final: Path) -> Path:
        model.get_metadata()[PARAMS_KEY] = json.dumps(params)
        return atomic_write(final, lambda p: model.save_model(str(p), format="cbm"))

    def load(self, path: Path, device: str) -> tuple[Any, dict[str, Any]]:
        import catboost as cb

        model = cb.CatBoostRegressor()
        model.load_model(str(path), format="cbm")
        raw = model.get_metadata().get(PARAMS_KEY)
        return model, json.loads(raw) if raw else {}

    def import_library(self) -> None:
        import catboost  # noqa: F401


FAMILY = CatBoost()
