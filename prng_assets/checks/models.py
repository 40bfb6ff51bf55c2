"""Checks on the model comparison: R^2 sane, shapes equal, predictions vary, one disjoint test
split, no overfitting, no leakage signature, the winner beats a permutation test.

A comparison skipped because the feature matrix is too small to rank makes each of them "not
applicable" (passed), provided the matrix really is too small (``checks.skips``)."""

import json

import dagster as dg

from gpu_executors.models.evaluation import (
    constant_models,
    insane_r2,
    ranking_skip_reason,
    shape_mismatches,
    split_problems,
)
from gpu_executors.significance import SIGNAL_ALPHA
from prng_assets.artefact_keys import COMPARISON
from prng_assets.assets.models import model_comparison
from prng_assets.checks.skips import skipped_result
from prng_assets.loaders import load_evidence, load_fitted
from resources.artefacts import ArtefactStore

OVERFIT_DROP = 0.2  # CV R^2 minus test R^2 above this: the family overfits
LEAKAGE_R2 = 0.9  # test R^2 above this on a pool without signal: leakage


def _skipped(artefacts: ArtefactStore,
             severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
             ) -> dg.AssetCheckResult | None:
    """The result for a skipped comparison (judged against the matrix as it is), else None."""
    record = artefacts.read_json(*COMPARISON)
    if record.get("status") != "skipped":
        return None
    return skipped_result(record["reason"], ranking_skip_reason(load_evidence(artefacts)),
                          severity)


def _fitted(artefacts: ArtefactStore) -> list[dict]:
    """The fitted families' sidecars, as the evaluation functions take them."""
    return [c.to_dict() for c in load_fitted(artefacts)]


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Every test R^2 is finite and at least -1.")
def models_r2_sane(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts)) is not None:
        return skip
    bad = insane_r2(_fitted(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"insane": json.dumps(bad)})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Target and prediction shapes are equal for every family.")
def models_shapes_equal(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts)) is not None:
        return skip
    bad = shape_mismatches(_fitted(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatched": ", ".join(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Predictions vary (standard deviation > 0) for every family.")
def models_predictions_vary(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts)) is not None:
        return skip
    bad = constant_models(_fitted(artefacts))
    return dg.AssetCheckResult(passed=not bad, metadata={"constant": ", ".join(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="The test split is disjoint from training and the same for all.")
def models_test_split_disjoint(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts)) is not None:
        return skip
    found = split_problems(_fitted(artefacts))
    return dg.AssetCheckResult(
        passed=not found["overlapping_rows"] and found["one_test_split"]
        and found["fingerprints_match_rows"],
        metadata={"overlapping_rows": json.dumps(found["overlapping_rows"]),
                  "one_test_split": found["one_test_split"],
                  "fingerprints_match_rows": found["fingerprints_match_rows"]})


@dg.asset_check(asset=model_comparison,
                description="No family overfits: CV R^2 minus test R^2 stays below 0.2.")
def models_not_overfit(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts, dg.AssetCheckSeverity.WARN)) is not None:
        return skip
    drops = {c.family: c.cv_r2_mean - c.test_r2 for c in load_fitted(artefacts)}
    bad = {f: round(d, 4) for f, d in drops.items() if d > OVERFIT_DROP}
    return dg.AssetCheckResult(passed=not bad, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"cv_to_test_drop": json.dumps(drops),
                                         "overfitting": json.dumps(bad) or "none"})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="No near-perfect R^2 where the pool holds no signal (leakage).")
def models_no_leakage_signature(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts)) is not None:
        return skip
    record = artefacts.read_json(*COMPARISON)
    suspicious = [r["family"] for r in record["rows"] if r["test_r2"] > LEAKAGE_R2]
    passed = record["pool_significant"] or not suspicious
    return dg.AssetCheckResult(passed=passed, metadata={
        "pool_beats_null": record["pool_significant"],
        "near_perfect": ", ".join(suspicious) or "none"})


@dg.asset_check(asset=model_comparison,
                description="The winner's test R^2 beats shuffled targets (permutation test, "
                            "Bonferroni over the families it was picked from).")
def winner_beats_permutation(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    if (skip := _skipped(artefacts, dg.AssetCheckSeverity.WARN)) is not None:
        return skip
    record = artefacts.read_json(*COMPARISON)
    p = record["winner_permutation_p_value"]
    return dg.AssetCheckResult(
        passed=p < SIGNAL_ALPHA, severity=dg.AssetCheckSeverity.WARN,
        metadata={"winner": record["winner"], "test_r2": record["winner_test_r2"],
                  "permutation_p_value": p,
                  "permutation_p_raw": record.get("winner_permutation_p_raw", p),
                  "verdict": ("beats chance" if p < SIGNAL_ALPHA
                              else "not distinguishable from chance")})
