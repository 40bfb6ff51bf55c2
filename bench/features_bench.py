"""Feature pipeline throughput: predicted draws, features and targets for random survivors.

Random candidates (random seeds, offsets 0..8, gaps 0..4) and random train/holdout draws; each
stage is timed separately, median of ``--repeats`` runs after one warm-up call that compiles.

    python bench/features_bench.py
    python bench/features_bench.py --survivors 100000 --train 2000 --holdout 500 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpu_executors.prng.draws import parse_draw  # noqa: E402
from gpu_executors.prng.generators import get_generator  # noqa: E402
from gpu_executors.ranking.features import feature_columns  # noqa: E402
from gpu_executors.ranking.predicted import Candidates, predicted_draws  # noqa: E402
from gpu_executors.ranking.schema import ScorerConfig  # noqa: E402
from gpu_executors.ranking.targets import target_columns  # noqa: E402


def _median_time(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall seconds and median CPU seconds (all threads) of ``repeats`` calls."""
    times, cpus, result = [], [], None
    for _ in range(repeats):
        result = None  # free the previous result first: timings then reuse its memory
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--survivors", type=int, default=100_000)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--holdout", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generator", default="java_lcg")
    ap.add_argument("--draw", default="mod:1000")
    ap.add_argument("--window", type=int, default=8, help="draws the sieve matched")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    gen, spec = get_generator(args.generator), parse_draw(args.draw)
    rng = np.random.default_rng(args.seed)
    n = args.survivors
    cands = Candidates(
        generator=gen.name,
        draw=spec.text,
        seeds=rng.integers(0, 1 << min(gen.seed_bits, 63), n, dtype=np.uint64),
        offsets=rng.integers(0, 9, n),
        gaps=rng.integers(0, 5, n),
    )
    n_all = args.train + args.holdout
    observed = rng.integers(spec.low, spec.low + spec.n_values, n_all, dtype=np.int64)
    train, holdout = observed[: args.train], observed[args.train :]
    low, modulus = spec.low, spec.n_values
    config = ScorerConfig()

    # Warm-up on a few rows: compiles (or loads) every kernel, so the timings below exclude it.
    t0 = time.perf_counter()
    small = Candidates(gen.name, spec.text, cands.seeds[:64], cands.offsets[:64], cands.gaps[:64])
    p_small = predicted_draws(small, n_all)
    feature_columns(p_small[:, : args.train], train, low, modulus, args.window, config)
    target_columns(p_small[:, args.train :], holdout, low, modulus)
    warm = time.perf_counter() - t0

    t_pred, c_pred, pred = _median_time(lambda: predicted_draws(cands, n_all), args.repeats)
    pred_train = np.ascontiguousarray(pred[:, : args.train])
    pred_hold = np.ascontiguousarray(pred[:, args.train :])
    del pred
    t_feat, c_feat, feats = _median_time(
        lambda: feature_columns(pred_train, train, low, modulus, args.window, config), args.repeats
    )
    t_tgt, c_tgt, _ = _median_time(
        lambda: target_columns(pred_hold, holdout, low, modulus), args.repeats
    )
    total = t_pred + t_feat + t_tgt

    print(f"machine: {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}")
    print(f"numba threads: {numba.get_num_threads()}, warm-up (compile/load): {warm:.1f} s")
    print(
        f"{n} survivors of {gen.name} {spec.text}, {args.train} train + {args.holdout} holdout "
        f"draws, {len(feats)} features, median of {args.repeats}"
    )
    rows = [
        ("predicted_draws", t_pred, c_pred, n * n_all),
        ("feature_columns", t_feat, c_feat, n * args.train),
        ("target_columns", t_tgt, c_tgt, n * args.holdout),
        ("total", total, c_pred + c_feat + c_tgt, None),
    ]
    print(f"{'stage':<18}{'wall s':>9}{'cpu s':>9}{'M draws/s':>12}")
    for name, sec, cpu, work in rows:
        rate = f"{work / sec / 1e6:12.1f}" if work else f"{'':>12}"
        print(f"{name:<18}{sec:>9.2f}{cpu:>9.2f}{rate}")
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average (1, 5, 15 min): {load}  (wall > cpu / threads means other load)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
