"""Checks on the scorer search: trials differ, all completed, the best configuration is whole,
validated rho beats chance on unseen survivors, trials sampled different survivors.

The trial figures are counted from the Optuna study the trials wrote themselves (``study``),
and the number of trials asked for from the run's own config; the scorer record must repeat
them, so a record that disagrees with what ran fails whatever wrote it.

A search skipped because the pool is too small makes each of them "not applicable" (passed),
provided the pool really is too small (``checks.skips``)."""

import math

import dagster as dg
import numpy as np

from gpu_executors.io.hashing import index_digest
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.ranking.scorer import SEARCHED, ScorerData, configs, one_torch_thread
from gpu_executors.significance import SIGNAL_ALPHA
from prng_assets.artefact_keys import POOL_TABLE
from prng_assets.assets.scorer import ScorerSearchConfig, optimal_scorer_config
from prng_assets.case_config import with_case_settings
from prng_assets.checks.requested import requested_config
from prng_assets.checks.skips import skipped_result
from prng_assets.checks.study import StudyTrials, study_trials
from prng_assets.loaders import case_artefacts, load_history, load_pool_rows, load_scorer_record
from resources.artefacts import ArtefactStore
from resources.optuna_storage import OptunaStorage


def _skipped(r: ScorerRecord, artefacts: ArtefactStore,
             severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
             ) -> dg.AssetCheckResult | None:
    """The result for a skipped search (judged against the pool as it is), else None."""
    if not r.is_skipped:
        return None
    return skipped_result(r.reason, pool_skip_reason(load_pool_rows(artefacts)), severity)


def _ran(r: ScorerRecord, storage: OptunaStorage) -> tuple[StudyTrials | None, dict]:
    """The trials as the study holds them, and the metadata that says which study it was."""
    found = study_trials(storage, r.study_name)
    return found, {"study": r.study_name if found is not None
                   else f"{r.study_name} (not found: nothing to verify the record against)"}


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Trials gave at least two distinct values (the objective can tell "
                            "configurations apart): counted from the values the trials left in "
                            "their Optuna study, which the record must repeat.")
def scorer_trials_differ(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    ran, meta = _ran(r, optuna_storage)
    values = ran.values if ran is not None else {}
    distinct = len(set(values.values()))
    spread = float(max(values.values()) - min(values.values())) if values else 0.0
    agrees = (ran is not None and r.distinct_values == distinct
              and r.value_spread == spread
              and {t["number"]: t["value"] for t in r.trials} == values)
    return dg.AssetCheckResult(
        passed=agrees and distinct >= 2 and spread > 0,
        metadata={**meta, "distinct_values": distinct, "value_spread": spread,
                  "recorded_distinct_values": r.distinct_values,
                  "recorded_value_spread": r.value_spread,
                  "record_agrees_with_study": agrees})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Every trial the run asked for (its run config, else the case's "
                            "[scorer] section, else the default) completed in the Optuna study "
                            "and none failed; the record repeats the study's counts.")
def scorer_trials_all_completed(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    run_id, given = requested_config(context, optimal_scorer_config)
    asked, asked_from = with_case_settings(ScorerSearchConfig(**given), artefacts, "scorer")
    ran, meta = _ran(r, optuna_storage)
    completed = len(ran.values) if ran is not None else 0
    failed = ran.failed if ran is not None else 0
    agrees = (ran is not None and r.trials_requested == asked.n_trials
              and r.trials_completed == completed and r.trials_failed == failed)
    return dg.AssetCheckResult(
        passed=agrees and completed >= asked.n_trials and failed == 0,
        metadata={**meta, "run_id": run_id, "trials_requested": asked.n_trials,
                  "requested_from": asked_from, "trials_completed": completed,
                  "trials_failed": failed,
                  "trials_unfinished": ran.unfinished if ran is not None else 0,
                  "recorded": dg.MetadataValue.json(
                      {"requested": r.trials_requested, "completed": r.trials_completed,
                       "failed": r.trials_failed}),
                  "record_agrees": agrees})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="The study's best trial holds every searched parameter, and the "
                            "record's best parameters and scorer configuration are that "
                            "trial's (the configuration the feature matrix then uses).")
def scorer_best_config_complete(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    ran, meta = _ran(r, optuna_storage)
    best = ran.best if ran is not None else None
    params = best.params if best is not None else {}
    missing = [k for k in SEARCHED if k not in params]
    missing_in_record = [k for k in SEARCHED if k not in r.best_params]
    config_agrees = False
    if not missing:
        config_agrees = configs(params, r.sampler_seed)[0].digest() == r.scorer_config.digest()
    agrees = (best is not None and r.best_trial == best.number and r.best_params == params
              and config_agrees)
    return dg.AssetCheckResult(
        passed=agrees and not missing and not missing_in_record,
        metadata={**meta, "best_trial": best.number if best is not None else "none",
                  "missing": ", ".join(missing) or "none",
                  "missing_in_record": ", ".join(missing_in_record) or "none",
                  "searched": len(SEARCHED),
                  "record_agrees_with_study": agrees,
                  "scorer_config_is_best_trials": config_agrees})


@dg.asset_check(asset=optimal_scorer_config,
                description="Validated rho (unseen survivors) is positive and beats chance.")
def scorer_validated_rho_positive(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts, dg.AssetCheckSeverity.WARN)) is not None:
        return skip
    verdict = ("significant" if r.validated_significant
               else f"not significant (p = {r.validated_p_value:.3g}): reported as chance")
    return dg.AssetCheckResult(
        passed=r.validated_significant, severity=dg.AssetCheckSeverity.WARN,
        metadata={"validated_rho": r.validated_rho, "p_value": r.validated_p_value,
                  "rows": r.validated_rows, "alpha": SIGNAL_ALPHA, "verdict": verdict})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Trials sampled different survivors: counted from the sample "
                            "fingerprints the trials left in their Optuna study (what they "
                            "used), which the record must repeat. One sample for every trial "
                            "is a fixed sampling seed: a bug, not a finding.")
def scorer_trial_samples_differ(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    ran = study_trials(optuna_storage, r.study_name)
    used = ran.samples if ran is not None else None
    recorded = {t["number"]: t["sample"] for t in r.trials}
    distinct = len(set(used.values())) if used else 0
    agrees = used == recorded and r.distinct_samples == distinct
    whole_pool = r.search_rows <= r.sample_size
    passed = used is not None and agrees and (whole_pool or distinct >= min(2, len(used)))
    return dg.AssetCheckResult(
        passed=passed,
        metadata={"distinct_samples": distinct, "trials": len(used or {}),
                  "recorded_distinct_samples": r.distinct_samples,
                  "record_agrees_with_study": agrees,
                  "study": r.study_name if used is not None else f"{r.study_name} (not found)",
                  "pool_coverage": r.pool_coverage,
                  "search_rows": r.search_rows, "sample_size": r.sample_size,
                  "note": ("every trial sees the whole search pool (it is no larger than "
                           "sample_size)") if whole_pool else "sampled per trial"})


def _validated(data: ScorerData, idx: np.ndarray, params: dict, seed: int
               ) -> tuple[float, float]:
    """The best configuration retrained on ``idx`` and ranked on the validation rows: Spearman
    by scipy on its predictions (a constant prediction ranks nothing: -1, p 1)."""
    from scipy import stats

    from gpu_executors.models.mlp import fit_mlp

    scorer, net = configs(params, seed)
    x, y = data.xy(idx, scorer)
    x_val, y_val = data.xy(data.validation_idx, scorer)
    if np.ptp(y) == 0:
        return -1.0, 1.0
    with one_torch_thread():
        pred = fit_mlp(x, y, net).predict(x_val)
    if np.ptp(pred) < 1e-12 or np.ptp(y_val) == 0:
        return -1.0, 1.0
    rho, p = stats.spearmanr(pred, y_val)
    return (float(rho), float(p)) if np.isfinite(rho) else (-1.0, 1.0)


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="The validated rho re-derived from the stored pool and history: "
                            "the validation rows cut again, every trial's sample drawn again "
                            "and matched to the fingerprint the trial stored, none of them "
                            "touching a validation row; the best trial's configuration retrained "
                            "on its sample and ranked on those rows. The record must agree.")
def scorer_validated_rho_reproduced(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    ran, meta = _ran(r, optuna_storage)
    if ran is None or ran.best is None:
        return dg.AssetCheckResult(passed=False, metadata={**meta, "best_trial": "none"})
    _run_id, given = requested_config(context, optimal_scorer_config)
    asked, _ = with_case_settings(ScorerSearchConfig(**given), artefacts, "scorer")
    data = ScorerData.split(artefacts.read_parquet(*POOL_TABLE), load_history(artefacts),
                            r.sampler_seed, asked.validation_share)
    samples = {n: data.sample(n, asked.sample_size, r.sampler_seed) for n in ran.samples}
    unmatched = sorted(n for n, idx in samples.items()
                       if index_digest(idx, 12) != ran.samples[n])
    seen = set().union(*(idx.tolist() for idx in samples.values()))
    touched = len(seen & set(data.validation_idx.tolist()))
    rho, p = _validated(data, samples[ran.best.number], ran.best.params, r.sampler_seed)
    significant = rho > 0 and p < SIGNAL_ALPHA
    agrees = (math.isclose(rho, r.validated_rho, rel_tol=1e-6, abs_tol=1e-9)
              and math.isclose(p, r.validated_p_value, rel_tol=1e-6, abs_tol=1e-12)
              and r.validated_rows == len(data.validation_idx)
              and r.validated_significant == significant)
    return dg.AssetCheckResult(
        passed=agrees and not unmatched and touched == 0,
        metadata={**meta, "validated_rho": rho, "p_value": p,
                  "recorded_rho": r.validated_rho, "recorded_p_value": r.validated_p_value,
                  "validation_rows": len(data.validation_idx),
                  "validation_rows_in_a_trial_sample": touched,
                  "trials_whose_sample_differs": ", ".join(map(str, unmatched)) or "none",
                  "record_agrees": agrees})
