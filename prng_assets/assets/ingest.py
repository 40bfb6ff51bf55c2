"""Ingest: the observed draws, validated and split chronologically into train and holdout."""

import hashlib
import json
from pathlib import Path
from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field, model_validator

from gpu_executors.io.history import DrawHistory, DroppedDraw, HistoryError, read_history
from prng_assets import run_tags
from prng_assets.artefact_keys import CASE_SETTINGS, DRAWS_RECORD, DRAWS_TABLE
from prng_assets.loaders import case_artefacts
from prng_assets.partitions import cases
from prng_assets.plots import value_histogram
from prng_assets.run_tags import settings_metadata
from resources.artefacts import ArtefactStore

DEFAULT_HISTORY = "data/demo/history.json"
MAX_DROPPED_ROWS = 100  # rows of the dropped-draws table shown in metadata; the count is exact


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
    duplicates: Literal["error", "drop-identical", "keep-last"] = Field(
        default="error",
        description=(
            "A repeated (date, session): error stops; drop-identical drops repeats equal to the"
            " first (a different value still stops); keep-last keeps the last in the file."
            " Dropped draws are listed in the metadata."
        ),
    )
    sessions: list[str] | None = Field(
        default=None,
        description=(
            'Keep only draws of these sessions (e.g. ["evening"]; case-insensitive) before'
            " duplicate checks and the split; unset keeps all. Not for plain-text files."
        ),
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


@dg.asset(group_name="ingest", kinds={"polars", "parquet"}, partitions_def=cases)
def draw_history(
    context: dg.AssetExecutionContext, config: DrawHistoryConfig, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """The observed draws of a case (draw_index, date, session, value, split), oldest first."""
    artefacts = case_artefacts(context, artefacts)
    try:
        hist = read_history(
            config.path,
            format=config.format,
            modulus=config.modulus,
            holdout_fraction=config.holdout_fraction,
            duplicates=config.duplicates,
            sessions=config.sessions,
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
    version = _data_version(hist.source_sha256, config)
    case_settings = _case_settings(context.run.tags)
    out = artefacts.write_parquet(table, *DRAWS_TABLE)
    artefacts.write_json({
        "source_path": hist.source_path, "source_sha256": hist.source_sha256,
        "history_digest": version.value, "modulus": hist.modulus, "n_train": hist.n_train,
        "n_holdout": hist.n_holdout, "read_with": config.model_dump(exclude={"path"}),
    }, *DRAWS_RECORD)
    artefacts.write_json(case_settings, *CASE_SETTINGS)
    if hist.modulus_inferred:
        context.log.warning(f"modulus not given: inferred {hist.modulus} from the values")
    if hist.reordered:
        context.log.warning("draws were not in chronological order: sorted by date and session")
    if hist.dropped:
        context.log.warning(f"{len(hist.dropped)} repeated draw(s) dropped ({hist.duplicates})")
    dates = table["date"].drop_nulls()
    values = table["value"].to_numpy()
    return dg.MaterializeResult(
        metadata={
            **_filter_metadata(hist),
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
            "history_digest": version.value,
            **settings_metadata(context.run.tags),
        },
        data_version=version,
    )


def _case_settings(tags: dict[str, str]) -> dict[str, object]:
    """The sections of the run's settings file that set the assets automation runs (none for a
    run the sensor did not start). Read again here, so a file changed since the sensor read it
    fails the run: the sensor runs the draw file again with the new settings."""
    # imported here: case_settings imports this module (its [history] section is our config)
    from prng_assets.case_settings import RECORDED, CaseSettingsError, load

    path = tags.get(run_tags.SETTINGS)
    if path is None:
        return {"path": None, "digest": tags.get(run_tags.SETTINGS_SHA256), "sections": {}}
    try:
        settings = load(Path(path))
    except CaseSettingsError as exc:
        raise dg.Failure(description=f"draw_history: {exc}", allow_retries=False) from exc
    if settings.digest != tags.get(run_tags.SETTINGS_SHA256):
        raise dg.Failure(allow_retries=False, description=(
            f"draw_history: {path} changed since the sensor read it; the sensor runs the draw "
            "file again with the new settings"))
    return {"path": path, "digest": settings.digest,
            "sections": {k: v for k, v in settings.sections.items() if k in RECORDED}}


def _data_version(source_sha256: str, config: DrawHistoryConfig) -> dg.DataVersion:
    """The file's bytes and how they were read: a new modulus, split or filter is new data."""
    how = config.model_dump(exclude={"path"})
    text = json.dumps([source_sha256, how], sort_keys=True)
    return dg.DataVersion(hashlib.sha256(text.encode()).hexdigest())


def _filter_metadata(hist: DrawHistory) -> dict[str, object]:
    """What the duplicate policy and session filter removed, so no draw disappears unseen."""
    meta: dict[str, object] = {"duplicates": str(hist.duplicates), "n_dropped": len(hist.dropped)}
    if hist.dropped:
        meta["dropped"] = dg.MetadataValue.md(_dropped_table(hist.dropped))
    if hist.sessions is not None:
        meta["sessions"] = dg.MetadataValue.json(list(hist.sessions))
    return meta


def _dropped_table(dropped: tuple[DroppedDraw, ...]) -> str:
    """Markdown table of dropped draws, capped so a bad file cannot flood the event log."""
    lines = ["| location | date | session | value | reason |", "|---|---|---|---|---|"]
    lines += [
        f"| {d.location} | {d.date} | {d.session} | {d.value} | {d.reason} |"
        for d in dropped[:MAX_DROPPED_ROWS]
    ]
    if len(dropped) > MAX_DROPPED_ROWS:
        lines.append(f"\n... and {len(dropped) - MAX_DROPPED_ROWS} more")
    return "\n".join(lines)
