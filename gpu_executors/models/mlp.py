"""One torch MLP regressor, shared by the ranking scorer network and the neural_net family.

Every guard here answers a failure of the original system:

* a loss that broadcast ``(N,)`` against ``(N, 1)`` (R^2 = -1076): the network's output is
  squeezed to ``(N,)`` and :func:`_mse` refuses any shape mismatch with a ``ValueError``;
* targets with std 0.002 trained unscaled (R^2 -56..-11603): inputs and target are z-scored from
  the fit rows, and a constant target is refused (z-scoring it is undefined);
* a model that collapsed to a constant took days to diagnose: :meth:`FittedMLP.activation_stats`
  shows, layer by layer, where the variance across rows dies;
* pickled checkpoints: :meth:`FittedMLP.save` writes plain tensors/lists/floats that
  ``torch.load(..., weights_only=True)`` reads back.

The full-batch path keeps the data on the device as two tensors and does nothing per epoch but the
step and (optionally) one validation forward pass, so the fixed cost of a fit stays in milliseconds.
The settings (``MLPConfig``) are in ``mlp_config``, which needs no torch.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gpu_executors.io.atomic import atomic_write
from gpu_executors.models.mlp_config import MLPConfig
from gpu_executors.models.validation import all_finite

STATE_FORMAT = "seedsieve.mlp/1"
DEAD_STD = 1e-8  # a unit whose activation varies less than this across rows carries no signal
MIN_DELTA = 1e-6  # improvement (in z-scored MSE) that resets the early-stopping patience
_PREDICT_CHUNK = 65_536
_LEAKY_SLOPE = 0.01


class SeededDropout(nn.Module):
    """Dropout drawing from the fit's own generator, not torch's global one: folds fitted side
    by side in threads would otherwise share one RNG and their results depend on timing."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
        return x * mask / keep


class MLPNet(nn.Module):
    """[Linear -> BatchNorm1d -> LeakyReLU -> Dropout] x L -> Linear(1), output squeezed to (N,)."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        blocks = []
        width = n_features
        for h in hidden:
            blocks.append(
                nn.Sequential(
                    nn.Linear(width, h),
                    nn.BatchNorm1d(h),
                    nn.LeakyReLU(_LEAKY_SLOPE),
                    SeededDropout(dropout),
                )
            )
            width = h
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x).squeeze(-1)

    def seed_(self, seed: int, device: torch.device) -> None:
        """Initialise as torch's defaults do (Linear: Kaiming-uniform weights, uniform biases),
        but from a generator of this fit's own; dropout draws from another on ``device``."""
        init = torch.Generator().manual_seed(seed)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                with torch.no_grad():
                    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=init)
                    bound = 1.0 / math.sqrt(module.in_features)
                    nn.init.uniform_(module.bias, -bound, bound, generator=init)
        dropout_gen = torch.Generator(device=device).manual_seed(seed + 1)
        for module in self.modules():
            if isinstance(module, SeededDropout):
                module.generator = dropout_gen

    @property
    def widths(self) -> tuple[int, ...]:
        """The hidden widths the network actually has (what a refit must match)."""
        return tuple(block[0].out_features for block in self.blocks)


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE that refuses to broadcast: (N,) against (N, 1) silently gives an (N, N) loss."""
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}; "
            "refusing to broadcast in the loss"
        )
    return torch.mean((pred - target) ** 2)


def _torch_view(a: np.ndarray) -> torch.Tensor:
    """Zero-copy tensor over a float64 array (copied only when read-only: torch wants writable)."""
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _standardize(
    a: np.ndarray, mean: torch.Tensor, std: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """float64 rows -> float32 z-scores on ``device``: one copying cast, then in-place ops."""
    t = _torch_view(a).to(device=device, dtype=torch.float32, copy=True)  # never the caller's
    return t.sub_(mean).div_(std)


def _as_matrix(X: Any, name: str, n_features: int | None = None) -> np.ndarray:
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {a.shape}")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"{name} has {a.shape[1]} features, the model was fitted on {n_features}")
    if not all_finite(a):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _as_target(y: Any, name: str, n_rows: int) -> np.ndarray:
    a = np.asarray(y, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (rows,), got shape {a.shape}; reshape it explicitly")
    if a.shape[0] != n_rows:
        raise ValueError(f"{name} has {a.shape[0]} rows, the features have {n_rows}")
    if not all_finite(a):
        raise ValueError(f"{name} contains NaN or inf")
    return a


class FittedMLP:
    """A trained network plus the scalers that map raw features in and z-scores back out."""

    def __init__(
        self,
        model: MLPNet,
        config: MLPConfig,
        x_mean: np.ndarray,
        x_std: np.ndarray,
        y_mean: float,
        y_std: float,
        history: dict[str, list[float]],
        epochs: int,
        best_epoch: int,
        steps: int,
        fit_seconds: float = 0.0,
        epoch_seconds: float = 0.0,
        meta: dict[str, Any] | None = None,
        final_train_loss: float | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.x_mean = np.asarray(x_mean, dtype=np.float64)
        self.x_std = np.asarray(x_std, dtype=np.float64)
        self.y_mean = float(y_mean)
        self.y_std = float(y_std)
        self.history = history
        self.epochs = int(epochs)
        self.best_epoch = int(best_epoch)
        self.steps = int(steps)
        self.fit_seconds = float(fit_seconds)  # whole fit_mlp call
        self.epoch_seconds = float(epoch_seconds)  # inside the epoch loop only
        self.meta: dict[str, Any] = dict(meta or {})  # plain values saved with the weights
        # The training loss function (``_mse``) on every fit row with the final weights, in eval
        # mode: a plain MSE unless the loss broadcasts, which the model checks recompute to see.
        self.final_train_loss = None if final_train_loss is None else float(final_train_loss)

    @property
    def n_features(self) -> int:
        return int(self.x_mean.shape[0])

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _inputs(self, X: Any) -> torch.Tensor:
        a = _as_matrix(X, "X", self.n_features)
        dev = self.device
        mean = torch.as_tensor(self.x_mean, dtype=torch.float32, device=dev)
        std = torch.as_tensor(self.x_std, dtype=torch.float32, device=dev)
        return _standardize(a, mean, std, dev)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the original target units, shape (N,)."""
        xt = self._inputs(X)
        self.model.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, xt.shape[0], _PREDICT_CHUNK):
                out.append(self.model(xt[start : start + _PREDICT_CHUNK]).double().cpu())
        z = torch.cat(out).numpy() if out else np.zeros(0)
        pred = z * self.y_std + self.y_mean
        if pred.shape != (xt.shape[0],):
            raise ValueError(f"prediction shape {pred.shape} != ({xt.shape[0]},)")
        return pred

    def raw_output(self, X: Any) -> np.ndarray:
        """The network's own output for ``X`` (z-scored target units), before any reshape: the
        checks compare its shape with the target's, which ``predict`` would have refused or
        reshaped."""
        xt = self._inputs(X)
        self.model.eval()
        with torch.inference_mode():
            return self.model(xt).double().cpu().numpy()

    def activation_stats(self, X: Any) -> list[dict[str, Any]]:
        """Per hidden layer (post-LeakyReLU, eval mode) and the output: where variance dies.

        ``std`` is the mean over units of each unit's std across rows; ``dead_fraction`` the share
        of units whose std across rows is below 1e-8 (constant for every row, so no signal passes);
        ``negative_fraction`` the share of units that sit on the negative slope for every row.
        The output entry is in z-scored target units.
        """
        xt = self._inputs(X)
        if xt.shape[0] < 2:
            raise ValueError("activation_stats needs at least 2 rows to measure variation")
        self.model.eval()
        stats: list[dict[str, Any]] = []
        with torch.inference_mode():
            h = xt
            for i, block in enumerate(self.model.blocks):
                pre = block[1](block[0](h))
                h = block[3](block[2](pre))
                a = h.double()
                unit_std = a.std(dim=0)
                stats.append(
                    {
                        "layer": f"hidden.{i}",
                        "width": int(a.shape[1]),
                        "mean": float(a.mean()),
                        "std": float(unit_std.mean()),
                        "dead_fraction": float((unit_std < DEAD_STD).double().mean()),
                        "negative_fraction": float((pre <= 0).all(dim=0).double().mean()),
                    }
                )
            out = self.model.head(h).squeeze(-1).double()
            out_std = float(out.std())
            stats.append(
                {
                    "layer": "output",
                    "width": 1,
                    "mean": float(out.mean()),
                    "std": out_std,
                    "dead_fraction": float(out_std < DEAD_STD),
                    "negative_fraction": float((out <= 0).all()),
                }
            )
        return stats

    def state(self) -> dict[str, Any]:
        """Plain tensors/lists/floats only: readable with ``torch.load(weights_only=True)``."""
        return {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "n_features": self.n_features,
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "x_mean": torch.from_numpy(self.x_mean.copy()),
            "x_std": torch.from_numpy(self.x_std.copy()),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
            "history": {k: [float(v) for v in vals] for k, vals in self.history.items()},
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "steps": self.steps,
            "meta": self.meta,
            "final_train_loss": self.final_train_loss,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "cpu") -> FittedMLP:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} checkpoint (format={state.get('format')!r})")
        config = MLPConfig.from_dict({**state["config"], "device": device})
        model = MLPNet(int(state["n_features"]), config.hidden, config.dropout)
        model.load_state_dict(state["state_dict"])
        model.to(torch.device(device)).eval()
        return cls(
            model=model,
            config=config,
            x_mean=state["x_mean"].numpy(),
            x_std=state["x_std"].numpy(),
            y_mean=state["y_mean"],
            y_std=state["y_std"],
            history={k: list(v) for k, v in state["history"].items()},
            epochs=state["epochs"],
            best_epoch=state["best_epoch"],
            steps=state["steps"],
            meta=dict(state.get("meta") or {}),
            final_train_loss=state.get("final_train_loss"),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Atomic: a temp file in the same directory, then os.replace (no torn checkpoints)."""
        state = self.state()
        return atomic_write(path, lambda tmp: torch.save(state, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu") -> FittedMLP:
        """weights_only=True: no pickled objects are ever executed on load."""
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        return cls.from_state(state, device=device)


def fit_mlp(
    X: Any,
    y: Any,
    config: MLPConfig | None = None,
    X_val: Any = None,
    y_val: Any = None,
) -> FittedMLP:
    """Train with Adam on z-scored data; early-stop on the validation loss (else the train loss).

    The best weights seen are restored. ``max_steps`` caps optimiser steps across epochs.
    """
    t_fit = time.perf_counter()
    cfg = config if config is not None else MLPConfig()
    Xa = _as_matrix(X, "X")
    ya = _as_target(y, "y", Xa.shape[0])
    n, n_features = Xa.shape
    if n < 2:
        raise ValueError(f"fit_mlp needs at least 2 rows (BatchNorm), got {n}")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")

    # Scalers in float64, one pass without temporaries; a column whose variance is small next to
    # its squared mean (where E[x^2] - E[x]^2 cancels) is redone exactly in two passes.
    x_mean = Xa.mean(axis=0)
    var = np.einsum("ij,ij->j", Xa, Xa) / n - x_mean**2
    shaky = var <= 1e-6 * x_mean**2
    if shaky.any():
        centred = Xa[:, shaky] - x_mean[shaky]
        var[shaky] = np.einsum("ij,ij->j", centred, centred) / n
    x_std = np.sqrt(np.maximum(var, 0.0))
    # A constant column (its float std is rounding noise, ~1e-16 * |mean|): centre, do not scale.
    x_std[x_std <= 1e-12 * np.abs(x_mean)] = 1.0
    x_std[x_std == 0] = 1.0
    x_mean_t, x_std_t = torch.from_numpy(x_mean), torch.from_numpy(x_std)
    y_mean = float(ya.mean())
    y_std = float(ya.std())
    if not y_std > 1e-12 * max(1.0, abs(y_mean)):
        raise ValueError(
            f"target is constant (mean {y_mean:g}, std {y_std:g}): there is nothing to learn and "
            "its z-score is undefined"
        )

    device = torch.device(cfg.device)
    mean32 = x_mean_t.to(device=device, dtype=torch.float32)
    std32 = x_std_t.to(device=device, dtype=torch.float32)
    xt = _standardize(Xa, mean32, std32, device)
    yt = torch.as_tensor((ya - y_mean) / y_std, dtype=torch.float32, device=device)
    has_val = X_val is not None
    if has_val:
        Xv = _as_matrix(X_val, "X_val", n_features)
        yv = _as_target(y_val, "y_val", Xv.shape[0])
        if Xv.shape[0] < 1:
            raise ValueError("X_val has no rows")
        xv = _standardize(Xv, mean32, std32, device)
        yvt = torch.as_tensor((yv - y_mean) / y_std, dtype=torch.float32, device=device)

    model = MLPNet(n_features, cfg.hidden, cfg.dropout)
    model.seed_(cfg.seed, device)
    model.to(device)
    opt = torch.optim.Adam(
        model.parameters(),
        lr=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        fused=device.type in ("cpu", "cuda") or None,  # one kernel per step: ~10% faster on CPU
    )
    full_batch = cfg.batch_size == 0 or cfg.batch_size >= n
    bs = n if full_batch else cfg.batch_size
    # BatchNorm cannot train on a batch of one row: drop that single leftover row per epoch.
    n_used = n - 1 if (not full_batch and n % bs == 1) else n
    gen = torch.Generator().manual_seed(cfg.seed)

    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    best = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = -1
    bad_epochs = 0
    steps = 0
    epochs = 0
    t_epochs = time.perf_counter()
    for epoch in range(cfg.max_epochs):
        model.train()
        if full_batch:
            opt.zero_grad(set_to_none=True)
            loss = _mse(model(xt), yt)
            loss.backward()
            opt.step()
            steps += 1
            train_loss = float(loss.detach())
        else:
            perm = torch.randperm(n, generator=gen).to(device)
            total = torch.zeros((), device=device)
            seen = 0
            for start in range(0, n_used, bs):
                idx = perm[start : min(start + bs, n_used)]
                opt.zero_grad(set_to_none=True)
                loss = _mse(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                steps += 1
                total += loss.detach() * idx.shape[0]
                seen += idx.shape[0]
                if cfg.max_steps is not None and steps >= cfg.max_steps:
                    break
            train_loss = float(total) / seen
        history["train_loss"].append(train_loss)
        epochs = epoch + 1

        if has_val:
            model.eval()
            with torch.inference_mode():
                val_loss = float(_mse(model(xv), yvt))
            history["val_loss"].append(val_loss)
            monitored = val_loss
        else:
            monitored = train_loss
        if math.isfinite(monitored) and monitored < best - MIN_DELTA:
            best = monitored
            best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= cfg.patience:
                break
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            break
    epoch_seconds = time.perf_counter() - t_epochs

    if best_state is None:
        raise ValueError(
            f"training diverged: the monitored loss was never finite "
            f"(learning_rate={cfg.learning_rate:g}, hidden={cfg.hidden})"
        )
    model.load_state_dict(best_state)
    model.eval()
    with torch.inference_mode():  # through the training loss itself: a broadcast shows here
        final_train_loss = sum(
            float(_mse(model(xt[i : i + _PREDICT_CHUNK]), yt[i : i + _PREDICT_CHUNK]))
            * min(_PREDICT_CHUNK, n - i)
            for i in range(0, n, _PREDICT_CHUNK)
        ) / n
    return FittedMLP(
        model=model,
        config=cfg,
        x_mean=x_mean,
        x_std=x_std,
        y_mean=y_mean,
        y_std=y_std,
        history=history,
        epochs=epochs,
        best_epoch=best_epoch,
        steps=steps,
        fit_seconds=time.perf_counter() - t_fit,
        epoch_seconds=epoch_seconds,
        final_train_loss=final_train_loss,
    )
