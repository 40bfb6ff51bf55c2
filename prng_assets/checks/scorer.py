"""Checks on the scorer search: trials differ, all completed, the best configuration is whole,
validated rho beats chance on unseen survivors, trials sampled different survivors (read from
the study the trials wrote, not from the record).

A search skipped because the pool is too small makes each of them "not applicable" (passed),
provided the pool really is too small (``checks.skips``)."""

import dagster as dg
import optuna
from optuna.trial import TrialState

from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.significance import SIGNAL_ALPHA
from prng_assets.assets.scorer import optimal_scorer_config
from prng_assets.checks.skips import skipped_result
from prng_assets.loaders import case_artefacts, load_pool_rows, load_scorer_record
from resources.artefacts import ArtefactStore
from resources.optuna_storage import OptunaStorage


def _skipped(r: ScorerRecord, artefacts: ArtefactStore,
             severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
             ) -> dg.AssetCheckResult | None:
    """The result for a skipped search (judged against the pool as it is), else None."""
    if not r.is_skipped:
        return None
    return skipped_result(r.reason, pool_skip_reason(load_pool_rows(artefacts)), severity)


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Trials gave at least two distinct values (the objective can tell "
                            "configurations apart).")
def scorer_trials_differ(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    return dg.AssetCheckResult(
        passed=r.distinct_values >= 2 and r.value_spread > 0,
        metadata={"distinct_values": r.distinct_values, "value_spread": r.value_spread})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Every requested trial completed; none was silently lost.")
def scorer_trials_all_completed(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    return dg.AssetCheckResult(
        passed=r.trials_completed >= r.trials_requested and r.trials_failed == 0,
        metadata={"trials_requested": r.trials_requested,
                  "trials_completed": r.trials_completed, "trials_failed": r.trials_failed})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="The best configuration holds every searched parameter.")
def scorer_best_config_complete(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    r = load_scorer_record(artefacts)
    if (skip := _skipped(r, artefacts)) is not None:
        return skip
    missing = [k for k in r.searched if k not in r.best_params]
    return dg.AssetCheckResult(passed=not missing,
                               metadata={"missing": ", ".join(missing) or "none",
                                         "searched": len(r.searched)})


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


def used_samples(storage: OptunaStorage, study_name: str) -> dict[int, str] | None:
    """Each completed trial's sample fingerprint as the trial itself stored it in its study
    (what it used), or None when the study is gone."""
    try:
        study = optuna.load_study(study_name=study_name, storage=storage.storage())
    except KeyError:
        return None
    return {t.number: t.user_attrs.get("result", {}).get("sample_fingerprint", "")
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}


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
    used = used_samples(optuna_storage, r.study_name)
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
