"""Rebuild stored feature-matrix rows from the train draws alone, and compare.

The matrix's record says which scorer configuration built it and the features claim to read the
train draws only; neither is taken on the writer's word. A sample of rows is rebuilt with the
production row builder from the stored pool rows, the recorded configuration and a history cut
at the train end (the holdout values do not exist there, so a feature that reads them gets
nothing, or fails), and every feature column must equal the stored one. A matrix built with
another configuration, a feature that read the holdout, or a column altered after it was
computed all show up as a difference, whichever code wrote the file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from gpu_executors.ranking.matrix import KEY_COLUMNS, History, feature_names, rows
from gpu_executors.ranking.schema import ScorerConfig

SAMPLE_ROWS = 200
SAMPLE_SEED = 0
RTOL = 1e-9  # the same code on the same rows: only summation order may differ
ATOL = 1e-12


def train_only(history: History) -> History:
    """The history cut at the train end: no holdout value is there to be read."""
    return dataclasses.replace(history, values=history.values[: history.n_train].copy())


@dataclass(frozen=True)
class Rebuilt:
    """What the rebuild found: ``differing`` maps a column to its largest absolute difference
    (inf where one side is NaN and the other not)."""

    rows: int
    columns: int
    keys_match: bool
    missing: list[str]
    differing: dict[str, float]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.keys_match and not self.missing and not self.differing and self.error is None


def _max_difference(stored: np.ndarray, rebuilt: np.ndarray) -> float | None:
    """None when the columns agree within tolerance, else their largest difference."""
    if np.allclose(stored, rebuilt, rtol=RTOL, atol=ATOL, equal_nan=True):
        return None
    if not np.array_equal(np.isnan(stored), np.isnan(rebuilt)):
        return float("inf")
    return float(np.nanmax(np.abs(stored - rebuilt)))


def rebuild_sample(matrix: pl.DataFrame, pool: pl.DataFrame, history: History,
                   config: ScorerConfig, sample: int = SAMPLE_ROWS,
                   seed: int = SAMPLE_SEED) -> Rebuilt:
    """Rebuild up to ``sample`` rows (a fixed RNG) and compare every feature column."""
    names = feature_names()
    if matrix.height != pool.height:
        return Rebuilt(0, len(names), False, [], {},
                       f"the matrix has {matrix.height} rows, the pool {pool.height}")
    idx = np.sort(np.random.default_rng(seed).choice(pool.height, size=min(sample, pool.height),
                                                     replace=False))
    part, stored = pool[idx], matrix[idx]
    keys = list(KEY_COLUMNS)
    keys_match = stored.select(keys).equals(part.select(keys))
    missing = [k for k in names if k not in stored.columns]
    try:
        feats, _ = rows(part, train_only(history), config, with_targets=False)
    except (IndexError, ValueError) as exc:  # a feature wanted draws past the train cut
        return Rebuilt(len(idx), len(names), keys_match, missing, {},
                       f"{type(exc).__name__}: {exc}")
    missing += [k for k in names if k not in feats and k not in missing]
    differing = {}
    for k in names:
        if k in missing:
            continue
        diff = _max_difference(stored[k].to_numpy().astype(np.float64),
                               np.asarray(feats[k], dtype=np.float64))
        if diff is not None:
            differing[k] = diff
    return Rebuilt(len(idx), len(names), keys_match, missing, differing)
