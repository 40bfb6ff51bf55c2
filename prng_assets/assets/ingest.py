"""Ingest: the observed draws, validated and split chronologically into train and holdout."""

from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field, model_validator

from gpu_executors.io.history import HistoryError, read_history
from prng_assets.artefact_keys import DRAWS_TABLE
from prng_assets.plots import value_histogram
from resources.artefacts import ArtefactStore

DEFAULT_HISTORY = "data/demo/history.json"


class DrawHistoryConfig(dg.Config):
    """Run config of ``draw_history``; unknown keys are rejected by Dagster."""

    path: str = Field(default=DEFAULT_HISTORY, description="The draw-history file to read.")
    format: Literal["auto", "json", "csv", "text"] = Field(
        default="auto", description="Input format; auto detects JSON, CSV or plain text."
    )
    modulus: int | None = Field(
        default=None, description="Draws lie in [0, modulus); inferred and reported if unset."
    )
    holdout_fraction: float = Field(
        default=0.2, description="Share of the most recent draws kept out of training."
    )
    window: int = Field(
        default=8, description="Draws the sieve window needs; the train split must hold them."
    )

    @model_validator(mode="after")
    def _check(self) -> "DrawHistoryConfig":
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction {self.holdout_fraction} must be in (0, 1)")
        if self.window < 1:
            raise ValueError(f"window {self.window} must be >= 1")
        if self.modulus is not None and self.modulus < 2:
            raise ValueError(f"modulus {self.modulus} must be >= 2")
        return self


@dg.asset(group_name="ingest", kinds={"polars", "parquet"})
def draw_history(
    context: dg.AssetExecutionContext, config: DrawHistoryConfig, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """The observed draws (draw_index, date, session, value, split), oldest first."""
    try:
        hist = read_history(
            config.path,
            format=config.format,
            modulus=config.modulus,
            holdout_fraction=config.holdout_fraction,
        )
    except HistoryError as exc:
        raise dg.Failure(description=str(exc)) from exc
    except FileNotFoundError as exc:
        raise dg.Failure(description=f"{config.path}: no such file") from exc
    table = hist.table.with_columns(
        pl.when(pl.col("draw_index") < hist.n_train)
        .then(pl.lit("train"))
        .otherwise(pl.lit("holdout"))
        .alias("split")
    )
    out = artefacts.write_parquet(table, *DRAWS_TABLE)
    if hist.modulus_inferred:
        context.log.warning(f"modulus not given: inferred {hist.modulus} from the values")
    if hist.reordered:
        context.log.warning("draws were not in chronological order: sorted by date and session")
    dates = table["date"].drop_nulls()
    values = table["value"].to_numpy()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "source_path": hist.source_path,
            "source_sha256": hist.source_sha256,
            "format": hist.format,
            "n_draws": table.height,
            "n_train": hist.n_train,
            "n_holdout": hist.n_holdout,
            "holdout_fraction": config.holdout_fraction,
            "modulus": hist.modulus,
            "modulus_inferred": hist.modulus_inferred,
            "reordered": hist.reordered,
            "window": config.window,
            "first_date": str(dates.min()) if dates.len() else "n/a",
            "last_date": str(dates.max()) if dates.len() else "n/a",
            "value_distribution": value_histogram(
                values, hist.modulus, f"{table.height} draws (dashed: uniform)"
            ),
        },
        data_version=dg.DataVersion(hist.source_sha256),
    )
