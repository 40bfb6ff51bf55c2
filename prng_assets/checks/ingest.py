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
    description="The train split holds at least the configured sieve window and the holdout a "
                "draw: counted from the stored draws (the oldest rows train, the rest holdout), "
                "which the recorded counts must repeat.",
)
def draw_history_enough_for_window(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    meta = latest_metadata(context.instance, draw_history.key, context.partition_key)
    split = artefacts.read_parquet(*DRAWS_TABLE).sort("draw_index")["split"]
    n_train = int((split == "train").sum())
    n_holdout = split.len() - n_train
    ordered = bool((split.head(n_train) == "train").all())  # no holdout draw before a train one
    agrees = meta["n_train"] == n_train and meta["n_holdout"] == n_holdout
    return dg.AssetCheckResult(
        passed=n_train >= meta["window"] and n_holdout >= 1 and ordered and agrees,
        metadata={
            "n_train": n_train,
            "window": meta["window"],
            "n_holdout": n_holdout,
            "train_precedes_holdout": ordered,
            "recorded_counts_agree": agrees,
        },
    )
