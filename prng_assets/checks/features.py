"""Checks on the feature matrix: built with the chosen configuration, its stored rows rebuilt from
the train draws alone, no holdout leakage, finite, no constant feature (not applicable below the
ranking minimum: those rows are evidence only)."""

import json

import dagster as dg

from gpu_executors.ranking.matrix import leakage_probe
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.ranking.schema import ScorerConfig
from prng_assets.artefact_keys import MATRIX_TABLE, POOL_TABLE
from prng_assets.assets.features import feature_matrix
from prng_assets.checks.rebuild import RTOL, SAMPLE_ROWS, SAMPLE_SEED, rebuild_sample
from prng_assets.loaders import case_artefacts, load_history, load_matrix_record, load_scorer_record
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=feature_matrix, blocking=True,
                description="The matrix record names the configuration the optimiser chose: its "
                            "digest and the digest of its recorded configuration (which "
                            "feature_matrix_rebuilt_from_train shows was the one used).")
def feature_matrix_uses_optimal_config(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_matrix_record(artefacts)
    used = record["scorer_digest"]
    recorded_config = ScorerConfig.from_dict(record["scorer_config"]).digest()
    chosen = load_scorer_record(artefacts).scorer_digest
    return dg.AssetCheckResult(passed=used == recorded_config == chosen,
                               metadata={"matrix_digest": used,
                                         "matrix_config_digest": recorded_config,
                                         "optimiser_digest": chosen})


@dg.asset_check(asset=feature_matrix, blocking=True,
                description=f"Up to {SAMPLE_ROWS} stored rows (seed {SAMPLE_SEED}), rebuilt from "
                            "the stored pool rows, the recorded scorer configuration and the "
                            "train draws alone (the holdout withheld), equal every stored "
                            f"feature column (rtol {RTOL:g}): the recorded configuration is the "
                            "one used and no feature read the holdout, whichever code wrote "
                            "the matrix. Targets are not rebuilt (they read the holdout).")
def feature_matrix_rebuilt_from_train(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_matrix_record(artefacts)
    config = ScorerConfig.from_dict(record["scorer_config"])
    matrix = artefacts.read_parquet(*MATRIX_TABLE)
    pool = artefacts.read_parquet(*POOL_TABLE)
    self_consistent = config.digest() == record["scorer_digest"]
    if pool.height == 0 and matrix.height == 0:
        return dg.AssetCheckResult(passed=self_consistent, metadata={
            "applies": f"not applicable: {pool_skip_reason(0)}", "rows_rebuilt": 0,
            "record_digest_matches_config": self_consistent})
    history = load_history(artefacts)
    rebuilt = rebuild_sample(matrix, pool, history, config)
    worst = max(rebuilt.differing.values(), default=0.0)
    return dg.AssetCheckResult(
        passed=rebuilt.ok and self_consistent,
        metadata={"rows_rebuilt": rebuilt.rows, "columns_compared": rebuilt.columns,
                  "differing_columns": json.dumps(rebuilt.differing) if rebuilt.differing
                  else "none",
                  "max_difference": worst if worst != float("inf") else "NaN mismatch",
                  "missing_columns": ", ".join(rebuilt.missing) or "none",
                  "rows_match_pool": rebuilt.keys_match,
                  "rebuild_error": rebuilt.error or "none",
                  "record_digest_matches_config": self_consistent,
                  "scorer_digest": config.digest(),
                  "draws_read": f"{history.n_train} train (holdout of {history.n_holdout} "
                                "withheld)"})


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
