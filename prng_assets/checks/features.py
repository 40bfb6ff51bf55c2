"""Checks on the feature matrix: built with the chosen configuration, no holdout leakage, finite,
no constant feature (not applicable below the ranking minimum: those rows are evidence only)."""

import dagster as dg

from gpu_executors.ranking.matrix import leakage_probe
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.schema import ScorerConfig
from prng_assets.artefact_keys import POOL_TABLE
from prng_assets.assets.features import feature_matrix
from prng_assets.loaders import case_artefacts, load_history, load_matrix_record, load_scorer_record
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="The matrix was built with the configuration the optimiser chose.")
def feature_matrix_uses_optimal_config(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    used = load_matrix_record(artefacts)["scorer_digest"]
    chosen = load_scorer_record(artefacts).scorer_digest
    return dg.AssetCheckResult(passed=used == chosen,
                               metadata={"matrix_digest": used, "optimiser_digest": chosen})


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="Features read train draws only: scrambling the holdout moves no "
                            "feature and moves the targets.")
def feature_matrix_no_leakage(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_matrix_record(artefacts)
    pool = artefacts.read_parquet(*POOL_TABLE)
    if pool.height == 0:  # nothing to probe; a missing holdout still fails below
        return dg.AssetCheckResult(passed=True, metadata={
            "applies": f"not applicable: {pool_skip_reason(0)}", "rows_probed": 0})
    probe = leakage_probe(pool, load_history(artefacts),
                          ScorerConfig.from_dict(record["scorer_config"]))
    return dg.AssetCheckResult(
        passed=not probe["features_moved"] and probe["targets_moved"],
        metadata={"rows_probed": probe["rows"],
                  "features_reading_holdout": ", ".join(probe["features_moved"]) or "none",
                  "targets_read_holdout": probe["targets_moved"]})


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="Every feature and target is finite.")
def feature_matrix_finite(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_matrix_record(artefacts)
    return dg.AssetCheckResult(passed=record["finite"], metadata={"rows": record["rows"]})


@dg.asset_check(asset=feature_matrix, description="No feature is constant over the survivors.")
def feature_matrix_constant_features(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_matrix_record(artefacts)
    too_small = pool_skip_reason(record["rows"])
    if too_small is not None:  # a few rows vary little by nature, and no model reads them
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"applies": f"not applicable: {too_small}",
                                             "rows": record["rows"]})
    constant = record["constant_features"]
    return dg.AssetCheckResult(passed=not constant, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"constant": ", ".join(constant) or "none",
                                         "count": len(constant)})
