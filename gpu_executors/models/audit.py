"""Re-deriving a fitted family's figures from its stored artefacts, apart from the code that
wrote them.

The model checks must fail when an artefact disagrees with its own record, whatever produced
it, so nothing here calls the writer's helpers (``validation.r2``,
``evaluation.permutation_p_value``, the sidecar's recorded scores): the model is reloaded from
its file, predicts the recorded rows of the stored matrix, and every figure is computed again
with the plain formulas below. A fault planted in the writer's code then shows up as a
disagreement, or is judged by the recomputation instead of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_executors.models.fitting import FittedModel

PERMUTATIONS = 999  # the checks' own permutation test: 999 shuffles of the test targets...
PERMUTATION_SEED = 0  # ...drawn from numpy's default_rng(0), whatever seed the writer used
R2_RTOL = 1e-9  # recorded vs recomputed test R^2, model reloaded on the device it was fitted on
R2_RTOL_OTHER_DEVICE = 1e-5  # float32 networks differ by rounding between CPU and GPU
LOSS_RTOL = 1e-5  # the net's float32 loss vs a float64 MSE of the same predictions
MIN_RELATIVE_SPREAD = 1e-6  # std / (|mean| + target std): below this, predictions are constant
_CHUNK = 128  # permutations per vectorised block


def plain_r2(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE/SST by the textbook formula (refuses unequal shapes instead of broadcasting)."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.shape != pred.shape or y.ndim != 1:
        raise ValueError(f"plain_r2 needs two equal 1-D shapes, got {y.shape} and {pred.shape}")
    sst = float(((y - y.mean()) ** 2).sum())
    if sst == 0.0:
        return float("nan")
    return 1.0 - float(((y - pred) ** 2).sum()) / sst


def permutation_p(
    y: np.ndarray, pred: np.ndarray, n_perm: int = PERMUTATIONS, seed: int = PERMUTATION_SEED
) -> float:
    """P(R^2 of the same predictions against shuffled targets >= their R^2), (hits+1)/(n+1).

    Vectorised and seeded on its own, so it shares neither code nor random stream with the
    writer's permutation test; the two agree within Monte Carlo error when both are honest.
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    observed = plain_r2(y, pred)
    if not np.isfinite(observed):
        return 1.0
    sst = float(((y - y.mean()) ** 2).sum())
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_perm, _CHUNK):
        k = min(_CHUNK, n_perm - start)
        shuffled = rng.permuted(np.tile(y, (k, 1)), axis=1)
        r2s = 1.0 - ((shuffled - pred) ** 2).sum(axis=1) / sst
        hits += int((r2s >= observed).sum())
    return (hits + 1) / (n_perm + 1)


def p_values_agree(
    recorded: float, recomputed: float, n_perm: int = PERMUTATIONS, scale: float = 1.0
) -> bool:
    """Two Monte Carlo p-values of one test agree: within 5 standard errors of the difference of
    two independent estimates, plus two steps of the (hits+1)/(n+1) grid; ``scale`` multiplies
    both p (a Bonferroni factor) and so the tolerance."""
    base = min(1.0, max(recomputed / scale, 1.0 / (n_perm + 1)))
    tolerance = scale * (5.0 * np.sqrt(2.0 * base * (1.0 - base) / n_perm) + 2.0 / (n_perm + 1))
    return bool(abs(float(recorded) - float(recomputed)) <= tolerance)


def relatively_equal(a: float, b: float, rtol: float) -> bool:
    """|a - b| <= rtol * max(|a|, |b|, 1e-12): tight, and meaningful near zero too."""
    return bool(abs(a - b) <= rtol * max(abs(a), abs(b), 1e-12))


@dataclass(frozen=True)
class Rederived:
    """One family's figures recomputed from its model file and the stored matrix."""

    family: str
    device: str  # where the model was reloaded
    same_device: bool  # reloaded on the device it was fitted on (exact float32 replay)
    target_shape: list[int]
    raw_shape: list[int]  # the model's own output on the test rows, before any reshape
    test_r2: float
    prediction_std: float
    relative_spread: float  # std / (|mean| + std of the test targets)
    distinct_predictions: int
    permutation_p: float | None  # PERMUTATIONS shuffles, PERMUTATION_SEED (None: not asked)
    fit_mse: float | None  # plain MSE on the recorded fit rows, in the fit rows' target z-units

    @property
    def r2_rtol(self) -> float:
        return R2_RTOL if self.same_device else R2_RTOL_OTHER_DEVICE

    @property
    def constant(self) -> bool:
        return not (self.relative_spread > MIN_RELATIVE_SPREAD and self.distinct_predictions > 1)


def _reload_device(recorded: str | None) -> str:
    """The recorded device when this machine has it (an exact replay), else the CPU."""
    if recorded and recorded.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return recorded
    return "cpu"


def rederive(
    family: str,
    model_path: str,
    recorded_device: str | None,
    x: np.ndarray,
    y: np.ndarray,
    test_rows: list[int],
    fit_rows: list[int] | None = None,
    *,
    permutations: bool = False,
) -> Rederived:
    """Reload ``family``'s model from ``model_path`` and recompute its figures on the recorded
    ``test_rows`` (and ``fit_rows`` when given) of the stored matrix ``x``, ``y``; the
    permutation p only when asked (it costs ``PERMUTATIONS`` passes over the test rows)."""
    from gpu_executors.models.persistence import load_model

    device = _reload_device(recorded_device)
    model = load_model(family, model_path, device=device)
    test = np.asarray(test_rows, dtype=np.int64)
    x_test, y_test = x[test], y[test]
    raw = raw_output(model, x_test)
    pred = model.predict(x_test)
    std = float(np.std(pred))
    fit_mse = None
    if fit_rows is not None:
        rows = np.asarray(fit_rows, dtype=np.int64)
        y_fit = y[rows]
        scale = float(np.std(y_fit)) or 1.0
        fit_mse = float(np.mean(((model.predict(x[rows]) - y_fit) / scale) ** 2))
    return Rederived(
        family=family,
        device=device,
        same_device=device == (recorded_device or "cpu"),
        target_shape=list(y_test.shape),
        raw_shape=list(np.shape(raw)),
        test_r2=plain_r2(y_test, pred),
        prediction_std=std,
        relative_spread=std / (abs(float(np.mean(pred))) + float(np.std(y_test)) + 1e-300),
        distinct_predictions=int(np.unique(pred).size),
        permutation_p=permutation_p(y_test, pred) if permutations else None,
        fit_mse=fit_mse,
    )


def raw_output(model: FittedModel, x: np.ndarray) -> Any:
    """What the family's model itself returns for ``x``, before ``FittedModel.predict`` checks
    or any reshape: the network's output tensor (as numpy), the tree library's array."""
    return model.impl.raw_predict(model.model, np.asarray(x, dtype=np.float64))
