"""What every regressor family provides, so that nothing outside its own module names it.

A family is one search space, one explicit mapping from searched names to its trainer's
arguments, one fit, one native file format and one warm-up. :mod:`.neural_net`,
:mod:`.xgboost`, :mod:`.lightgbm` and :mod:`.catboost` each implement it; the registry in
``families/__init__.py`` finds them by :class:`Family`. Model libraries are imported inside the
methods, never at module level, so importing a family costs nothing.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import optuna

    from gpu_executors.models.budget import Budget

PARAMS_KEY = "seedsieve_params"  # where the searched params live in each native model file


class Family(StrEnum):
    """The regressor families; each value is also the name of its module in this package."""

    NEURAL_NET = "neural_net"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    CATBOOST = "catboost"


@dataclass
class FitRequest:
    """One fit's inputs after validation: checked arrays, mapped trainer arguments, the caps."""

    kwargs: dict[str, Any]  # build()'s output, rounds already capped by the budget
    params: dict[str, Any]  # the searched names, stored in the model file
    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    seed: int
    device: str
    budget: Budget
    threads: int  # the tree libraries' thread count; torch's is process-wide (set by the caller)
    info: dict[str, Any] = field(default_factory=dict)  # the family adds what it measured

    @property
    def early_stopping(self) -> int | None:
        """Tree early-stopping rounds: only under the budget's setting and with validation rows."""
        return self.budget.tree_early_stopping if self.X_val is not None else None

    @property
    def cuda(self) -> bool:
        return str(self.device).startswith("cuda")


class ModelFamily(abc.ABC):
    """One regressor family: its search space, trainer mapping, fit and native persistence."""

    name: ClassVar[Family]
    extension: ClassVar[str]  # the native file format's suffix
    # The net early-stops on validation rows always (CV gives it an inner split of the fold's
    # training rows); trees only under Budget.tree_early_stopping, and otherwise score them.
    always_early_stops: ClassVar[bool] = False
    # torch's thread count is process-wide, so cross-validation sets it around the folds.
    uses_torch_threads: ClassVar[bool] = False

    @abc.abstractmethod
    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw one configuration; every name returned is a real ``trial`` parameter."""

    @abc.abstractmethod
    def build(self, params: dict[str, Any]) -> dict[str, Any]:
        """Searched names -> the trainer's own arguments, explicitly; ``ValueError`` on unknown
        or missing names (a refit once silently ignored the tuned architecture)."""

    def cap_rounds(self, kwargs: dict[str, Any], budget: Budget) -> int | None:
        """Apply the budget's round cap to ``kwargs`` in place; the rounds to run (None: net)."""
        return None

    @abc.abstractmethod
    def fit(self, request: FitRequest) -> tuple[Any, float]:
        """Fit the native model; returns it and the seconds spent training."""

    @abc.abstractmethod
    def n_features(self, model: Any) -> int:
        """How many features the native model was fitted on."""

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(X), dtype=np.float64)

    def raw_predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        """The library's own output, before any cast or reshape: the checks judge its shape."""
        return np.asarray(model.predict(X))

    def train_loss(self, model: Any) -> float | None:
        """The loss the trainer reports for the final model on its fit rows (None: trees, whose
        libraries report none comparable); the checks recompute it as a plain MSE."""
        return None

    def history(self, model: Any) -> dict[str, list[float]] | None:
        """Per-epoch losses where the family has epochs."""
        return None

    def layer_stats(self, model: Any, X: np.ndarray) -> list[dict[str, Any]] | None:
        """Activation statistics per layer where the family has layers (None: trees)."""
        return None

    @abc.abstractmethod
    def save(self, model: Any, params: dict[str, Any], final: Path) -> Path:
        """Write ``model`` atomically at ``final`` in the native format, with ``params``."""

    @abc.abstractmethod
    def load(self, path: Path, device: str) -> tuple[Any, dict[str, Any]]:
        """Read a file written by :meth:`save`: the native model and its searched params."""

    @abc.abstractmethod
    def import_library(self) -> None:
        """Import the family's library (and pay any first-use cost)."""

    def warm_up(self) -> float:
        """Pay once, before any trial is timed, the lazy imports the first trial would otherwise
        pay (sklearn's KFold, the family's library); returns the seconds spent."""
        t0 = time.perf_counter()
        import sklearn.model_selection  # noqa: F401

        self.import_library()
        return time.perf_counter() - t0

    # -- helpers for build() -------------------------------------------------------------------

    def check_keys(self, params: dict[str, Any], expected: frozenset[str] | set[str]) -> None:
        missing = sorted(set(expected) - set(params))
        unknown = sorted(set(params) - set(expected))
        if missing or unknown:
            raise ValueError(
                f"{self.name} params do not match the search space: missing {missing}, "
                f"unknown {unknown}"
            )

    def as_int(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"{self.name} param {name} must be an integer, got {value!r}")
        return int(value)


class TreeFamily(ModelFamily):
    """Gradient-boosted trees: a number of rounds and a depth, capped by leaves per fit."""

    rounds_key: ClassVar[str]
    depth_key: ClassVar[str]

    def leaves_per_tree(self, depth: int) -> int:
        return 2 ** min(int(depth), 30)

    def cap_rounds(self, kwargs: dict[str, Any], budget: Budget) -> int | None:
        cap = budget.tree_round_cap(self.leaves_per_tree(kwargs[self.depth_key]))
        if cap is not None and kwargs[self.rounds_key] > cap:
            kwargs[self.rounds_key] = cap
        return kwargs[self.rounds_key]


class SklearnTreeFamily(TreeFamily):
    """xgboost and lightgbm: the same space and the same sklearn-API argument names."""

    rounds_key = "n_estimators"
    depth_key = "max_depth"
    KEYS: ClassVar[frozenset[str]] = frozenset(
        {"n_estimators", "max_depth", "learning_rate", "subsample", "colsample"}
    )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 100, 500),
            "max_depth": trial.suggest_int("max_depth", 3, 12),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "subsample": trial.suggest_float("subsample", 0.6, 1.0),
            "colsample": trial.suggest_float("colsample", 0.6, 1.0),
        }

    def build(self, params: dict[str, Any]) -> dict[str, Any]:
        """sklearn-API estimator arguments (``colsample`` -> ``colsample_bytree``)."""
        self.check_keys(params, self.KEYS)
        return {
            "n_estimators": self.as_int("n_estimators", params["n_estimators"]),
            "max_depth": self.as_int("max_depth", params["max_depth"]),
            "learning_rate": float(params["learning_rate"]),
            "subsample": float(params["subsample"]),
            "colsample_bytree": float(params["colsample"]),
        }
