"""Checks on the model comparison: R^2 sane, shapes equal, predictions vary, the net's training
loss a plain MSE, permutation p-values reproduced, one disjoint test split, no overfitting, no
leakage signature, the winner beats a permutation test.

The figures are re-derived from the stored artefacts, not read back: each family's model is
reloaded from its file and predicts the recorded rows of the stored feature matrix, and its test
R^2, prediction spread, output shape, permutation p (``audit.PERMUTATIONS`` shuffles, seed
``audit.PERMUTATION_SEED``) and the net's fit-row MSE are recomputed by ``models.audit``, which
shares no code with the writer; a record that disagrees with its artefact fails.

A comparison skipped because the feature matrix is too small to rank makes each of them "not
applicable" (passed), provided the matrix really is too small (``checks.skips``)."""

import json

import dagster as dg
import numpy as np

from gpu_executors.models.audit import (
    LOSS_RTOL,
    MIN_RELATIVE_SPREAD,
    PERMUTATION_SEED,
    PERMUTATIONS,
    Rederived,
    p_values_agree,
    rederive,
    relatively_equal,
)
from gpu_executors.models.evaluation import (
    family_wise_p,
    ranking_skip_reason,
    shape_mismatches,
    split_problems,
)
from gpu_executors.models.records import ModelSidecar
from gpu_executors.significance import SIGNAL_ALPHA
from prng_assets.artefact_keys import COMPARISON
from prng_assets.assets.models import model_comparison
from prng_assets.checks.skips import skipped_result
from prng_assets.loaders import case_artefacts, load_evidence, load_fitted, load_matrix
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


def _rederived(artefacts: ArtefactStore, permutations: bool = False, fit_rows: bool = False
               ) -> tuple[list[ModelSidecar], dict[str, Rederived | str]]:
    """Each fitted family's sidecar and its figures recomputed from its model file on the
    stored matrix (or why they could not be: a missing file, a model that refuses the rows)."""
    matrix, _features, _record = load_matrix(artefacts)
    cars = load_fitted(artefacts)
    out: dict[str, Rederived | str] = {}
    for car in cars:
        try:
            x = matrix.select(car.features).to_numpy().astype(np.float64)
            y = matrix[car.target].to_numpy().astype(np.float64)
            out[car.family] = rederive(car.family, car.model_path, car.device, x, y,
                                       car.test_rows, car.fit_rows if fit_rows else None,
                                       permutations=permutations)
        except Exception as exc:  # the artefact cannot reproduce its record: that is a finding
            out[car.family] = f"{type(exc).__name__}: {exc}"
    return cars, out


def _errors(found: dict[str, Rederived | str]) -> dict[str, str]:
    return {f: r for f, r in found.items() if isinstance(r, str)}


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Each model reloaded from its file reproduces, on the recorded test "
                            "rows of the stored matrix, the test R^2 its sidecar and the "
                            "comparison record (relative 1e-9 on the device it was fitted on); "
                            "that R^2 is finite and at least -1; the winner is the best of them.")
def models_r2_sane(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    cars, found = _rederived(artefacts)
    record = artefacts.read_json(*COMPARISON)
    compared = {r["family"]: r["test_r2"] for r in record["rows"]}
    figures, insane, disagree = {}, {}, {}
    for car in cars:
        got = found[car.family]
        if isinstance(got, str):
            continue
        figures[car.family] = {"recorded": car.test_r2, "in_comparison": compared.get(car.family),
                               "recomputed": got.test_r2, "rtol": got.r2_rtol,
                               "reloaded_on": got.device}
        if not (np.isfinite(got.test_r2) and got.test_r2 >= -1.0):
            insane[car.family] = got.test_r2
        for recorded in (car.test_r2, compared.get(car.family)):
            if recorded is None or not relatively_equal(recorded, got.test_r2, got.r2_rtol):
                disagree[car.family] = figures[car.family]
    best = {f: r.test_r2 for f, r in found.items() if not isinstance(r, str)}
    top = max(best.values(), default=float("nan"))
    winner_ok = (record["winner"] in best
                 and best[record["winner"]] >= top - 1e-9 * max(1.0, abs(top)))
    errors = _errors(found)
    return dg.AssetCheckResult(
        passed=not (errors or insane or disagree) and winner_ok,
        metadata={"test_r2": dg.MetadataValue.json(figures),
                  "insane": json.dumps(insane),
                  "record_disagrees_with_model_file": json.dumps(sorted(disagree)) or "none",
                  "winner_is_best_recomputed": winner_ok,
                  "not_reproducible": json.dumps(errors)})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Each model reloaded from its file outputs, on the recorded test "
                            "rows and before any reshape, exactly the target's shape (N,); the "
                            "recorded shapes agree too.")
def models_shapes_equal(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    _cars, found = _rederived(artefacts)
    shapes = {f: {"target": r.target_shape, "raw_output": r.raw_shape}
              for f, r in found.items() if not isinstance(r, str)}
    raw_bad = [f for f, s in shapes.items() if s["target"] != s["raw_output"]]
    recorded_bad = shape_mismatches(_fitted(artefacts))
    errors = _errors(found)
    return dg.AssetCheckResult(
        passed=not (raw_bad or recorded_bad or errors),
        metadata={"shapes": dg.MetadataValue.json(shapes),
                  "mismatched": ", ".join(sorted({*raw_bad, *recorded_bad})) or "none",
                  "not_reproducible": json.dumps(errors)})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Each model reloaded from its file predicts varying values on the "
                            "recorded test rows: relative spread std / (|mean| + std of the test "
                            f"targets) above {MIN_RELATIVE_SPREAD:g} and at least two distinct "
                            "values (a float constant's std is ~1e-17, not 0).")
def models_predictions_vary(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    _cars, found = _rederived(artefacts)
    spread = {f: {"relative_spread": r.relative_spread, "std": r.prediction_std,
                  "distinct_values": r.distinct_predictions}
              for f, r in found.items() if not isinstance(r, str)}
    bad = sorted(f for f, r in found.items() if not isinstance(r, str) and r.constant)
    errors = _errors(found)
    return dg.AssetCheckResult(
        passed=not (bad or errors),
        metadata={"constant": ", ".join(bad) or "none",
                  "spread": dg.MetadataValue.json(spread),
                  "min_relative_spread": MIN_RELATIVE_SPREAD,
                  "not_reproducible": json.dumps(errors)})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="The network's recorded final training loss equals the plain mean "
                            "squared error (z-scored by its fit rows) of its reloaded model on "
                            f"the recorded fit rows (relative {LOSS_RTOL:g}): a loss that "
                            "broadcasts (N,) against (N, 1) does not.")
def models_training_loss_is_mse(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    cars, found = _rederived(artefacts, fit_rows=True)
    figures, bad = {}, []
    for car in cars:
        got = found[car.family]
        if car.family != "neural_net" and car.train_loss is None:
            continue  # the tree libraries report no comparable training loss
        if car.train_loss is None or car.fit_rows is None:
            bad.append(car.family)
            figures[car.family] = "no training loss or fit rows recorded"
            continue
        if isinstance(got, str) or got.fit_mse is None:
            bad.append(car.family)
            figures[car.family] = got if isinstance(got, str) else "no fit rows to recompute"
            continue
        figures[car.family] = {"recorded_loss": car.train_loss, "recomputed_mse": got.fit_mse,
                               "fit_rows": len(car.fit_rows)}
        if not relatively_equal(car.train_loss, got.fit_mse, LOSS_RTOL):
            bad.append(car.family)
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"loss": dg.MetadataValue.json(figures), "rtol": LOSS_RTOL,
                  "mismatched": ", ".join(sorted(set(bad))) or "none",
                  "not_reproducible": json.dumps(_errors(found))})


def _recomputed_p(artefacts: ArtefactStore) -> tuple[dict, dict[str, Rederived | str], dict]:
    """The comparison record, each family's figures with its own permutation p, and the
    winner's p recomputed (raw, and corrected for the families compared)."""
    record = artefacts.read_json(*COMPARISON)
    _cars, found = _rederived(artefacts, permutations=True)
    winner = found.get(record["winner"])
    raw = None if winner is None or isinstance(winner, str) else winner.permutation_p
    n = max(1, record["families_compared"])
    return record, found, {"raw": raw, "family_wise": None if raw is None
                           else family_wise_p(raw, n), "families": n}


@dg.asset_check(asset=model_comparison, blocking=True,
                description="Every recorded permutation p (each sidecar's, the winner's raw and "
                            "corrected ones) agrees within Monte Carlo error with one recomputed "
                            f"from the reloaded model on the stored test rows ({PERMUTATIONS} "
                            f"shuffles, seed {PERMUTATION_SEED}), never read back.")
def models_permutation_p_reproduced(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    record, found, winner = _recomputed_p(artefacts)
    cars = {c.family: c for c in load_fitted(artefacts)}
    figures, bad = {}, []
    for family, got in found.items():
        if isinstance(got, str):
            bad.append(family)
            continue
        recorded = cars[family].permutation_p_value
        figures[family] = {"recorded": recorded, "recomputed": got.permutation_p}
        if recorded is None or not p_values_agree(recorded, got.permutation_p):
            bad.append(family)
    recorded_raw = record.get("winner_permutation_p_raw", record["winner_permutation_p_value"])
    winner_ok = winner["raw"] is not None and (
        p_values_agree(recorded_raw, winner["raw"])
        and p_values_agree(record["winner_permutation_p_value"], winner["family_wise"],
                           scale=winner["families"]))
    return dg.AssetCheckResult(
        passed=not bad and winner_ok,
        metadata={"p_values": dg.MetadataValue.json(figures),
                  "winner": record["winner"],
                  "winner_recorded": dg.MetadataValue.json(
                      {"raw": recorded_raw,
                       "family_wise": record["winner_permutation_p_value"]}),
                  "winner_recomputed": dg.MetadataValue.json(winner),
                  "disagreeing": ", ".join(sorted(bad)) or "none",
                  "winner_agrees": winner_ok,
                  "permutations": PERMUTATIONS, "seed": PERMUTATION_SEED,
                  "not_reproducible": json.dumps(_errors(found))})


@dg.asset_check(asset=model_comparison, blocking=True,
                description="The test split is disjoint from training and the same for all.")
def models_test_split_disjoint(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
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
    artefacts = case_artefacts(context, artefacts)
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
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts)) is not None:
        return skip
    record = artefacts.read_json(*COMPARISON)
    suspicious = [r["family"] for r in record["rows"] if r["test_r2"] > LEAKAGE_R2]
    passed = record["pool_significant"] or not suspicious
    return dg.AssetCheckResult(passed=passed, metadata={
        "pool_beats_null": record["pool_significant"],
        "near_perfect": ", ".join(suspicious) or "none"})


@dg.asset_check(asset=model_comparison,
                description="The winner's test R^2 beats shuffled targets: a permutation test "
                            f"recomputed from its reloaded model ({PERMUTATIONS} shuffles, seed "
                            f"{PERMUTATION_SEED}), Bonferroni over the families it was picked "
                            "from; the recorded p is shown, never used.")
def winner_beats_permutation(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    if (skip := _skipped(artefacts, dg.AssetCheckSeverity.WARN)) is not None:
        return skip
    record, found, winner = _recomputed_p(artefacts)
    p = winner["family_wise"]
    passed = p is not None and p < SIGNAL_ALPHA
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"winner": record["winner"], "test_r2": record["winner_test_r2"],
                  "permutation_p_value": p if p is not None else "not reproducible",
                  "permutation_p_raw": winner["raw"] if p is not None else "not reproducible",
                  "recorded_p_value": record["winner_permutation_p_value"],
                  "permutations": PERMUTATIONS, "seed": PERMUTATION_SEED,
                  "verdict": ("beats chance" if passed
                              else "not reproducible from the model file" if p is None
                              else "not distinguishable from chance"),
                  "not_reproducible": json.dumps(_errors(found))})
