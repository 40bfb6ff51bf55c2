"""Checks on the window optimiser (``sieve_settings`` when it searched): trials differ, every
requested trial completed or was pruned for a stated reason, the best settings hold every
searched parameter, and a warning when nothing survived any trial.

Like the scorer's, they count from the Optuna study the trials wrote themselves (the trials of
this search: a resumed study's trials carry the search's key) and take the number of trials
asked for from the run's own config; the record must repeat what they find. Settings given
directly (``search: false``) make them "not applicable"."""

from dataclasses import dataclass, replace

import dagster as dg
import optuna
from optuna.trial import FrozenTrial, TrialState

from gpu_executors.sieve.records import SieveSettingsRecord
from gpu_executors.sieve.settings import SEARCHED
from prng_assets.assets.sieve import (
    SieveSettingsConfig,
    best_trial,
    search_key,
    sieve_settings,
)
from prng_assets.checks.requested import requested_config
from prng_assets.loaders import case_artefacts, load_draws_record, load_sieve_settings
from resources.artefacts import ArtefactStore
from resources.optuna_storage import OptunaStorage

NOTHING_SURVIVED = ("nothing survived any trial: the choice of settings is arbitrary; check the "
                    "generator and draw function")


@dataclass(frozen=True)
class SearchTrials:
    """This search's trials as the study holds them, and what the run asked for."""

    record: SieveSettingsRecord
    config: SieveSettingsConfig
    key: str  # recomputed from the draws record, the requested config and the record's blocks
    complete: list[FrozenTrial]
    pruned: list[FrozenTrial]
    failed: int
    found: bool  # the study exists

    @property
    def ran(self) -> list[FrozenTrial]:
        return self.complete + self.pruned

    @property
    def survived(self) -> bool:
        return any(t.user_attrs.get("survivors", 0) > 0 for t in self.ran)


def _search(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
            storage: OptunaStorage) -> SearchTrials | None:
    """None when the settings were given directly."""
    record = load_sieve_settings(artefacts)
    if not record.searched or record.search is None:
        return None
    _run_id, given = requested_config(context, sieve_settings)
    config = SieveSettingsConfig(**given)
    base = config.settings()
    if config.choosing:  # the identified pair is the record's; the requested list allows it
        base = replace(base, generator=record.settings.generator, draw=record.settings.draw)
    key = search_key(load_draws_record(artefacts)["history_digest"], base, config.bounds(),
                     record.search.sample_blocks)
    try:
        study = optuna.load_study(study_name=record.search.study_name,
                                  storage=storage.storage())
    except KeyError:
        return SearchTrials(record, config, key, [], [], 0, False)
    trials = [t for t in study.get_trials(deepcopy=False)
              if t.user_attrs.get("search_key") == key]
    return SearchTrials(
        record, config, key,
        complete=[t for t in trials if t.state == TrialState.COMPLETE],
        pruned=[t for t in trials if t.state == TrialState.PRUNED],
        failed=sum(t.state == TrialState.FAIL for t in trials), found=True)


def _given() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={
        "applies": "not applicable: settings given directly (search: false)"})


def _study(s: SearchTrials) -> dict:
    name = s.record.search.study_name
    return {"study": name if s.found else f"{name} (not found: nothing to verify against)",
            "search_key_agrees": s.key == s.record.search.search_key}


@dg.asset_check(asset=sieve_settings, blocking=True,
                description="Window optimiser: its trials scored at least two distinct "
                            "evidence values (the objective tells settings apart; a pruned "
                            "trial counts as 0), counted from the study; not applicable when "
                            "nothing survived any trial (sieve_trials_found_evidence says so) "
                            "or one trial was asked for.")
def sieve_trials_differ(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    s = _search(context, artefacts, optuna_storage)
    if s is None:
        return _given()
    # A pruned trial kept no survivor: its evidence is 0 (what the objective would have said).
    values = {t.number: t.value if t.state == TrialState.COMPLETE else 0.0 for t in s.ran}
    recorded = {t["number"]: t["evidence"] for t in s.record.search.trials}
    agrees = s.found and recorded == values and s.key == s.record.search.search_key
    why = (NOTHING_SURVIVED if s.found and not s.survived
           else "one trial was asked for" if s.config.n_trials < 2 else None)
    if why is not None:
        return dg.AssetCheckResult(passed=agrees, metadata={
            **_study(s), "applies": f"not applicable: {why}",
            "record_agrees_with_study": agrees})
    distinct = len(set(values.values()))
    return dg.AssetCheckResult(
        passed=agrees and distinct >= 2,
        metadata={**_study(s), "distinct_values": distinct, "trials": len(values),
                  "record_agrees_with_study": agrees})


@dg.asset_check(asset=sieve_settings, blocking=True,
                description="Window optimiser: every trial the run asked for completed, or was "
                            "pruned for a stated reason (an empty forward pass), in the study; "
                            "none failed; the record repeats the study's counts.")
def sieve_trials_all_completed(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    s = _search(context, artefacts, optuna_storage)
    if s is None:
        return _given()
    unexplained = [t.number for t in s.pruned if not t.user_attrs.get("pruned_reason")]
    search = s.record.search
    agrees = (search.trials_requested == s.config.n_trials
              and search.trials_completed == len(s.complete)
              and search.trials_pruned == len(s.pruned))
    return dg.AssetCheckResult(
        passed=(s.found and agrees and len(s.ran) >= s.config.n_trials and s.failed == 0
                and not unexplained),
        metadata={**_study(s), "trials_requested": s.config.n_trials,
                  "trials_completed": len(s.complete), "trials_pruned": len(s.pruned),
                  "pruned_reasons": ", ".join(sorted({t.user_attrs.get("pruned_reason", "none")
                                                      for t in s.pruned})) or "none",
                  "pruned_without_reason": ", ".join(map(str, unexplained)) or "none",
                  "trials_failed": s.failed, "record_agrees": agrees})


@dg.asset_check(asset=sieve_settings, blocking=True,
                description="Window optimiser: the study's best trial (highest evidence, ties "
                            "to the strictest) holds every searched parameter, and the "
                            "recorded settings and best parameters are that trial's.")
def sieve_best_settings_complete(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    s = _search(context, artefacts, optuna_storage)
    if s is None:
        return _given()
    searched = SEARCHED + (("anchor",) if s.record.settings.mode == "state" else ())
    best = best_trial(s.ran) if s.ran else None
    params = best.params if best is not None else {}
    missing = [k for k in searched if k not in params]
    agrees = (best is not None and s.record.search.best_trial == best.number
              and s.record.search.best_params == params
              and best.user_attrs.get("settings") == s.record.settings.to_dict())
    return dg.AssetCheckResult(
        passed=agrees and not missing,
        metadata={**_study(s), "best_trial": best.number if best is not None else "none",
                  "missing": ", ".join(missing) or "none", "searched": ", ".join(searched),
                  "record_agrees_with_study": agrees})


@dg.asset_check(asset=sieve_settings,
                description="Window optimiser: at least one trial kept a survivor on the sample "
                            "blocks (a warning otherwise: the settings were chosen blind).")
def sieve_trials_found_evidence(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    s = _search(context, artefacts, optuna_storage)
    if s is None:
        return _given()
    return dg.AssetCheckResult(
        passed=s.survived, severity=dg.AssetCheckSeverity.WARN,
        metadata={**_study(s), "trials_with_survivors": sum(
                      t.user_attrs.get("survivors", 0) > 0 for t in s.ran),
                  "trials": len(s.ran),
                  "verdict": "survivors found" if s.survived else NOTHING_SURVIVED})
