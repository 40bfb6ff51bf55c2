"""Targets for ranking survivors: how well each candidate predicts the holdout draws.

``target_columns`` reads the holdout draws and nothing else (features read only the train draws),
so no feature can leak the answer a ranker is scored on. ``holdout_quality`` is deliberately
independent of any ``ScorerConfig`` (its lanes come from the modulus alone) so that a scorer
search cannot move the goalposts it is judged by.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


def quality_lanes(modulus: int) -> list[int]:
    """Prime-power factors of ``modulus`` when it has >= 2 distinct primes (1000 -> [8, 125])."""
    lanes, m, p = [], int(modulus), 2
    while p * p <= m:
        if m % p == 0:
            q = 1
            while m % p == 0:
                m //= p
                q *= p
            lanes.append(q)
        p += 1
    if m > 1:
        lanes.append(m)
    return lanes if len(lanes) >= 2 else []


def target_chance(modulus: int) -> dict[str, float]:
    """Expected target values of a candidate whose predictions are independent of the truth.

    Draws uniform on ``modulus`` values: hits 1/M; a lane L matches with probability 1/L; the
    mean closeness is 1/2 for even M and 1/2 + 1/(2 M^2) for odd M.
    """
    m = int(modulus)
    hits = 1.0 / m
    close = 0.5 if m % 2 == 0 else 0.5 + 1.0 / (2.0 * m * m)
    lanes = quality_lanes(m)
    if lanes:
        quality = 0.5 * hits + 0.25 * float(np.mean([1.0 / q for q in lanes])) + 0.25 * close
    else:
        quality = 0.5 * hits + 0.5 * close
    return {"holdout_hits": hits, "holdout_quality": quality}


@numba.njit(nogil=True, cache=True)
def _target_rows(lo, hi, pred, ha, hl, lanes, low, modulus, hits, quality):
    n = ha.shape[0]
    n_lanes = lanes.shape[0]
    half = modulus / 2.0
    for i in range(lo, hi):
        h = 0
        lane_hits = 0
        close = 0.0
        for j in range(n):
            a = pred[i, j] - low
            t = ha[j]
            if a == t:
                h += 1
            for k in range(n_lanes):
                if a % lanes[k] == hl[k, j]:
                    lane_hits += 1
            d = (a - t) % modulus
            if modulus - d < d:
                d = modulus - d
            close += 1.0 - d / half
        hr = h / n
        cm = close / n
        hits[i] = hr
        if n_lanes:
            quality[i] = 0.5 * hr + 0.25 * lane_hits / (n_lanes * n) + 0.25 * cm
        else:
            quality[i] = 0.5 * hr + 0.5 * cm


@numba.njit(parallel=True, nogil=True, cache=True)
def _target_kernel(pred, ha, hl, lanes, low, modulus, hits, quality, n_blocks):
    n_rows = pred.shape[0]
    for b in prange(n_blocks):
        lo = (n_rows * b) // n_blocks
        hi = (n_rows * (b + 1)) // n_blocks
        _target_rows(lo, hi, pred, ha, hl, lanes, low, modulus, hits, quality)


def target_columns(
    pred_holdout: np.ndarray, holdout: np.ndarray, low: int, modulus: int
) -> dict[str, np.ndarray]:
    """``TARGET_SCHEMA`` columns (float64, length N) from the holdout draws only.

    - ``holdout_hits``: share of holdout draws predicted exactly. Chance: about 1/modulus.
    - ``holdout_quality``: fixed, independent of any ScorerConfig. Lanes L are the prime-power
      factors of the modulus when it has at least two distinct primes (1000 -> [8, 125],
      36 -> [4, 9]), else none. Closeness c_j = 1 - circdist(pred_j - low, act_j - low; M)/(M/2).
      quality = 0.5*hits + 0.25*mean lane match rate + 0.25*mean(c); without lanes
      0.5*hits + 0.5*mean(c). Exact prediction gives 1.0. Chance (``target_chance``):
      0.5/M + 0.25*mean(1/L) + 0.25*E[c] with E[c] = 1/2 (even M) or 1/2 + 1/(2M^2) (odd M);
      0.142125 for M = 1000.
    """
    holdout = np.ascontiguousarray(holdout, dtype=np.int64).reshape(-1)
    n = holdout.shape[0]
    pred_holdout = np.asarray(pred_holdout)
    if pred_holdout.ndim != 2:
        raise ValueError(f"pred_holdout must be 2-D, got shape {pred_holdout.shape}")
    if n == 0:
        raise ValueError("no holdout draws")
    if pred_holdout.shape[1] != n:
        raise ValueError(f"pred_holdout has {pred_holdout.shape[1]} draws, holdout has {n}")
    if modulus < 1:
        raise ValueError(f"modulus must be >= 1, got {modulus}")
    if pred_holdout.dtype != np.int64 or not pred_holdout.flags.c_contiguous:
        pred_holdout = np.ascontiguousarray(pred_holdout, dtype=np.int64)
    n_rows = pred_holdout.shape[0]
    lanes = np.asarray(quality_lanes(modulus), dtype=np.int64)
    ha = holdout - low
    hl = np.stack([ha % q for q in lanes]) if lanes.size else np.zeros((0, n), np.int64)
    hits = np.zeros(n_rows)
    quality = np.zeros(n_rows)
    if n_rows:
        n_blocks = min(n_rows, numba.get_num_threads() * 16)
        _target_kernel(
            pred_holdout,
            ha,
            np.ascontiguousarray(hl, dtype=np.int64),
            lanes,
            np.int64(low),
            np.int64(modulus),
            hits,
            quality,
            n_blocks,
        )
    return {"holdout_hits": hits, "holdout_quality": quality}
