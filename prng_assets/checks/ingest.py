"""Checks on the ingested draws: values in range, one draw per (date, session), enough train."""

import dagster as dg
import polars as pl

from prng_assets.artefact_keys import DRAWS_TABLE
from prng_assets.assets.ingest import draw_history
from prng_assets.loaders import case_artefacts, latest_metadata
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=draw_history, blocking=True, description="Every value in [0, modulus).")
def draw_values_in_range(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    meta = latest_metadata(context.instance, draw_history.key, context.partition_key)
    values = artefacts.read_parquet(*DRAWS_TABLE)["value"]
    bad = values.filter((values < 0) | (values >= meta["modulus"]))
    return dg.AssetCheckResult(
        passed=bad.len() == 0,
        metadata={
            "modulus": meta["modulus"],
            "out_of_range": bad.len(),
            "min": int(values.min()),
            "max": int(values.max()),
        },
    )


@dg.asset_check(asset=draw_history, blocking=True, description="No duplicate (date, session).")
def draw_dates_unique(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    table = artefacts.read_parquet(*DRAWS_TABLE).filter(pl.col("date").is_not_null())
    dups = table.group_by(["date", "session"]).len().filter(pl.col("len") > 1)
    return dg.AssetCheckResult(
        passed=dups.height == 0,
        metadata={
            "duplicate_keys": dups.height,
            "examples": str(dups.head(5).to_dicts()) if dups.height else "none",
        },
    )


@dg.asset_check(
    asset=draw_history,
    blocking=True,
    description="The train split holds at least the configured sieve window.",
)
def draw_history_enough_for_window(
    context: dg.AssetCheckExecutionContext,
) -> dg.AssetCheckResult:
    meta = latest_metadata(context.instance, draw_history.key, context.partition_key)
    return dg.AssetCheckResult(
        passed=meta["n_train"] >= meta["window"] and meta["n_holdout"] >= 1,
        metadata={
            "n_train": meta["n_train"],
            "window": meta["window"],
            "n_holdout": meta["n_holdout"],
        },
    )
