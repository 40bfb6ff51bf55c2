"""The scorer: an Optuna search of the scorer configuration, objective Spearman rho on holdout.

Every run of ``optimal_scorer_config`` makes a new study (unless one is resumed by name) and reads
nothing from earlier runs unless asked to warm-start, so a re-run needs no cleanup.
"""

import time

import dagster as dg
from optuna.trial import TrialState
from pydantic import Field, model_validator

from gpu_executors.io.hashing import file_sha256
from gpu_executors.ranking.minimum import MIN_RANKING_ROWS, pool_skip_reason
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.ranking.scorer import (
    OBJECTIVE,
    SEARCHED,
    TARGET,
    ScorerBounds,
    ScorerData,
    configs,
    objective_fn,
    score,
    summarise,
)
from gpu_executors.significance import SIGNAL_ALPHA
from prng_assets import lineage
from prng_assets.artefact_keys import POOL_TABLE, SCORER_RECORD
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.sieve import survivor_pool
from prng_assets.automation import AFTER_POOL
from prng_assets.case_config import with_case_settings
from prng_assets.loaders import (
    case_artefacts,
    load_draws_record,
    load_history,
    load_scorer_record,
    load_sieve_settings,
)
from prng_assets.partitions import cases
from prng_assets.plots import figure_metadata
from resources.artefacts import ArtefactStore
from resources.optuna_storage import OptunaStorage


class ScorerSearchConfig(dg.Config):
    """Run config of ``optimal_scorer_config``; unknown keys are rejected by Dagster."""

    n_trials: int = Field(default=100, description="Optuna trials (a resumed study tops up).")
    sample_size: int = Field(default=5000, description="Survivors sampled per trial.")
    sampler_seed: int = Field(default=0, description="TPE seed and the sampling streams' root.")
    study_name: str | None = Field(default=None, description="Resume this study by name.")
    validation_share: float = Field(default=0.2, description="Pool share kept for validation.")
    warm_start: bool = Field(default=False,
                             description="Enqueue the previous run's best configuration.")
    residue_mod_1_bounds: list[int] = Field(default_factory=lambda: [5, 20])
    residue_mod_2_bounds: list[int] = Field(default_factory=lambda: [50, 150])
    residue_mod_3_bounds: list[int] = Field(default_factory=lambda: [500, 1500])

    def bounds(self) -> ScorerBounds:
        pairs = {"residue_mod_1": self.residue_mod_1_bounds,
                 "residue_mod_2": self.residue_mod_2_bounds,
                 "residue_mod_3": self.residue_mod_3_bounds}
        for name, pair in pairs.items():
            if len(pair) != 2:
                raise ValueError(f"{name}_bounds must be [lo, hi], got {pair}")
        return ScorerBounds(**{k: (v[0], v[1]) for k, v in pairs.items()})

    @model_validator(mode="after")
    def _check(self) -> "ScorerSearchConfig":
        if self.sample_size < MIN_RANKING_ROWS:
            raise ValueError(f"sample_size {self.sample_size} must be at least "
                             f"{MIN_RANKING_ROWS}")
        if self.n_trials < 1:
            raise ValueError(f"n_trials {self.n_trials} must be at least 1")
        if not 0.0 < self.validation_share < 1.0:
            raise ValueError(f"validation_share {self.validation_share} must be in (0, 1)")
        self.bounds().validate()
        return self


def _trials_plot(trials: list[dict], validated: float) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.plot([t["number"] for t in trials], [t["value"] for t in trials], "o", color="#4b7bec",
            markersize=3, label="trial rho (held-out sample rows)")
    ax.axhline(0.0, color="black", linewidth=1, label="chance")
    ax.axhline(validated, color="#eb3b5a", linestyle="--", label=f"validated rho {validated:+.3f}")
    ax.set_xlabel("trial")
    ax.set_ylabel("Spearman rho")
    ax.set_title("scorer meta-optimiser")
    ax.legend(loc="lower right", fontsize=7)
    return figure_metadata(fig)


def _inputs(artefacts: ArtefactStore) -> dict[str, str]:
    """What the configuration was made from (lineage: the feature matrix and checks compare)."""
    draws = load_draws_record(artefacts)
    return {"survivor_pool_sha256": file_sha256(artefacts.path(*POOL_TABLE)),
            "draws_sha256": draws["source_sha256"], "history_digest": draws["history_digest"],
            "sieve_settings_digest": load_sieve_settings(artefacts).digest}


def _skipped(context: dg.AssetExecutionContext, config: ScorerSearchConfig,
             artefacts: ArtefactStore, now: lineage.Lineage, rows: int,
             reason: str) -> dg.MaterializeResult:
    """A pool too small to search on: record the skip and the default configuration, so the
    feature matrix still computes the few survivors' evidence and the run goes on."""
    record = ScorerRecord.skipped(reason, objective=OBJECTIVE, target=TARGET,
                                  searched=list(SEARCHED), sample_size=config.sample_size,
                                  pool_rows=rows, sampler_seed=config.sampler_seed,
                                  inputs=_inputs(artefacts))
    artefacts.write_record(record, *SCORER_RECORD)
    lineage.stamp(artefacts, SCORER_RECORD[:1], now)
    context.log.warning(f"optimal_scorer_config skipped: {reason}")
    return dg.MaterializeResult(metadata={
        "status": record.status,
        "reason": reason,
        "config": dg.MetadataValue.json(config.model_dump()),
        "pool_rows": rows,
        "minimum_rows": MIN_RANKING_ROWS,
        "scorer_digest": record.scorer_digest,
        "scorer_config": dg.MetadataValue.json(record.scorer_config.to_dict()),
    })


@dg.asset(group_name="scorer", deps=[survivor_pool, draw_history],
          kinds={"optuna", "pytorch"}, automation_condition=AFTER_POOL, partitions_def=cases)
def optimal_scorer_config(
    context: dg.AssetExecutionContext,
    config: ScorerSearchConfig,
    artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.MaterializeResult:
    """The scorer configuration whose network best ranks survivors by their holdout target."""
    artefacts = case_artefacts(context, artefacts)
    config, config_from = with_case_settings(config, artefacts, "scorer")
    context.log.info(f"config from {config_from}")
    now = lineage.verify(artefacts, "optimal_scorer_config", POOL_TABLE[:1])
    pool = artefacts.read_parquet(*POOL_TABLE)
    skip = pool_skip_reason(pool.height)
    if skip is not None:
        return _skipped(context, config, artefacts, now, pool.height, skip)
    history = load_history(artefacts)
    previous = (load_scorer_record(artefacts)
                if config.warm_start and artefacts.exists(*SCORER_RECORD) else None)
    warm = previous.best_params if previous is not None and not previous.is_skipped else None
    try:
        data = ScorerData.split(pool, history, config.sampler_seed, config.validation_share)
    except ValueError as exc:
        raise dg.Failure(description=f"optimal_scorer_config: {exc}") from exc
    name = config.study_name or (
        f"optimal_scorer_config-{context.partition_key}-{context.run.run_id}")
    study = optuna_storage.study(name, "maximize", config.sampler_seed)
    if warm and not study.trials:
        study.enqueue_trial(warm)
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    t0 = time.perf_counter()
    study.optimize(objective_fn(data, config.bounds(), config.sample_size, config.sampler_seed,
                                context.log.info),
                   n_trials=max(0, config.n_trials - done), catch=(ValueError, RuntimeError))
    search_seconds = time.perf_counter() - t0
    try:
        summary = summarise(study, config.n_trials)
    except ValueError as exc:
        raise dg.Failure(description=f"optimal_scorer_config: {exc}") from exc
    best = summary["best_params"]
    best_sample = data.sample(summary["best_trial"], config.sample_size, config.sampler_seed)
    validated = score(data, best_sample, best, config.sampler_seed, eval_idx=data.validation_idx)
    seen = set()
    for t in summary["trials"]:
        seen.update(data.sample(t["number"], config.sample_size, config.sampler_seed).tolist())
    scorer, net = configs(best, config.sampler_seed)
    significant = validated["rho"] > 0 and validated["p_value"] < SIGNAL_ALPHA
    record = ScorerRecord(
        **summary,
        objective=OBJECTIVE,
        target=TARGET,
        searched=list(SEARCHED),
        scorer_config=scorer,
        network={"hidden": list(net.hidden), "dropout": net.dropout,
                 "learning_rate": net.learning_rate, "batch_size": net.batch_size},
        validated_rho=validated["rho"],
        validated_p_value=validated["p_value"],
        validated_rows=validated["n_eval"],
        validated_significant=bool(significant),
        sample_size=config.sample_size,
        search_rows=len(data.search_idx),
        pool_coverage=len(seen) / len(data.search_idx),
        sampler_seed=config.sampler_seed,
        study_name=name,
        warm_started=warm is not None,
        search_seconds=search_seconds,
        inputs=_inputs(artefacts),
    )
    artefacts.write_record(record, *SCORER_RECORD)
    lineage.stamp(artefacts, SCORER_RECORD[:1], now)
    verdict = ("beats chance" if significant
               else "NOT distinguishable from chance: the scorer finds no ranking signal")
    context.log.info(f"validated rho {validated['rho']:+.4f} (p {validated['p_value']:.3g}, "
                     f"{validated['n_eval']} unseen survivors): {verdict}")
    return dg.MaterializeResult(metadata={
        "status": record.status,
        "config": dg.MetadataValue.json(config.model_dump()), "config_from": config_from,
        "objective": OBJECTIVE,
        "best_value": summary["best_value"],
        "best_trial": summary["best_trial"],
        "validated_rho": validated["rho"],
        "validated_p_value": validated["p_value"],
        "verdict": verdict,
        "trials_requested": config.n_trials,
        "trials_completed": summary["trials_completed"],
        "trials_failed": summary["trials_failed"],
        "sample_size": config.sample_size,
        "pool_coverage": record.pool_coverage,
        "scorer_digest": scorer.digest(),
        "best_params": dg.MetadataValue.json(best),
        "study_name": name,
        "search_seconds": search_seconds,
        "trials_plot": _trials_plot(summary["trials"], validated["rho"]),
    })
