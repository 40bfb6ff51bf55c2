"""Judging fitted models honestly: the test split, chance baselines, the skip registry, the checks.

The test split is carved out of the feature matrix before any search, from a seed and the
matrix's size alone, so every family shares it and no tuning or early stopping ever sees it; it
is the only split behind anything called "test R^2". Its R^2 is then weighed against chance (a
permutation p, corrected for picking the best of several families), and predictions are
backtested on holdout draws only for candidates whose holdout the ranking did not learn from:
candidates confirmed by train draws outside the sieve window, and the model's top candidates
among the test rows. A family that keeps failing is skipped for a while (the registry); the
plain functions at the end judge the families' stored sidecars.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from gpu_executors.ranking.minimum import rankable_skip_reason
from gpu_executors.significance import FINDING_ALPHA

TEST_SHARE = 0.2
SKIP_AFTER_FAILURES = 3
SKIP_HOURS = 24.0


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    test: np.ndarray

    @classmethod
    def carve(cls, rows: int | np.ndarray, seed: int, test_share: float = TEST_SHARE) -> Split:
        """Split ``rows`` (row indices, or a count meaning ``range(rows)``) once, by seed."""
        rows = np.arange(rows) if np.isscalar(rows) else np.asarray(rows, dtype=np.int64)
        if len(rows) < 10:
            raise ValueError(f"{len(rows)} rows: a model needs at least 10 (train and test)")
        order = rows[np.random.default_rng([seed, 11]).permutation(len(rows))]
        n_test = max(2, round(test_share * len(rows)))
        return cls(np.sort(order[n_test:]), np.sort(order[:n_test]))

    def fingerprints(self) -> dict:
        return {
            "train": digest(self.train),
            "test": digest(self.test),
            "n_train": len(self.train),
            "n_test": len(self.test),
        }


def digest(idx: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(idx, np.int64).tobytes()).hexdigest()[:16]


def permutation_p_value(
    y: np.ndarray, pred: np.ndarray, r2_obs: float, n_perm: int = 999, seed: int = 0
) -> float:
    """P(R^2 of the same predictions against shuffled targets >= the observed R^2)."""
    rng = np.random.default_rng(seed)
    sst = float(((y - y.mean()) ** 2).sum())
    if sst == 0:
        return 1.0
    hits = 0
    for _ in range(n_perm):
        yp = rng.permutation(y)
        r2 = 1.0 - float(((yp - pred) ** 2).sum()) / sst
        hits += r2 >= r2_obs
    return (hits + 1) / (n_perm + 1)


def family_wise_p(p_raw: float, n_compared: int) -> float:
    """The winner's permutation p corrected for having been picked as the best of
    ``n_compared`` families on the same test rows (Bonferroni): the best of four chance models
    reaches a raw p < 0.05 about one time in five."""
    if n_compared < 1:
        raise ValueError(f"n_compared must be >= 1, got {n_compared}")
    return min(1.0, float(p_raw) * n_compared)


def update_registry(
    registry: dict, family: str, ok: bool, error: str = "", now: float | None = None
) -> dict:
    """Record one fit; three failures in a row skip the family until the entry expires."""
    now = time.time() if now is None else now
    entry = registry.get(family, {"consecutive_failures": 0, "skip_until": 0.0, "errors": []})
    if ok:
        entry = {"consecutive_failures": 0, "skip_until": 0.0, "errors": []}
    else:
        entry["consecutive_failures"] += 1
        entry["errors"] = [*entry["errors"], {"at": now, "error": error[:300]}][-5:]
        if entry["consecutive_failures"] >= SKIP_AFTER_FAILURES:
            entry["skip_until"] = now + SKIP_HOURS * 3600
    entry["updated"] = now
    return {**registry, family: entry}


def skipped(registry: dict, family: str, now: float | None = None) -> str | None:
    """Why ``family`` is skipped now, or None; an expired entry no longer skips."""
    now = time.time() if now is None else now
    entry = registry.get(family)
    if entry and entry["skip_until"] > now:
        return (
            f"{entry['consecutive_failures']} failures in a row; skipped until "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(entry['skip_until']))}"
        )
    return None


def backtest(hits: np.ndarray, chance: float) -> dict:
    """Holdout hits of the backtested candidates against chance, with a binomial p-value."""
    n = int(hits.size)
    k = int(hits.sum())
    from scipy import stats  # a second of import: kept off every process's start-up

    p = float(stats.binomtest(k, n, chance, alternative="greater").pvalue) if n else 1.0
    return {"draws": n, "hits": k, "hit_rate": k / n if n else 0.0, "chance": chance, "p_value": p}


def confirmed(evidence: np.ndarray, n_rows: int, alpha: float = FINDING_ALPHA) -> np.ndarray:
    """Rows whose matches outside the sieve window are significant on their own (Bonferroni)."""
    threshold = -np.log10(alpha / max(n_rows, 1))
    return np.asarray(evidence) >= threshold


def ranking_skip_reason(evidence: np.ndarray) -> str | None:
    """Why the models cannot rank a matrix with this ``outside_window_evidence`` column, or
    None: too few rows, or too few left once the confirmed ones (never trained on) are out."""
    evidence = np.asarray(evidence)
    return rankable_skip_reason(len(evidence), int(confirmed(evidence, len(evidence)).sum()))


# Judgements over the families' sidecars alone (plain functions: tests plant bugs). The model
# checks judge figures re-derived from the model files instead (``audit``), and use these only
# for what a record alone can show (recorded shapes, the split's rows and fingerprints).
def insane_r2(cars: list[dict]) -> dict[str, float]:
    return {
        c["family"]: c["test_r2"]
        for c in cars
        if not (np.isfinite(c["test_r2"]) and c["test_r2"] >= -1.0)
    }


def shape_mismatches(cars: list[dict]) -> list[str]:
    return [
        c["family"] for c in cars if c["test_shapes"]["target"] != c["test_shapes"]["prediction"]
    ]


def constant_models(cars: list[dict]) -> list[str]:
    return [c["family"] for c in cars if not c["prediction_std"] > 0]


def split_problems(cars: list[dict]) -> dict:
    overlap = {c["family"]: len(set(c["train_rows"]) & set(c["test_rows"])) for c in cars}
    one_split = len({c["split"]["test"] for c in cars}) <= 1
    recorded = all(digest(np.array(c["test_rows"])) == c["split"]["test"] for c in cars)
    return {
        "overlapping_rows": {f: n for f, n in overlap.items() if n},
        "one_test_split": one_split,
        "fingerprints_match_rows": recorded,
    }
