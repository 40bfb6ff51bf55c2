"""The next draws, per source, behind a holdout backtest and a signal gate.

Two sources: the *confirmed* candidates (their matches on train draws outside the sieve window
are significant on their own) and the *model*'s top test rows (rows whose holdout the ranking
never learned from). Each is backtested on the holdout alone and withheld unless it beats chance.
When nothing could be ranked (too few survivors: no model, no winner), only the confirmed source
remains, ordered by evidence; an empty pool abstains with the reason. The ``predictions`` asset
is a thin shell over ``forecast``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from gpu_executors.linear.identity import candidate_identity
from gpu_executors.models.evaluation import backtest, confirmed
from gpu_executors.ranking.matrix import History
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.predicted import Candidates, predicted_draws

UNRANKED = "unranked"  # a pick's source when no model ranked it and it is not confirmed


def rank_rows(evidence: np.ndarray, sure: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
    """Row order: confirmed first (strongest evidence first), then the model's order, or, with no
    model, the evidence (train draws outside the window) and then row order."""
    if scores is None:
        return np.lexsort((-np.asarray(evidence, np.float64), ~sure))
    return np.lexsort((-scores, -np.where(sure, evidence, 0.0), ~sure))


def source_rows(
    sure: np.ndarray, scores: np.ndarray | None, test_rows: np.ndarray | None, top_k: int
) -> dict[str, np.ndarray]:
    """The rows each source is backtested on; no model, no model source."""
    sources = {"confirmed": np.flatnonzero(sure)}
    if scores is not None and test_rows is not None:
        test_rows = np.asarray(test_rows, dtype=np.int64)
        sources["model"] = test_rows[np.argsort(-scores[test_rows])][:top_k]
    return sources


def backtest_sources(
    sources: dict[str, np.ndarray], pool: pl.DataFrame, history: History
) -> dict[str, dict[str, Any]]:
    """Each source's holdout hits against chance (1 / modulus), with its candidate count."""
    chance = 1.0 / history.modulus
    holdout = history.values[history.n_train :]
    out = {}
    for name, rows in sources.items():
        if len(rows) == 0:
            out[name] = {**backtest(np.zeros(0, bool), chance), "candidates": 0}
            continue
        held = predicted_draws(
            Candidates.from_frame(pool[rows], mode=history.mode, anchor=history.anchor),
            len(history.values),
        )[:, history.n_train :]
        out[name] = {
            **backtest((held == holdout[None, :]).ravel(), chance),
            "candidates": len(rows),
        }
    return out


def gate(
    backtests: dict[str, dict[str, Any]], alpha: float, no_model: str | None = None
) -> tuple[set[str], str]:
    """The sources that beat chance at ``alpha``, and the reason, source by source (``no_model``:
    why there is no model source)."""
    opened = {name for name, b in backtests.items() if b["p_value"] < alpha}
    parts = [
        f"{name} ({b['candidates']} candidates): hit rate {b['hit_rate']:.4f} vs chance "
        f"{b['chance']:.4f}, p = {b['p_value']:.3g}"
        + (" - beats chance" if name in opened else f" - not below alpha {alpha}, withheld")
        for name, b in backtests.items()
    ]
    if no_model is not None:
        parts.append(f"model: no ranking ({no_model})")
    return opened, "; ".join(parts)


def forecast(
    matrix: pl.DataFrame,
    pool: pl.DataFrame,
    history: History,
    scores: np.ndarray | None,
    test_rows: np.ndarray | None,
    *,
    top_k: int,
    next_draws: int,
    alpha: float,
    no_model: str | None = None,
) -> dict[str, Any]:
    """The predictions record (without the asset's lineage fields).

    ``matrix`` row i is ``pool`` row i; ``scores`` and ``test_rows`` are the winning model's
    (None with no winner, ``no_model`` then says why). A pick is named by its seed, offset and
    gap, or, for a recovered state (linear mode), by ``linear.identity``'s state keys."""
    n_all = len(history.values)
    chance = 1.0 / history.modulus
    if matrix.height == 0:
        reason = pool_skip_reason(0)
        return {
            "status": "abstain",
            "reason": reason,
            "backtests": {"confirmed": {**backtest(np.zeros(0, bool), chance), "candidates": 0}},
            "open_sources": [],
            "confirmed_candidates": 0,
            "predictions": [],
            "ranked_candidates": [],
            "next_draw_indices": [n_all, n_all + next_draws - 1],
            "history_draws": n_all,
        }
    evidence = matrix["outside_window_evidence"].to_numpy()
    sure = confirmed(evidence, matrix.height)
    top = rank_rows(evidence, sure, scores)[:top_k]
    pred = predicted_draws(
        Candidates.from_frame(pool[top], mode=history.mode, anchor=history.anchor),
        n_all + next_draws,
    )
    backtests = backtest_sources(source_rows(sure, scores, test_rows, top_k), pool, history)
    opened, reason = gate(backtests, alpha, no_model if scores is None else None)
    picks = []
    for rank, (row, draws) in enumerate(zip(top, pred[:, n_all:], strict=True), start=1):
        row = int(row)
        picks.append(
            {
                "rank": rank,
                **candidate_identity(pool.row(row, named=True)),
                "source": (
                    "confirmed" if sure[row] else "model" if scores is not None else UNRANKED
                ),
                "score": None if scores is None else float(scores[row]),
                "holdout_hits": float(matrix["holdout_hits"][row]),
                "next_draws": [int(v) for v in draws],
            }
        )
    return {
        "status": "predict" if opened else "abstain",
        "reason": reason,
        "backtests": backtests,
        "open_sources": sorted(opened),
        "confirmed_candidates": int(sure.sum()),
        "predictions": [p for p in picks if p["source"] in opened],
        "ranked_candidates": picks,
        "next_draw_indices": [n_all, n_all + next_draws - 1],
        "history_draws": n_all,
    }
