"""The torch MLP regressor (:mod:`gpu_executors.models.mlp`) as a model family."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpu_executors.models.families.base import Family, FitRequest, ModelFamily

if TYPE_CHECKING:
    import optuna

    from gpu_executors.models.mlp import FittedMLP

BATCH_SIZES = (0, 256, 512, 1024)  # 0 = full batch
KEYS = frozenset({"n_layers", "dropout", "learning_rate", "batch_size", "max_epochs", "patience"})


class NeuralNet(ModelFamily):
    name = Family.NEURAL_NET
    extension = ".pt"
    always_early_stops = True
    uses_torch_threads = True

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """2-4 hidden layers, each at most as wide as the one before."""
        p: dict[str, Any] = {}
        n_layers = p["n_layers"] = trial.suggest_int("n_layers", 2, 4)
        width = p["layer_0"] = trial.suggest_int("layer_0", 64, 256)
        for i in range(1, n_layers):
            width = p[f"layer_{i}"] = trial.suggest_int(f"layer_{i}", 32, width)
        p["dropout"] = trial.suggest_float("dropout", 0.2, 0.6)
        p["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        p["batch_size"] = trial.suggest_categorical("batch_size", list(BATCH_SIZES))
        p["max_epochs"] = trial.suggest_int("max_epochs", 50, 200)
        p["patience"] = trial.suggest_int("patience", 10, 30)
        return p

    def build(self, params: dict[str, Any]) -> dict[str, Any]:
        """``MLPConfig`` fields; ``hidden`` from ``n_layers`` + ``layer_0..layer_{n-1}``."""
        if "n_layers" not in params:
            raise ValueError("neural_net params lack n_layers (needed to read layer_0..layer_n-1)")
        n_layers = self.as_int("n_layers", params["n_layers"])
        if n_layers < 1:
            raise ValueError(f"neural_net n_layers must be >= 1, got {n_layers}")
        self.check_keys(params, KEYS | {f"layer_{i}" for i in range(n_layers)})
        return {
            "hidden": tuple(
                self.as_int(f"layer_{i}", params[f"layer_{i}"]) for i in range(n_layers)
            ),
            "dropout": float(params["dropout"]),
            "learning_rate": float(params["learning_rate"]),
            "batch_size": self.as_int("batch_size", params["batch_size"]),
            "max_epochs": self.as_int("max_epochs", params["max_epochs"]),
            "patience": self.as_int("patience", params["patience"]),
        }

    def fit(self, request: FitRequest) -> tuple[FittedMLP, float]:
        from gpu_executors.models.mlp import MLPConfig, fit_mlp

        r = request
        max_steps = r.budget.nn_step_cap(r.X.shape[0], r.kwargs["batch_size"])
        config = MLPConfig(**r.kwargs, seed=r.seed, device=r.device, max_steps=max_steps)
        net = fit_mlp(r.X, r.y, config, r.X_val, r.y_val)
        net.meta["params"] = dict(r.params)
        r.info.update(epochs=net.epochs, best_epoch=net.best_epoch, steps=net.steps)
        return net, net.epoch_seconds

    def n_features(self, model: FittedMLP) -> int:
        return model.n_features

    def predict(self, model: FittedMLP, X: np.ndarray) -> np.ndarray:
        return model.predict(X)

    def raw_predict(self, model: FittedMLP, X: np.ndarray) -> np.ndarray:
        return model.raw_output(X)

    def train_loss(self, model: FittedMLP) -> float | None:
        return model.final_train_loss

    def history(self, model: FittedMLP) -> dict[str, list[float]] | None:
        return model.history

    def layer_stats(self, model: FittedMLP, X: np.ndarray) -> list[dict[str, Any]]:
        return model.activation_stats(X)

    def save(self, model: FittedMLP, params: dict[str, Any], final: Path) -> Path:
        model.meta["params"] = dict(params)
        return model.save(final)  # FittedMLP.save is atomic itself

    def load(self, path: Path, device: str) -> tuple[FittedMLP, dict[str, Any]]:
        from gpu_executors.models.mlp import FittedMLP

        net = FittedMLP.load(path, device=device)
        return net, dict(net.meta.get("params") or {})

    def import_library(self) -> None:
        """torch, the MLP module, and torch.optim's ~2 s first-use import of dynamo."""
        import torch

        import gpu_executors.models.mlp  # noqa: F401

        torch.optim.Adam([torch.zeros(1, requires_grad=True)])


FAMILY = NeuralNet()
