"""Features: per-survivor features under the optimal scorer configuration, holdout targets.

The matrix records the configuration digest it used, and a check compares it with the scorer's.
"""

import time

import dagster as dg
import numpy as np
import polars as pl

from gpu_executors.io.hashing import file_sha256
from gpu_executors.linear.identity import SEED_KEYS, candidate_identity
from gpu_executors.ranking.features import temporal_windows
from gpu_executors.ranking.matrix import constant_columns, schema
from gpu_executors.ranking.matrix import feature_matrix as build_matrix
from gpu_executors.ranking.minimum import pool_skip_reason
from gpu_executors.sieve.settings import SieveSettings
from gpu_executors.sieve.strategies import GapMode
from prng_assets import lineage
from prng_assets.artefact_keys import MATRIX_RECORD, MATRIX_TABLE, POOL_TABLE, SCORER_RECORD
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.scorer import optimal_scorer_config
from prng_assets.assets.sieve import survivor_pool
from prng_assets.automation import AFTER_POOL
from prng_assets.loaders import (
    case_artefacts,
    load_history,
    load_scorer_record,
    load_sieve_settings,
)
from prng_assets.partitions import cases
from resources.artefacts import ArtefactStore

PREVIEW_COLUMNS = ["seed", "offset", "gap", "train_match_rate", "holdout_hits",
                   "holdout_quality"]


def expected_constant(settings: SieveSettings) -> set[str]:
    """Sieve columns that the scan itself holds fixed (not a lost field)."""
    out = set()
    spread = {"sieve_gap_std", "sieve_gap_range", "sieve_gap_entropy"}
    if settings.mode == "seed":
        out.add("sieve_reverse_matches")
    if settings.gap_mode is GapMode.CONSTANT:
        out |= spread | {"sieve_variable_gap", "sieve_gap_strategy"}
    if settings.gap_mode is GapMode.VARIABLE:
        out |= {"sieve_variable_gap", "sieve_gap"}  # every row's gap is -1
    if settings.variable_gap and len(settings.gap_strategies) == 1:
        out.add("sieve_gap_strategy")
    if settings.offset_min == settings.offset_max:
        out.add("sieve_offset")
    if settings.gap_min == settings.gap_max:
        out |= {"sieve_gap", "sieve_gap_mean"} | spread
    return out


@dg.asset(group_name="features", deps=[optimal_scorer_config, survivor_pool, draw_history],
          kinds={"numba", "polars"}, automation_condition=AFTER_POOL, partitions_def=cases)
def feature_matrix(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Per-survivor train features under the optimal scorer configuration, holdout targets."""
    artefacts = case_artefacts(context, artefacts)
    now = lineage.verify(artefacts, "feature_matrix", POOL_TABLE[:1], SCORER_RECORD[:1])
    config = load_scorer_record(artefacts).scorer_config
    pool = artefacts.read_parquet(*POOL_TABLE)
    history = load_history(artefacts)
    t0 = time.perf_counter()
    matrix = build_matrix(pool, history, config)  # an empty pool: an empty matrix, same schema
    seconds = time.perf_counter() - t0
    cols = schema()
    features = [k for k, v in cols.items() if v["role"] == "feature"]
    values = matrix.select(features).to_numpy()
    by_design = expected_constant(load_sieve_settings(artefacts).settings)
    if len(temporal_windows(history.n_train, config)) < 2:
        by_design |= {"temporal_std", "temporal_trend"}
    constant = constant_columns(values, features, by_design)
    # Too few rows to rank: the matrix still carries every survivor's evidence (predictions
    # read it to confirm candidates); the scorer and the models are skipped.
    too_small = pool_skip_reason(matrix.height)
    if too_small:
        context.log.warning(f"feature_matrix: {matrix.height} rows, evidence only: {too_small}")
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
        "ranking_skip_reason": too_small,
        "n_train": history.n_train,
        "n_holdout": history.n_holdout,
        "seconds": seconds,
        "schema": cols,
        "inputs": {"survivor_pool_sha256": file_sha256(artefacts.path(*POOL_TABLE)),
                   "scorer_config_sha256": file_sha256(artefacts.path(*SCORER_RECORD))},
    }
    artefacts.write_parquet(matrix, *MATRIX_TABLE)
    artefacts.write_json(record, *MATRIX_RECORD)
    lineage.stamp(artefacts, MATRIX_RECORD[:1], now)
    hits = matrix["holdout_hits"].to_numpy()
    return dg.MaterializeResult(metadata={
        "status": "empty" if matrix.height == 0 else "ok",
        "note": too_small or "ranked by the models downstream",
        "rows": matrix.height,
        "features": len(features),
        "scorer_digest": config.digest(),
        "seconds": seconds,
        "rows_per_second": matrix.height / seconds if seconds else 0.0,
        "holdout_hits_mean": float(hits.mean()) if len(hits) else 0.0,
        "holdout_hits_chance": 1.0 / history.modulus,
        "holdout_quality_std": float(matrix["holdout_quality"].std() or 0.0),
        "constant_features": ", ".join(constant) or "none",
        "schema": dg.MetadataValue.json(cols),
        "preview": _preview(matrix, pool),
    })


def _preview(matrix: pl.DataFrame, pool: pl.DataFrame) -> dg.MetadataValue:
    """The five best rows by train match rate, as a table; a recovered state (linear mode) is
    named by ``linear.identity``'s ``state`` in place of seed, offset and gap (all 0 there)."""
    columns = list(PREVIEW_COLUMNS)
    frame = matrix
    if "state" in pool.columns:
        named = [candidate_identity(r)["state"] for r in pool.iter_rows(named=True)]
        frame = frame.with_columns(pl.Series("state", named, pl.Utf8))
        columns = ["state", *(c for c in columns if c not in SEED_KEYS)]
    top = frame.sort("train_match_rate", descending=True).head(5).select(columns)
    schema_ = dg.TableSchema(columns=[
        dg.TableColumn(name, "string" if top[name].dtype == pl.Utf8
                       else "float" if top[name].dtype.is_float() else "int")
        for name in columns])
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in top.iter_rows(named=True)], schema=schema_)
