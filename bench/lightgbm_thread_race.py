"""Reproduces the LightGBM heap corruption that cross-validation's fold threads can hit.

Two threads fit with ``n_jobs=1`` (Dataset construction and training) while a third predicts
with a Booster's default thread count, as folds do side by side. LightGBM keeps its thread count
in one process-wide variable, so the predict resets it under the fitting threads (see
``gpu_executors/models/lightgbm_threads.py``). Modes:

    python bench/lightgbm_thread_race.py --mode bare     # crashes (SIGSEGV) within seconds
    python bench/lightgbm_thread_race.py --mode same     # predict passes num_threads=1: survives
    python bench/lightgbm_thread_race.py --mode family   # through the LightGBM family: survives

Not a test: the failure kills the process. Exit 0 and a "survived" line when it survives.
"""

from __future__ import annotations

import argparse
import faulthandler
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("bare", "same", "family"), default="bare")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()
    faulthandler.enable()
    import lightgbm as lgb

    from gpu_executors.models.families import get_family

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 64))
    y = X[:, 0] + rng.normal(size=args.rows)
    booster = lgb.LGBMRegressor(n_estimators=5, n_jobs=1, verbose=-1).fit(X, y).booster_
    family = get_family("lightgbm")
    stop = time.monotonic() + args.seconds
    counts = {"fits": 0, "predicts": 0}

    def fitter() -> None:
        while time.monotonic() < stop:
            est = lgb.LGBMRegressor(n_estimators=3, n_jobs=1, verbose=-1)
            if args.mode == "family":
                from gpu_executors.models.lightgbm_threads import GUARD

                with GUARD.hold(1):
                    est.fit(X, y)
            else:
                est.fit(X, y)
            counts["fits"] += 1

    def predictor() -> None:
        while time.monotonic() < stop:
            if args.mode == "bare":
                booster.predict(X[:200])
            elif args.mode == "same":
                booster.predict(X[:200], num_threads=1)
            else:
                family.predict(booster, X[:200])
            counts["predicts"] += 1

    threads = [threading.Thread(target=f) for f in (fitter, fitter, predictor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"survived {args.seconds:.0f} s ({args.mode}): {counts}")


if __name__ == "__main__":
    main()
