"""The feature matrix: per-survivor features and targets, cut at one place, with a leakage probe.

Features are computed from the train draws only and targets from the holdout only; the one place
the history is cut is ``train_view`` / ``holdout_view``, and ``leakage_probe`` checks the cut from
the outside: scrambling the holdout must leave every feature unchanged and change the targets.
The scorer search and the predictions build their rows with the same functions, so the sieve,
the features, the targets and the predictions index outputs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from gpu_executors.linear.registry import linear_only
from gpu_executors.linear.replay import draw_range
from gpu_executors.prng.draws import parse_draw
from gpu_executors.ranking.features import feature_columns
from gpu_executors.ranking.predicted import Candidates, predicted_draws
from gpu_executors.ranking.schema import FEATURE_SCHEMA, TARGET_SCHEMA, ScorerConfig
from gpu_executors.ranking.targets import target_columns
from gpu_executors.sieve.strategies import GapStrategy

KEY_COLUMNS = ("seed", "offset", "gap")
# Sieve metadata every row carries; features in their own right (the original lost most of its).
SIEVE_COLUMNS = {
    "sieve_offset": "words discarded before the first draw",
    "sieve_gap": "constant gap (-1: variable gaps)",
    "sieve_gap_mean": "mean recorded gap (variable gaps), else the gap",
    "sieve_gap_std": "spread of the recorded gaps (0 for a constant gap)",
    "sieve_gap_range": "largest minus smallest recorded gap (0 for a constant gap)",
    "sieve_gap_entropy": "Shannon entropy (bits) of the recorded gaps (0 for a constant gap)",
    "sieve_variable_gap": "1 for a variable-gap survivor, 0 for a constant gap",
    "sieve_gap_strategy": "the variable-gap strategy that kept it, 1 strictest .. 4 greedy; 0 "
                          "for a constant gap",
    "sieve_forward_matches": "window draws matched stepping forward",
    "sieve_reverse_matches": "window draws matched stepping backward (state scans)",
    "sieve_match_rate": "share of the sieve window matched",
}
CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class History:
    """The draws as ``draw_history`` ingested them, cut once into train and holdout, with the
    generator, draw function and sieve window the ranking reads them under.

    Not ``io.history.DrawHistory`` (the validated file): this is what a case's ranking needs,
    rebuilt from stored artefacts, and the one place the train/holdout cut is made.
    """

    values: np.ndarray  # every draw, train first
    n_train: int
    generator: str
    draw: str
    window: int  # the sieve window: the first ``window`` train draws
    mode: str = "seed"
    anchor: int = 0

    @property
    def low(self) -> int:
        return self._range()[0]

    @property
    def modulus(self) -> int:
        return self._range()[1]

    def _range(self) -> tuple[int, int]:
        """``(low, n_values)``; a linear-only generator's draw (V8's ``floor:N``) is the
        linear route's, which ``parse_draw`` does not know."""
        if linear_only(self.generator):
            return draw_range(self.generator, self.draw)
        spec = parse_draw(self.draw)
        return spec.low, spec.n_values

    @property
    def n_holdout(self) -> int:
        return len(self.values) - self.n_train

    def scrambled_holdout(self, seed: int = 0) -> History:
        """The same history with the holdout replaced by other draws (the leakage probe)."""
        rng = np.random.default_rng(seed)
        values = self.values.copy()
        values[self.n_train:] = rng.integers(self.low, self.low + self.modulus, self.n_holdout)
        return History(values, self.n_train, self.generator, self.draw, self.window, self.mode,
                       self.anchor)


def train_view(pred: np.ndarray, history: History) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and observed train draws: everything a feature may read."""
    return pred[:, : history.n_train], history.values[: history.n_train]


def holdout_view(pred: np.ndarray, history: History) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and observed holdout draws: everything a target may read."""
    return pred[:, history.n_train:], history.values[history.n_train:]


def candidates_of(pool: pl.DataFrame, history: History) -> Candidates:
    return Candidates.from_frame(pool, mode=history.mode, anchor=history.anchor)


def _entropy_bits(gaps: list[int]) -> float:
    if not gaps:
        return 0.0
    _, counts = np.unique(gaps, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def sieve_columns(pool: pl.DataFrame) -> dict[str, np.ndarray]:
    """The survivor record's evidence of how each row survived (a pool written before gap
    strategies has no ``strategy`` column: its rows read as constant or greedy)."""
    gaps = pool["gaps"].to_list()
    gap = pool["gap"].to_numpy().astype(np.float64)
    mean = np.array([np.mean(g) if g else v for g, v in zip(gaps, gap, strict=True)])
    std = np.array([np.std(g) if g else 0.0 for g in gaps])
    variable = gap < 0
    names = (pool["strategy"].to_list() if "strategy" in pool.columns
             else [GapStrategy.GREEDY.value if v else None for v in variable])
    rank = {s.value: i + 1 for i, s in enumerate(GapStrategy)}
    return {
        "sieve_offset": pool["offset"].to_numpy().astype(np.float64),
        "sieve_gap": gap,
        "sieve_gap_mean": mean.astype(np.float64),
        "sieve_gap_std": std.astype(np.float64),
        "sieve_gap_range": np.array([max(g) - min(g) if g else 0.0 for g in gaps], np.float64),
        "sieve_gap_entropy": np.array([_entropy_bits(g) for g in gaps], np.float64),
        "sieve_variable_gap": variable.astype(np.float64),
        "sieve_gap_strategy": np.array([rank.get(n, 0) if n else 0 for n in names], np.float64),
        "sieve_forward_matches": pool["forward_matches"].to_numpy().astype(np.float64),
        "sieve_reverse_matches": pool["reverse_matches"].to_numpy().astype(np.float64),
        "sieve_match_rate": pool["match_rate"].to_numpy().astype(np.float64),
    }


def rows(pool: pl.DataFrame, history: History, config: ScorerConfig,
         with_targets: bool = True) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Feature and target columns for the pool's rows (one chunk's worth of memory at a time)."""
    feats: dict[str, list[np.ndarray]] = {}
    targs: dict[str, list[np.ndarray]] = {}
    n_pred = len(history.values) if with_targets else history.n_train
    for start in range(0, pool.height, CHUNK_ROWS):
        chunk = pool.slice(start, CHUNK_ROWS)
        pred = predicted_draws(candidates_of(chunk, history), n_pred)
        f, t = rows_from_pred(chunk, pred, history, config, with_targets)
        for k, v in f.items():
            feats.setdefault(k, []).append(v)
        for k, v in t.items():
            targs.setdefault(k, []).append(v)
    return ({k: np.concatenate(v) for k, v in feats.items()},
            {k: np.concatenate(v) for k, v in targs.items()})


def rows_from_pred(pool: pl.DataFrame, pred: np.ndarray, history: History, config: ScorerConfig,
                   with_targets: bool = True, spectral: bool = True) -> tuple[dict, dict]:
    """Columns for rows whose predicted draws are already known (``pred`` row i = pool row i)."""
    pred = np.ascontiguousarray(pred, dtype=np.int64)
    p_train, train = train_view(pred, history)
    feats = {**sieve_columns(pool),
             **feature_columns(p_train, train, history.low, history.modulus, history.window,
                               config, spectral=spectral)}
    targs = {}
    if with_targets:
        p_hold, hold = holdout_view(pred, history)
        targs = target_columns(p_hold, hold, history.low, history.modulus)
    return feats, targs


def feature_names() -> list[str]:
    return [*SIEVE_COLUMNS, *FEATURE_SCHEMA]


def schema() -> dict[str, dict[str, str]]:
    """The one documented schema of the matrix: each column's role and meaning."""
    out = {k: {"role": "key", "meaning": m} for k, m in
           {"seed": "the candidate's seed (or state at the anchor)",
            "offset": "words before the first draw", "gap": "constant gap, -1 variable"}.items()}
    out.update({k: {"role": "feature", "meaning": m} for k, m in SIEVE_COLUMNS.items()})
    out.update({k: {"role": "feature", "meaning": m} for k, m in FEATURE_SCHEMA.items()})
    out.update({k: {"role": "target", "meaning": m} for k, m in TARGET_SCHEMA.items()})
    return out


def feature_matrix(pool: pl.DataFrame, history: History, config: ScorerConfig) -> pl.DataFrame:
    """Keys, features and targets, one row per survivor, in the schema's column order.

    An empty pool gives an empty matrix with the same columns and types (no rows to compute),
    so that readers downstream see one schema whatever the sieve found."""
    frame = pool.select(list(KEY_COLUMNS))
    if pool.height == 0:
        return frame.with_columns(
            [pl.Series(k, [], dtype=pl.Float64) for k in (*feature_names(), *TARGET_SCHEMA)])
    feats, targs = rows(pool, history, config)
    return frame.with_columns(
        [pl.Series(k, feats[k]) for k in feature_names()]
        + [pl.Series(k, targs[k]) for k in TARGET_SCHEMA]
    )


def constant_columns(values: np.ndarray, names: list[str], expected: set[str]) -> list[str]:
    """Columns of ``values`` (rows, columns) that never vary, less those ``expected`` to be.

    Fewer than two rows cannot vary at all: that says nothing about a lost feature, so none is
    reported."""
    if values.shape[0] < 2:
        return []
    flat = np.ptp(values, axis=0) == 0
    return [k for k, c in zip(names, flat, strict=True) if c and k not in expected]


def leakage_probe(pool: pl.DataFrame, history: History, config: ScorerConfig,
                  sample: int = 256, seed: int = 0) -> dict:
    """Recompute a sample with the holdout scrambled: features must not move, targets must."""
    if pool.height == 0 or history.n_holdout == 0:
        return {"rows": 0, "features_moved": [], "targets_moved": False}
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(pool.height, size=min(sample, pool.height), replace=False))
    part = pool[idx]
    f_real, t_real = rows(part, history, config)
    f_fake, t_fake = rows(part, history.scrambled_holdout(seed), config)
    moved = [k for k in f_real if not np.array_equal(f_real[k], f_fake[k], equal_nan=True)]
    targets_moved = any(not np.array_equal(t_real[k], t_fake[k]) for k in t_real)
    return {"rows": len(idx), "features_moved": moved, "targets_moved": targets_moved}
