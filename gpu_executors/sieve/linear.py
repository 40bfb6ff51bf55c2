"""The sieve's linear mode: the survivor pool of a case whose state is solved, not scanned.

The linear route (``gpu_executors.linear``) solves the state from the first ``window`` train
draws only; the rest of the train split is held back, replayed from the recovered state, and is
what confirms it downstream (the features' outside-window evidence), as train draws outside the
window confirm a scanned seed. The holdout is never read. A recovered state is one pool row:
seed, offset and gap 0, the packed state in ``state`` (bytes), its candidate model in
``state_model`` and the draw it stands at in ``state_draw``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from gpu_executors.linear.registry import linear_models
from gpu_executors.linear.replay import linear_draw, replay_draws, state_bytes
from gpu_executors.linear.result import LinearResult
from gpu_executors.linear.solve import solve_linear
from gpu_executors.prng.null_model import survivor_p_value
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA
from gpu_executors.significance import FINDING_ALPHA

LINEAR_BLOCK = "linear"  # the pool row's ``block``: no seed block produced it
LINEAR_POOL_SCHEMA = {**SURVIVOR_SCHEMA, "block": pl.Utf8, "state": pl.Binary,
                      "state_model": pl.Int64, "state_draw": pl.Int64}


def check_linear_pair(generator: str, draw: str) -> None:
    """A ValueError naming what the route handles when the pair is not linear."""
    linear_models(generator)
    linear_draw(generator, draw)


@dataclass(frozen=True)
class LinearPool:
    """The pool table, its figures for ``PoolStats`` and the solve's record (the sidecar)."""

    table: pl.DataFrame
    figures: dict[str, Any]
    record: dict[str, Any]


def revealed_bits(generator: str, draw: str, values: list[int]) -> int:
    """Equations the draws give: the known bits of every word they show."""
    model = linear_models(generator)[0]
    how = linear_draw(generator, draw)
    return sum(bin(model.linear_bits(mask, val)[0]).count("1")
               for v in values for mask, val in how.reveal(int(v)))


def solve_pool(generator: str, draw: str, train: np.ndarray, window: int,
               expected_blocks: int) -> LinearPool:
    """Solve from ``train[:window]``, replay all of ``train``: the pool and its record.

    Raises ValueError for a pair the route cannot handle or a draw that hides too many words.
    """
    if not 1 <= window <= len(train):
        raise ValueError(f"window {window} must be within the train split ({len(train)} draws)")
    values = [int(v) for v in train[:window]]
    sol = solve_linear(generator, draw, values, predict=0, earlier=0, holdout=0.0)
    res = sol.result
    held = len(train) - window
    record: dict[str, Any] = {**_summary(res), "window": window, "held_back_draws": held}
    rows = []
    if res.solved and sol.bits is not None and sol.model_index is not None:
        data = state_bytes(sol.bits)
        got = replay_draws(generator, draw, sol.model_index, data, res.first_draw, len(train))
        hit = got == np.asarray(train, dtype=np.int64)
        window_hits = int(hit[:window].sum())
        record.update(held_back_matched=int(hit[window:].sum()), model_index=sol.model_index,
                      pool_row=0, state=res.state,
                      fitting_models=sol.fitting_models,
                      prediction_assumes=prediction_assumes(generator, sol.model_index,
                                                            sol.fitting_models))
        rows.append({"seed": 0, "generator": generator, "draw": draw, "offset": 0, "gap": 0,
                     "gaps": [], "forward_matches": window_hits, "reverse_matches": 0,
                     "matches": window_hits, "match_rate": window_hits / window,
                     "block": LINEAR_BLOCK, "state": data, "state_model": sol.model_index,
                     "state_draw": res.first_draw})
    table = pl.DataFrame(rows, schema=LINEAR_POOL_SCHEMA)
    equations = revealed_bits(generator, draw, values[res.first_draw:])
    excess = max(equations - res.rank, 0)
    null = 2.0 ** -excess  # a random history is consistent with probability 2^-excess
    record.update(equations=equations, excess_equations=excess)
    p = survivor_p_value(table.height, null)
    figures = {"survivors": table.height, "candidates_scanned": 1,
               "partitions_expected": expected_blocks, "partitions_covered": expected_blocks,
               "partitions_missing": 0, "null_expected": null,
               "excess_over_null": table.height - null, "p_value": p, "tiers": [],
               "best_tier": None, "tier_p_value": p,
               "significant": bool(table.height and p < FINDING_ALPHA)}
    return LinearPool(table, figures, record)


def prediction_assumes(generator: str, model_index: int, fitting: int) -> str | None:
    """What the pool row's predictions assume beyond its state (V8's cache position), saying
    so when ``fitting`` > 1 candidate models (positions) fitted the window; None where nothing
    is assumed."""
    assumes = linear_models(generator)[model_index].prediction_assumes()
    if assumes is None:
        return None
    if fitting > 1:
        assumes += (f" The window did not settle the position ({fitting} positions fit it; "
                    "the first in order of preference was taken): the held-back train draws "
                    "replayed from the state are what checked it, and a window reaching past "
                    "the first cache refill settles it.")
    return assumes


def _summary(res: LinearResult) -> dict[str, Any]:
    keep = ("generator", "draw", "solved", "reason", "first_draw", "used_for_solve", "matched",
            "unknowns", "rank", "free_bits", "undetermined_bits", "rejected_words", "seed",
            "seed_offset", "seconds", "notes")
    out = {k: getattr(res, k) for k in keep}
    out["states_remaining"] = f"2^{res.free_bits}"
    return out
