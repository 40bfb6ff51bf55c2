"""java.util.Random seed recovery from nextInt(n) draws for several bounds, medians of repeats.

Each run plants a random 48-bit seed, draws ``nextInt(n)`` and recovers the seed over the whole
2^48 space (``recover_java_seeds``, the route it picks); a first run compiles or loads the kernels
and is not timed. A case whose full search is too long to time (``--max-seconds``) runs the
residue route on a slice of the 2^17 guesses that holds the true one and extrapolates; the row
says so.

    python bench/java_bound_bench.py                 # the issue's three targets and a few more
    python bench/java_bound_bench.py --only nextint:7
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpu_executors.prng.draws import generate_draws, parse_draw  # noqa: E402
from gpu_executors.prng.generators import get_generator  # noqa: E402
from gpu_executors.sieve.java.lcg import LOW, MASK48, MULT, split_pow2  # noqa: E402
from gpu_executors.sieve.java.lifting import consistent_lows  # noqa: E402
from gpu_executors.sieve.java.recover import (  # noqa: E402
    AUTO_MISS_PROBABILITY,
    PRUNE_ABOVE_SECONDS,
    expected_remaining,
    recover_java_seeds,
)
from gpu_executors.sieve.java.residue import (  # noqa: E402
    Basis,
    estimated_seconds,
    plan_dim,
    residue_states,
)


@dataclass(frozen=True)
class Case:
    bound: int
    n_draws: int
    target_s: float | None  # the target, seconds
    baseline: str
    # None: the default (exact unless that is estimated past a minute, then pruned);
    # 0: exact; > 0: the residue walk pruned at that miss probability (residue.pruned_radii2)
    miss_probability: float | None = None
    repeats: int | None = None  # fewer runs than --repeats for a case that takes minutes

    @property
    def name(self) -> str:
        how = {None: "", 0.0: ", exact"}.get(self.miss_probability)
        pruned = f", miss {self.miss_probability:g}" if how is None else how
        return f"nextint:{self.bound} x{self.n_draws}{pruned}"


CASES = [
    Case(7, 20, 60.0, "rsu-cracker 362 s (published); here before: refused as too costly"),
    Case(3, 30, 60.0, "LattiCG: bound 3 'troublesome' (its author); rsu-cracker fails below 7"),
    Case(3, 30, 60.0, "the exact walk", miss_probability=0.0),
    Case(3, 30, 60.0, "pruned harder", miss_probability=1e-2),
    Case(1000, 8, 0.1, "the lifting route, 0.003 s in the README's table"),
    Case(5, 24, None, ""),
    Case(6, 22, None, ""),
    Case(12, 20, None, ""),
    Case(100, 8, None, ""),
    Case(4, 28, None, "the power-of-two lattice route (2-bit draws)"),
    Case(2, 64, None, "1-bit draws: the exact ball holds ~10^14 points", repeats=1),
    Case(1024, 6, None, "the power-of-two lattice route"),
]


def _planted(case: Case, i: int) -> tuple[int, list[int]]:
    seed = random.Random(f"{case.name}-{i}").getrandbits(48)
    gen, spec = get_generator("java_random"), parse_draw(f"nextint:{case.bound}")
    return seed, [int(v) for v in generate_draws(gen, spec, seed, case.n_draws)]


def _full_run(case: Case, i: int) -> tuple[float, bool, dict]:
    seed, draws = _planted(case, i)
    t0 = time.perf_counter()
    res = recover_java_seeds(draws, case.bound, miss_probability=case.miss_probability)
    return time.perf_counter() - t0, seed in res.survivors["seed"].to_list(), res.extra


def _basis(case: Case, n_lows: int) -> Basis:
    """The lattice ``recover_java_seeds`` walks for this case (its default rule for None)."""
    if case.miss_probability is not None:
        return plan_dim(case.n_draws, case.bound, 0, case.miss_probability)
    exact = plan_dim(case.n_draws, case.bound, 0)
    if estimated_seconds(n_lows, exact) <= PRUNE_ABOVE_SECONDS:
        return exact
    return plan_dim(case.n_draws, case.bound, 0, AUTO_MISS_PROBABILITY)


def _slice_run(case: Case, i: int, n_guesses: int) -> tuple[float, bool, dict]:
    """The residue route on ``n_guesses`` guesses holding the true one, extrapolated to all."""
    seed, draws = _planted(case, i)
    state = (((seed ^ MULT) & MASK48) * MULT + 0xB) & MASK48  # draw 0's state
    vals = np.asarray(draws, dtype=np.uint64)
    t0 = time.perf_counter()
    lows = consistent_lows(vals, case.bound, 0)
    basis = _basis(case, lows.shape[0])
    rng = np.random.default_rng(i)
    pick = rng.choice(lows.shape[0], min(n_guesses, lows.shape[0]), replace=False)
    part = np.unique(np.append(lows[pick], np.uint64(state & ((1 << LOW) - 1))))
    out = residue_states(vals, case.bound, 0, part, basis, node_budget=1e15, max_states=100)
    seconds = (time.perf_counter() - t0) * lows.shape[0] / part.shape[0]
    return seconds, state in out.states.tolist(), {"route": "residue", **out.extra}


def run_case(case: Case, repeats: int, max_seconds: float, slice_guesses: int) -> dict:
    vals = np.asarray(_planted(case, 0)[1], dtype=np.uint64)
    k, odd = split_pow2(case.bound)
    estimate = None
    if odd > 1:
        n_lows = consistent_lows(vals, case.bound, 0).shape[0]
        estimate = estimated_seconds(n_lows, _basis(case, n_lows))
    sliced = estimate is not None and estimate > max_seconds

    def run(i: int) -> tuple[float, bool, dict]:
        return _slice_run(case, i, slice_guesses) if sliced else _full_run(case, i)

    if case.miss_probability is None and case.repeats is None:  # the others follow a twin
        run(0)  # compile or load the kernels
    times, found, extra = [], [], {}
    for i in range(1, (case.repeats or repeats) + 1):
        seconds, ok, extra = run(i)
        times.append(seconds)
        found.append(ok)
    median = statistics.median(times)
    return {
        "case": case.name,
        "median_s": median,
        "runs_s": [round(t, 3) for t in times],
        "measured": (
            f"extrapolated from {slice_guesses} of 2^17 guesses x {len(times)}"
            if sliced
            else f"median of {len(times)} planted seeds, whole 2^48"
        ),
        "route": extra.get("route"),
        "lattice_dim": extra.get("lattice_dim"),
        "expected_remaining": expected_remaining(case.bound, case.n_draws),
        "target_s": case.target_s,
        "meets_target": None if case.target_s is None else median <= case.target_s,
        "baseline": case.baseline,
        "planted_found": all(found),
        "miss_probability": extra.get("pruning_miss_probability", 0.0),
        "lift_bits": k,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="substring of the case names to run")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="a case estimated longer than this is timed on a slice",
    )
    parser.add_argument("--slice-guesses", type=int, default=256)
    parser.add_argument(
        "--pruned-max-seconds",
        type=float,
        default=300.0,
        help="the same for the pruned cases (timed in full below it)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {numba.get_num_threads()} threads, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print("| case | median | runs | route | expected other seeds | target | met | baseline |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for case in CASES:
        if args.only and args.only not in case.name:
            continue
        limit = args.max_seconds if case.miss_probability == 0.0 else args.pruned_max_seconds
        row = run_case(case, args.repeats, limit, args.slice_guesses)
        rows.append(row)
        dim = f", {row['lattice_dim']}-dim" if row["lattice_dim"] else ""
        if row["miss_probability"]:
            dim += f", pruned (miss {row['miss_probability']:g})"
        met = "" if row["meets_target"] is None else ("yes" if row["meets_target"] else "**no**")
        target = "" if row["target_s"] is None else f"< {row['target_s']:g} s"
        print(
            f"| {row['case']} | {row['median_s']:.3g} s ({row['measured']}) | "
            f"{', '.join(map(str, row['runs_s']))} | {row['route']}{dim} | "
            f"{row['expected_remaining']:.2g} | {target} | {met} | {row['baseline']} |",
            flush=True,
        )
        if not row["planted_found"]:
            print(f"  planted seed NOT found in {row['case']}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["planted_found"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
