"""Steps 2-3: the scorer meta-optimiser and the feature matrix built with its configuration.

Every run of ``optimal_scorer_config`` makes a new study (unless one is resumed by name) and reads
nothing from earlier runs unless asked to warm-start, so a re-run needs no cleanup. The feature
matrix records the configuration digest it used, and a check compares it with the optimiser's.
"""

import time

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field, model_validator

from gpu_executors.io.hashing import file_sha256
from gpu_executors.ranking.features import ScorerConfig, temporal_windows
from gpu_executors.ranking.matrix import History, leakage_probe, schema
from gpu_executors.ranking.matrix import feature_matrix as build_matrix
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
from prng_assets.assets.ingest import DRAWS_TABLE, draw_history, latest_metadata
from prng_assets.assets.sieve import AUTOMATION, POOL_TABLE, SETTINGS_FILE, survivor_pool
from prng_assets.plots import figure_metadata
from resources.artefacts import ArtefactStore
from resources.optuna_storage import OptunaStorage

SCORER_FILE = ("optimal_scorer_config", "config.json")
MATRIX_TABLE = ("feature_matrix", "matrix.parquet")
MATRIX_RECORD = ("feature_matrix", "record.json")
ALPHA = SIGNAL_ALPHA


def load_history(artefacts: ArtefactStore) -> History:
    """The ingested draws with the sieve settings that say how to index them."""
    table = artefacts.read_parquet(*DRAWS_TABLE)
    settings = artefacts.read_json(*SETTINGS_FILE)["settings"]
    values = table["value"].to_numpy().astype(np.int64)
    n_train = int((table["split"] == "train").sum())
    return History(values=values, n_train=n_train, generator=settings["generator"],
                   draw=settings["draw"], window=settings["window"], mode=settings["mode"],
                   anchor=settings["anchor"])


def expected_constant(settings: dict) -> set[str]:
    """Sieve columns that the scan itself holds fixed (not a lost field)."""
    out = set()
    if settings["mode"] == "seed":
        out.add("sieve_reverse_matches")
    if not settings["variable_gap"]:
        out.add("sieve_gap_std")
    if settings["offset_min"] == settings["offset_max"]:
        out.add("sieve_offset")
    if settings["gap_min"] == settings["gap_max"]:
        out.update({"sieve_gap", "sieve_gap_mean"})
    return out


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
        if self.sample_size < 20:
            raise ValueError(f"sample_size {self.sample_size} must be at least 20")
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


@dg.asset(group_name="step2_scorer", deps=[survivor_pool, draw_history],
          kinds={"optuna", "pytorch"}, automation_condition=AUTOMATION)
def optimal_scorer_config(
    context: dg.AssetExecutionContext,
    config: ScorerSearchConfig,
    artefacts: ArtefactStore,
    optuna_storage: OptunaStorage,
) -> dg.MaterializeResult:
    """The scorer configuration whose network best ranks survivors by their holdout target."""
    pool = artefacts.read_parquet(*POOL_TABLE)
    history = load_history(artefacts)
    previous = artefacts.path(*SCORER_FILE)
    warm = (artefacts.read_json(*SCORER_FILE)["best_params"]
            if config.warm_start and previous.exists() else None)
    try:
        data = ScorerData.split(pool, history, config.sampler_seed, config.validation_share)
    except ValueError as exc:
        raise dg.Failure(description=f"optimal_scorer_config: {exc}") from exc
    name = config.study_name or f"optimal_scorer_config-{context.run.run_id}"
    study = optuna_storage.study(name, "maximize", config.sampler_seed)
    if warm and not study.trials:
        study.enqueue_trial(warm)
    done = len([t for t in study.trials if t.state.name == "COMPLETE"])
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
    significant = validated["rho"] > 0 and validated["p_value"] < ALPHA
    record = {
        **summary,
        "objective": OBJECTIVE,
        "target": TARGET,
        "searched": list(SEARCHED),
        "scorer_config": scorer.to_dict(),
        "scorer_digest": scorer.digest(),
        "network": {"hidden": list(net.hidden), "dropout": net.dropout,
                    "learning_rate": net.learning_rate, "batch_size": net.batch_size},
        "validated_rho": validated["rho"],
        "validated_p_value": validated["p_value"],
        "validated_rows": validated["n_eval"],
        "validated_significant": bool(significant),
        "sample_size": config.sample_size,
        "search_rows": len(data.search_idx),
        "pool_coverage": len(seen) / len(data.search_idx),
        "sampler_seed": config.sampler_seed,
        "study_name": name,
        "warm_started": warm is not None,
        "search_seconds": search_seconds,
        "inputs": {"survivor_pool_sha256": file_sha256(artefacts.path(*POOL_TABLE)),
                   "draws_sha256": latest_metadata(context.instance,
                                                   draw_history.key)["source_sha256"],
                   "sieve_settings_digest": artefacts.read_json(*SETTINGS_FILE)["digest"]},
    }
    artefacts.write_json(record, *SCORER_FILE)
    verdict = ("beats chance" if significant
               else "NOT distinguishable from chance: the scorer finds no ranking signal")
    context.log.info(f"validated rho {validated['rho']:+.4f} (p {validated['p_value']:.3g}, "
                     f"{validated['n_eval']} unseen survivors): {verdict}")
    return dg.MaterializeResult(metadata={
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
        "pool_coverage": record["pool_coverage"],
        "scorer_digest": scorer.digest(),
        "best_params": dg.MetadataValue.json(best),
        "study_name": name,
        "search_seconds": search_seconds,
        "trials_plot": _trials_plot(summary["trials"], validated["rho"]),
    })


def _scorer_record(artefacts: ArtefactStore) -> dict:
    return artefacts.read_json(*SCORER_FILE)


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Trials gave at least two distinct values (the objective can tell "
                            "configurations apart).")
def scorer_trials_differ(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    r = _scorer_record(artefacts)
    return dg.AssetCheckResult(
        passed=r["distinct_values"] >= 2 and r["value_spread"] > 0,
        metadata={"distinct_values": r["distinct_values"], "value_spread": r["value_spread"]})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="Every requested trial completed; none was silently lost.")
def scorer_trials_all_completed(context: dg.AssetCheckExecutionContext,
                                artefacts: ArtefactStore):
    r = _scorer_record(artefacts)
    return dg.AssetCheckResult(
        passed=r["trials_completed"] >= r["trials_requested"] and r["trials_failed"] == 0,
        metadata={k: r[k] for k in ("trials_requested", "trials_completed", "trials_failed")})


@dg.asset_check(asset=optimal_scorer_config, blocking=True,
                description="The best configuration holds every searched parameter.")
def scorer_best_config_complete(context: dg.AssetCheckExecutionContext,
                                artefacts: ArtefactStore):
    r = _scorer_record(artefacts)
    missing = [k for k in r["searched"] if k not in r["best_params"]]
    return dg.AssetCheckResult(passed=not missing,
                               metadata={"missing": ", ".join(missing) or "none",
                                         "searched": len(r["searched"])})


@dg.asset_check(asset=optimal_scorer_config,
                description="Validated rho (unseen survivors) is positive and beats chance.")
def scorer_validated_rho_positive(context: dg.AssetCheckExecutionContext,
                                  artefacts: ArtefactStore):
    r = _scorer_record(artefacts)
    verdict = ("significant" if r["validated_significant"]
               else f"not significant (p = {r['validated_p_value']:.3g}): reported as chance")
    return dg.AssetCheckResult(
        passed=r["validated_significant"], severity=dg.AssetCheckSeverity.WARN,
        metadata={"validated_rho": r["validated_rho"], "p_value": r["validated_p_value"],
                  "rows": r["validated_rows"], "alpha": ALPHA, "verdict": verdict})


@dg.asset_check(asset=optimal_scorer_config,
                description="Trials sampled different survivors (no fixed sampling seed).")
def scorer_trial_samples_differ(context: dg.AssetCheckExecutionContext,
                                artefacts: ArtefactStore):
    r = _scorer_record(artefacts)
    whole_pool = r["search_rows"] <= r["sample_size"]
    passed = whole_pool or r["distinct_samples"] >= min(2, r["trials_completed"])
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"distinct_samples": r["distinct_samples"], "pool_coverage": r["pool_coverage"],
                  "search_rows": r["search_rows"], "sample_size": r["sample_size"],
                  "note": ("every trial sees the whole search pool (it is no larger than "
                           "sample_size)") if whole_pool else "sampled per trial"})


@dg.asset(group_name="step3_features", deps=[optimal_scorer_config, survivor_pool, draw_history],
          kinds={"numba", "polars"}, automation_condition=AUTOMATION)
def feature_matrix(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Per-survivor train features under the optimal scorer configuration, holdout targets."""
    scorer_record = _scorer_record(artefacts)
    config = ScorerConfig.from_dict(scorer_record["scorer_config"])
    pool = artefacts.read_parquet(*POOL_TABLE)
    if pool.height == 0:
        raise dg.Failure(description="feature_matrix: the survivor pool is empty")
    history = load_history(artefacts)
    t0 = time.perf_counter()
    matrix = build_matrix(pool, history, config)
    seconds = time.perf_counter() - t0
    cols = schema()
    features = [k for k, v in cols.items() if v["role"] == "feature"]
    values = matrix.select(features).to_numpy()
    by_design = expected_constant(artefacts.read_json(*SETTINGS_FILE)["settings"])
    if len(temporal_windows(history.n_train, config)) < 2:
        by_design |= {"temporal_std", "temporal_trend"}
    constant = [k for k, c in zip(features, np.ptp(values, axis=0) == 0, strict=True)
                if c and k not in by_design]
    record = {
        "scorer_digest": config.digest(),
        "scorer_config": config.to_dict(),
        "rows": matrix.height,
        "features": features,
        "targets": [k for k, v in cols.items() if v["role"] == "target"],
        "constant_features": constant,
        "finite": bool(np.isfinite(values).all()
                       and all(np.isfinite(matrix[k].to_numpy()).all()
                               for k, v in cols.items() if v["role"] == "target")),
        "n_train": history.n_train,
        "n_holdout": history.n_holdout,
        "seconds": seconds,
        "schema": cols,
        "inputs": {"survivor_pool_sha256": file_sha256(artefacts.path(*POOL_TABLE)),
                   "scorer_config_sha256": file_sha256(artefacts.path(*SCORER_FILE))},
    }
    artefacts.write_parquet(matrix, *MATRIX_TABLE)
    artefacts.write_json(record, *MATRIX_RECORD)
    hits = matrix["holdout_hits"].to_numpy()
    return dg.MaterializeResult(metadata={
        "rows": matrix.height,
        "features": len(features),
        "scorer_digest": config.digest(),
        "seconds": seconds,
        "rows_per_second": matrix.height / seconds if seconds else 0.0,
        "holdout_hits_mean": float(hits.mean()),
        "holdout_hits_chance": 1.0 / history.modulus,
        "holdout_quality_std": float(matrix["holdout_quality"].std() or 0.0),
        "constant_features": ", ".join(constant) or "none",
        "schema": dg.MetadataValue.json(cols),
        "preview": _preview(matrix),
    })


def _preview(matrix: pl.DataFrame) -> dg.MetadataValue:
    """The five best rows by train match rate, as a markdown table."""
    cols = ["seed", "offset", "gap", "train_match_rate", "holdout_hits", "holdout_quality"]
    top = matrix.sort("train_match_rate", descending=True).head(5).select(cols)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row)
              + " |" for row in top.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


def _matrix_record(artefacts: ArtefactStore) -> dict:
    return artefacts.read_json(*MATRIX_RECORD)


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="The matrix was built with the configuration the optimiser chose.")
def feature_matrix_uses_optimal_config(context: dg.AssetCheckExecutionContext,
                                       artefacts: ArtefactStore):
    used = _matrix_record(artefacts)["scorer_digest"]
    chosen = _scorer_record(artefacts)["scorer_digest"]
    return dg.AssetCheckResult(passed=used == chosen,
                               metadata={"matrix_digest": used, "optimiser_digest": chosen})


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="Features read train draws only: scrambling the holdout moves no "
                            "feature and moves the targets.")
def feature_matrix_no_leakage(context: dg.AssetCheckExecutionContext,
                              artefacts: ArtefactStore):
    record = _matrix_record(artefacts)
    probe = leakage_probe(artefacts.read_parquet(*POOL_TABLE), load_history(artefacts),
                          ScorerConfig.from_dict(record["scorer_config"]))
    return dg.AssetCheckResult(
        passed=not probe["features_moved"] and probe["targets_moved"],
        metadata={"rows_probed": probe["rows"],
                  "features_reading_holdout": ", ".join(probe["features_moved"]) or "none",
                  "targets_read_holdout": probe["targets_moved"]})


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="Every feature and target is finite.")
def feature_matrix_finite(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    record = _matrix_record(artefacts)
    return dg.AssetCheckResult(passed=record["finite"], metadata={"rows": record["rows"]})


@dg.asset_check(asset=feature_matrix, description="No feature is constant over the survivors.")
def feature_matrix_constant_features(context: dg.AssetCheckExecutionContext,
                                     artefacts: ArtefactStore):
    constant = _matrix_record(artefacts)["constant_features"]
    return dg.AssetCheckResult(passed=not constant, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"constant": ", ".join(constant) or "none",
                                         "count": len(constant)})


SCORING_CHECKS = [scorer_trials_differ, scorer_trials_all_completed, scorer_best_config_complete,
                  scorer_validated_rho_positive, scorer_trial_samples_differ,
                  feature_matrix_uses_optimal_config, feature_matrix_no_leakage,
                  feature_matrix_finite, feature_matrix_constant_features]
