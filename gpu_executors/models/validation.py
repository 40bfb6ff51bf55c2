"""Input checks shared by fitting, cross-validation and search, and the one R^2.

The original system broadcast ``(N,)`` against ``(N, 1)`` (R^2 = -1076) and trained on NaN
without a word: every array entering a fit or a score passes through here first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def all_finite(a: np.ndarray) -> bool:
    """A finite sum proves every element finite (NaN/inf propagate); only then skip the scan."""
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(a))):
            return True
    return bool(np.isfinite(a).all())  # the sum may have overflowed on huge finite values


def check_X(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a finite float64 (rows, features) matrix, or ``ValueError``."""
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {a.shape}")
    if not all_finite(a):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def check_xy(X: Any, y: Any, names: tuple[str, str] = ("X", "y")) -> tuple[np.ndarray, np.ndarray]:
    """``check_X`` plus a finite 1-D target with one value per row."""
    Xa = check_X(X, names[0])
    ya = np.asarray(y, dtype=np.float64)
    if ya.ndim != 1:
        raise ValueError(f"{names[1]} must be 1-D (rows,), got shape {ya.shape}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"{names[1]} has {ya.shape[0]} rows but {names[0]} has {Xa.shape[0]}")
    if not all_finite(ya):
        raise ValueError(f"{names[1]} contains NaN or inf")
    return Xa, ya


def r2(y_true: Any, y_pred: Any) -> float:
    """R^2 that refuses (N,) vs (N, 1), non-finite values and a constant target.

    sklearn's ``r2_score`` would broadcast a column against a row vector and return 0.0 or 1.0
    for a constant target (force_finite), so the refusals come first; past them it computes
    exactly what the hand formula did (checked bit for bit when it replaced it).
    """
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
    if float(np.sum((t - t.mean()) ** 2)) == 0.0:
        raise ValueError("r2 is undefined: y_true is constant")
    from sklearn.metrics import r2_score

    return float(r2_score(t, p))
