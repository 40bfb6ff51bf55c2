"""One fit of one family with searched-name params, and the fitted model's uniform face.

Every family's model predicts float64 of shape (N,) through :class:`FittedModel`, whatever the
library returns; the searched names travel with the model (and into its file) so a refit or a
reload can always say which configuration it is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpu_executors.models.budget import FULL, Budget
from gpu_executors.models.families import Family, ModelFamily, get_family
from gpu_executors.models.families.base import FitRequest
from gpu_executors.models.validation import check_X, check_xy, r2


@dataclass
class FittedModel:
    """A fitted model of one family; ``predict`` always returns float64 of shape (N,)."""

    family: Family
    params: dict[str, Any]  # the searched names (what build_params takes)
    model: Any  # FittedMLP | XGBRegressor | lightgbm.Booster | CatBoostRegressor
    fit_seconds: float = 0.0  # wall time of fit(); 0.0 for a loaded model
    train_seconds: float = 0.0  # neural_net: inside the epochs; trees: the library's fit call
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def impl(self) -> ModelFamily:
        return get_family(self.family)

    @property
    def n_features(self) -> int:
        return self.impl.n_features(self.model)

    @property
    def history(self) -> dict[str, list[float]] | None:
        """The net's per-epoch train/val losses (z-scored MSE); None for trees."""
        return self.impl.history(self.model)

    @property
    def train_loss(self) -> float | None:
        """The trainer's loss of the final model on its fit rows (the net); None for trees."""
        return self.impl.train_loss(self.model)

    def activation_stats(self, X: Any) -> list[dict[str, Any]]:
        """Where variance dies when predictions collapse to a constant.

        The net: per hidden layer and the output (see ``FittedMLP.activation_stats``). Trees have
        no layers: one ``output`` entry, in target units.
        """
        layers = self.impl.layer_stats(self.model, check_X(X))
        if layers is not None:
            return layers
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
        Xa = check_X(X)
        if Xa.shape[1] != self.n_features:
            raise ValueError(
                f"X has {Xa.shape[1]} features, the model was fitted on {self.n_features}"
            )
        pred = self.impl.predict(self.model, Xa)
        if pred.shape != (Xa.shape[0],):
            raise ValueError(
                f"{self.family} predicted shape {pred.shape}, expected ({Xa.shape[0]},)"
            )
        return pred


def fit(
    family: str | Family,
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
    """Fit one family with searched-name ``params`` (mapped by its ``build``).

    neural_net early-stops on (X_val, y_val) when given. Trees train for exactly the searched
    number of rounds unless ``budget.tree_early_stopping`` is set and X_val is given; otherwise
    X_val is only scored (``info["val_r2"]``). ``threads`` sets the tree libraries' thread count
    (default: every CPU); torch's is process-wide, so the caller sets it (see
    ``cv.cross_validate``).
    """
    impl = get_family(family)
    kwargs = impl.build(dict(params))
    n_threads = (os.cpu_count() or 1) if threads is None else int(threads)
    if n_threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    X, y = check_xy(X, y)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = check_xy(X_val, y_val, ("X_val", "y_val"))
    t0 = time.perf_counter()
    info: dict[str, Any] = {"budget": budget.as_dict()}
    rounds = impl.cap_rounds(kwargs, budget)
    if rounds is not None:
        info["rounds"] = rounds
    request = FitRequest(
        kwargs, dict(params), X, y, X_val, y_val, seed, device, budget, n_threads, info
    )
    model, train_seconds = impl.fit(request)
    fitted = FittedModel(impl.name, dict(params), model, 0.0, train_seconds, info)
    if X_val is not None and not impl.always_early_stops:
        info["val_r2"] = r2(y_val, fitted.predict(X_val))
    fitted.fit_seconds = time.perf_counter() - t0
    return fitted
