"""Model-search throughput: Optuna TPE + k-fold CV for all four families in one process.

Synthetic rows with a weak nonlinear signal (oracle R^2 ~0.15, target std ~0.002 like the real
scores) are searched family by family with ``gpu_executors.models.search.search``; the table
gives trials (completed / pruned / failed of requested), the best mean CV R^2 and wall seconds,
then the total and the neural net's median per-trial overhead (everything outside the epochs,
summed over its folds).

By default a compute budget caps the work (see ``--nn-passes`` etc. and ``Budget`` in
gpu_executors/models/budget.py): the search spaces are unchanged, but each fit is bounded.
``--full`` removes every cap (hours on two cores for 20 000 x 90 rows).

    python bench/models_bench.py                      # 20000 x 90, 20 trials, 5 folds, budget
    python bench/models_bench.py --quick              # tiny smoke run (seconds)
    python bench/models_bench.py --full --trials 3    # no caps, to see what they cost
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The model libraries load lazily: importing these costs numpy (and optuna when searching).
from gpu_executors.models.budget import CAPPED, Budget  # noqa: E402
from gpu_executors.models.cv import fold_workers  # noqa: E402
from gpu_executors.models.families import FAMILIES  # noqa: E402
from gpu_executors.models.search import search  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--features", type=int, default=90)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default="neural_net,xgboost,lightgbm,catboost")
    ap.add_argument("--quick", action="store_true", help="tiny run: 600 x 12, 3 trials, 3 folds")
    ap.add_argument("--full", action="store_true", help="no compute caps at all")
    ap.add_argument(
        "--nn-passes",
        type=float,
        default=CAPPED.nn_max_passes,
        help="cap each MLP fit at this many passes over its rows (0: no cap)",
    )
    ap.add_argument(
        "--max-bin",
        type=int,
        default=CAPPED.max_bin,
        help="xgboost/lightgbm max_bin and catboost border_count (0: library default)",
    )
    ap.add_argument(
        "--tree-early-stopping",
        type=int,
        default=CAPPED.tree_early_stopping,
        help="early-stopping rounds for trees on the inner 10%% split (0: off)",
    )
    ap.add_argument(
        "--tree-max-leaves",
        type=int,
        default=CAPPED.tree_max_leaves,
        help="cap on rounds x leaves per tree in one tree fit (0: no cap)",
    )
    ap.add_argument("--no-prune", action="store_true", help="do not median-prune trials")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="folds fitted at once, single-threaded each when workers = cpus (0: automatic)",
    )
    ap.add_argument(
        "--omp-wait-policy",
        default="PASSIVE",
        help="OMP_WAIT_POLICY for this process ('keep' leaves the environment); "
        "PASSIVE stops idle OpenMP threads spinning when cores are shared",
    )
    ap.add_argument("--json", type=Path, help="write the full results here")
    ap.add_argument("--verbose", action="store_true", help="one line per trial")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.features, args.trials, args.folds = 600, 12, 3, 3
    return args


def make_data(rows: int, features: int, seed: int):
    """Weak nonlinear signal in 6 of the features; the rest is noise. Target std ~0.002."""
    import numpy as np

    if features < 6:
        raise SystemExit("--features must be >= 6")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    signal = (
        0.5 * np.sin(X[:, 0])
        + 0.4 * X[:, 1] * X[:, 2]
        + 0.3 * (X[:, 3] ** 2 - 1.0)
        + 0.3 * np.tanh(X[:, 4] + X[:, 5])
    )
    noise = 1.7 * rng.standard_normal(rows)
    y = 0.002 * (signal + noise) / 1.85
    oracle = float(np.var(signal) / np.var(signal + noise))
    return X, y, oracle


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.omp_wait_policy != "keep":
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy  # before any OpenMP runtime loads

    import optuna
    import torch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.full:
        budget = Budget()
    else:
        budget = Budget(
            nn_max_passes=args.nn_passes or None,
            max_bin=args.max_bin or None,
            tree_early_stopping=args.tree_early_stopping or None,
            tree_max_leaves=args.tree_max_leaves or None,
            prune=not args.no_prune,
        )
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    for f in families:
        if f not in FAMILIES:
            raise SystemExit(f"unknown family {f!r}; choose from {FAMILIES}")

    X, y, oracle = make_data(args.rows, args.features, args.seed)
    print(
        f"models bench: {args.rows} x {args.features}, {args.trials} trials x {args.folds}-fold CV"
        f", seed {args.seed}; target std {y.std():.2g}, oracle R^2 {oracle:.3f}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
        f"load avg {os.getloadavg()[0]:.2f}"
    )
    workers, threads = fold_workers(args.folds, "cpu", args.workers or None)
    print(f"budget: {budget.as_dict()}; {workers} folds at once, {threads} thread(s) each")

    def progress(info: dict) -> None:
        if args.verbose:
            value = "-" if info["value"] is None else f"{info['value']:.4f}"
            print(
                f"  {info['family']:<10} trial {info['number']:>3} {info['state']:<8} "
                f"R^2 {value:>8} {info['seconds'] or 0:7.2f}s  (elapsed {info['elapsed']:.1f}s)",
                flush=True,
            )

    results = {}
    t_all = time.perf_counter()
    cpu: dict[str, float] = {}
    for family in families:
        c0 = time.process_time()
        res = search(
            family,
            X,
            y,
            args.trials,
            args.folds,
            args.seed,
            progress=progress,
            budget=budget,
            workers=args.workers or None,
        )
        cpu[family] = time.process_time() - c0  # all threads of this process
        results[family] = res
        best = "n/a" if res.best_cv_mean is None else f"{res.best_cv_mean:.4f}"
        print(f"  done {family}: best {best} in {res.seconds:.1f}s", flush=True)
    total = time.perf_counter() - t_all
    load_after = os.getloadavg()[0]

    print()
    print(
        f"{'family':<11} {'trials c/p/f of n':>18} {'best CV R^2':>12} {'sd':>7} "
        f"{'seconds':>9} {'cpu s':>8}"
    )
    for family, res in results.items():
        counts = (
            f"{res.trials_completed}/{res.trials_pruned}/{res.trials_failed} "
            f"of {res.trials_requested}"
        )
        best = "n/a" if res.best_cv_mean is None else f"{res.best_cv_mean:.4f}"
        sd = "" if res.best_cv_sd is None else f"{res.best_cv_sd:.4f}"
        print(
            f"{family:<11} {counts:>18} {best:>12} {sd:>7} {res.seconds:>9.1f} {cpu[family]:>8.1f}"
        )
    print(f"{'total':<11} {'':>18} {'':>12} {'':>7} {total:>9.1f} {sum(cpu.values()):>8.1f}")
    print(
        f"(c/p/f: completed / pruned / failed trials; cpu s: this process's CPU time, all "
        f"threads; load avg at end {load_after:.2f} on {os.cpu_count()} cpus)"
    )

    if "neural_net" in results:
        nn = results["neural_net"]
        over = [t.overhead_seconds for t in nn.trials if t.overhead_seconds is not None]
        if over:
            print(
                f"neural_net per-trial overhead (outside the epochs): median "
                f"{statistics.median(over):.3f}s, max {max(over):.3f}s over {len(over)} completed "
                f"trials; one-off imports before the first trial: {nn.warmup_seconds:.2f}s"
            )
        else:
            print("neural_net: no completed trial to time")
    for family, res in results.items():
        if res.errors:
            print(f"{family} errors: {res.errors[:3]}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "oracle_r2": oracle,
            "total_seconds": total,
            "results": {family: res.to_dict() for family, res in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str))
        print(f"wrote {args.json}")
    failed = sum(r.trials_failed for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
