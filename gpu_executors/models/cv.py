"""Shuffled k-fold cross-validation, scored on held-out folds only, folds side by side.

The original system reported a "test R^2" computed on training rows: here a fold's model never
sees its held-out rows, and early stopping uses an inner split of the fold's *training* rows.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_executors.models.budget import FULL, Budget
from gpu_executors.models.families import Family, get_family
from gpu_executors.models.fitting import FittedModel, fit
from gpu_executors.models.validation import check_xy, r2

CV_VAL_FRACTION = 0.1  # inner early-stopping split of a fold's training rows (nn; trees if asked)


def _cpus() -> int:
    return os.cpu_count() or 1


@dataclass
class CVResult:
    """One configuration's k-fold scores and where its time went."""

    family: Family
    params: dict[str, Any]
    folds: int  # after clamping to rows // 2
    folds_requested: int
    scores: list[float]
    mean: float
    sd: float  # sample sd (ddof=1) of the fold scores
    fold_seconds: list[float]  # each fold's wall time: split, fit, predict, score
    fit_seconds: list[float]
    train_seconds: list[float]
    fold_info: list[dict[str, Any]]
    seconds: float
    workers: int
    threads_per_fit: int


def fold_workers(folds: int, device: str = "cpu", workers: int | None = None) -> tuple[int, int]:
    """How many folds fit at once and with how many threads each: ``(workers, threads)``.

    Default on CPU: one fold per core, one thread each. On small data the libraries scale badly
    across threads (2 threads ran at 0.4-1.5x the speed of 1 on the 2-core reference machine, see
    bench/models_bench.py), while two single-threaded fits side by side run at 1.5-1.8x. A GPU
    fits one fold at a time.
    """
    cpus = _cpus()
    if workers is None:
        workers = 1 if str(device).startswith("cuda") else cpus
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers must be None or >= 1, got {workers!r}")
    workers = max(1, min(int(workers), int(folds)))
    return workers, max(1, cpus // workers)


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count is process-wide: set it for the folds, then restore it."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cross_validate(
    family: str | Family,
    params: dict[str, Any],
    X: Any,
    y: Any,
    folds: int = 5,
    seed: int = 0,
    *,
    budget: Budget = FULL,
    on_fold: Callable[[int, float, list[float]], None] | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> CVResult:
    """Shuffled k-fold R^2 on held-out folds only.

    ``folds`` is clamped to ``rows // 2`` (R^2 needs >= 2 held-out rows per fold). Early stopping
    (the neural net always, trees under ``budget.tree_early_stopping``) uses a 10% split of the
    fold's training rows, never the held-out fold. ``on_fold(i, score, scores_so_far)`` runs after
    each fold, in fold order (the search prunes from it: an exception it raises stops the rest).

    Up to ``workers`` folds fit at once (see :func:`fold_workers`); each fold's result depends only
    on its rows and the seed, so scores and pruning decisions do not depend on the timing.
    """
    from sklearn.model_selection import KFold

    impl = get_family(family)
    impl.build(dict(params))  # fail before any fold runs
    X, y = check_xy(X, y)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"cross-validation needs at least 2 rows, got {n}")
    if int(folds) < 2:
        raise ValueError(f"cross-validation needs folds >= 2, got {folds}")
    k = min(int(folds), n // 2)
    if k < 2:
        raise ValueError(
            f"{n} rows are too few for 2-fold CV with >= 2 held-out rows per fold (need >= 4)"
        )
    n_workers, threads = fold_workers(k, device, workers)
    inner_split = impl.always_early_stops or budget.tree_early_stopping is not None
    splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(X))

    def run_fold(i: int) -> tuple[float, FittedModel, float]:
        t_fold = time.perf_counter()
        train_idx, test_idx = splits[i]
        fit_idx, val_idx = train_idx, None
        if inner_split:
            n_val = round(CV_VAL_FRACTION * len(train_idx))
            if n_val >= 1 and len(train_idx) - n_val >= 2:
                perm = np.random.default_rng([seed, i]).permutation(train_idx)
                # Sorted rows gather faster; order is irrelevant (mini-batches are shuffled).
                val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        model = fit(
            impl.name,
            params,
            X[fit_idx],
            y[fit_idx],
            seed=seed,
            device=device,
            X_val=None if val_idx is None else X[val_idx],
            y_val=None if val_idx is None else y[val_idx],
            budget=budget,
            threads=threads,
        )
        score = r2(y[test_idx], model.predict(X[test_idx]))
        return score, model, time.perf_counter() - t_fold

    scores: list[float] = []
    fold_seconds: list[float] = []
    fit_seconds: list[float] = []
    train_seconds: list[float] = []
    infos: list[dict[str, Any]] = []

    def record(i: int, score: float, model: FittedModel, seconds: float) -> None:
        scores.append(score)
        fold_seconds.append(seconds)
        fit_seconds.append(model.fit_seconds)
        train_seconds.append(model.train_seconds)
        infos.append({k_: v for k_, v in model.info.items() if k_ != "budget"})
        if on_fold is not None:
            on_fold(i, score, list(scores))

    t0 = time.perf_counter()
    with _torch_threads(threads if impl.uses_torch_threads else None):
        if n_workers == 1:
            for i in range(k):
                record(i, *run_fold(i))
        else:
            # Keep n_workers folds in flight; consume results in fold order.
            with ThreadPoolExecutor(n_workers, thread_name_prefix=f"cv-{impl.name}") as pool:
                pending = [pool.submit(run_fold, i) for i in range(n_workers)]
                try:
                    for i in range(k):
                        record(i, *pending[i].result())  # may prune: decide, then refill
                        if i + n_workers < k:
                            pending.append(pool.submit(run_fold, i + n_workers))
                except BaseException:
                    for future in pending:
                        future.cancel()  # queued folds never start; running ones finish
                    raise
    return CVResult(
        family=impl.name,
        params=dict(params),
        folds=k,
        folds_requested=int(folds),
        scores=scores,
        mean=float(np.mean(scores)),
        sd=float(np.std(scores, ddof=1)),
        fold_seconds=fold_seconds,
        fit_seconds=fit_seconds,
        train_seconds=train_seconds,
        fold_info=infos,
        seconds=time.perf_counter() - t0,
        workers=n_workers,
        threads_per_fit=threads,
    )
