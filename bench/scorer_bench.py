"""Scorer search benchmark: N trials at a given sample size, in-process, as the asset runs them.

The pool is the truth plus chance candidates of java_lcg mod:1000 (random seeds, offsets 0..8,
gaps 0..4) over a planted history; trials go through the same objective and the same Optuna
storage (SQLite) as ``optimal_scorer_config``. Reports the wall time of the search, the median
seconds per trial, and the validated rho with its p-value (expected: not significant).

    python bench/scorer_bench.py --trials 100 --sample-size 5000 --pool 20000 --draws 2500
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpu_executors.prng.synth import planted_history
from gpu_executors.ranking.matrix import History
from gpu_executors.ranking.schema import ScorerConfig
from gpu_executors.ranking.scorer import ScorerBounds, ScorerData, objective_fn, score, summarise
from gpu_executors.sieve.spec import SURVIVOR_SCHEMA
from resources.optuna_storage import OptunaStorage


def build(pool_rows: int, n_draws: int, seed: int = 0) -> tuple[pl.DataFrame, History]:
    values, truth = planted_history("java_lcg", "mod:1000", 3_141_592, n_draws, offset=3,
                                    gap=(2, 2))
    rng = np.random.default_rng(seed)
    n = pool_rows
    seeds = rng.integers(0, 1 << 22, n).astype(np.uint64)
    seeds[0] = truth.seed
    offsets = rng.integers(0, 9, n)
    gaps = rng.integers(0, 5, n)
    offsets[0], gaps[0] = 3, 2
    matches = rng.integers(2, 4, n)
    matches[0] = 10
    pool = pl.DataFrame({"seed": seeds, "generator": ["java_lcg"] * n, "draw": ["mod:1000"] * n,
                         "offset": offsets, "gap": gaps, "gaps": [[]] * n,
                         "strategy": [None] * n,
                         "forward_matches": matches, "reverse_matches": np.zeros(n, np.int64),
                         "matches": matches, "match_rate": matches / 10},
                        schema=SURVIVOR_SCHEMA)
    history = History(np.asarray(values, np.int64), int(0.8 * n_draws), "java_lcg", "mod:1000",
                      10)
    return pool, history


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--sample-size", type=int, default=5000)
    ap.add_argument("--pool", type=int, default=20_000)
    ap.add_argument("--draws", type=int, default=2500, help="history length (80%% train)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    pool, history = build(args.pool, args.draws, args.seed)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"pool {args.pool}, history {args.draws} draws ({history.n_train} train), "
          f"sample_size {args.sample_size}, {args.trials} trials")
    data = ScorerData.split(pool, history, args.seed)
    t0 = time.perf_counter()
    data.xy(data.search_idx[:50], ScorerConfig())  # compile; predicted draws and battery
    warm = time.perf_counter() - t0
    stamps: list[float] = []

    def log(msg: str) -> None:
        stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        study = OptunaStorage(root=tmp).study("bench", "maximize", args.seed)
        t0 = time.perf_counter()
        study.optimize(objective_fn(data, ScorerBounds(), args.sample_size, args.seed, log),
                       n_trials=args.trials)
        search = time.perf_counter() - t0
        summary = summarise(study, args.trials)
    per_trial = [b - a for a, b in zip([t0, *stamps[:-1]], stamps, strict=True)]
    best_idx = data.sample(summary["best_trial"], args.sample_size, args.seed)
    validated = score(data, best_idx, summary["best_params"], args.seed, data.validation_idx)
    print(f"warm-up (compile + predicted draws of the pool): {warm:.1f} s")
    print(f"{args.trials} trials: {search:.1f} s wall, median {statistics.median(per_trial):.3f} "
          f"s per trial; completed {summary['trials_completed']}, distinct values "
          f"{summary['distinct_values']}")
    print(f"best rho {summary['best_value']:+.4f}; validated rho {validated['rho']:+.4f} "
          f"(p = {validated['p_value']:.3g}, {validated['n_eval']} unseen rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
