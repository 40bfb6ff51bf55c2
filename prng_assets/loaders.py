"""Typed reads of what upstream assets left behind, shared by assets and checks.

Every artefact is read through ``ArtefactStore`` under its key in ``artefact_keys``, within the
run's case (``case_artefacts``), and every stored record through its typed class, so no asset or
check parses another's JSON by hand.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import numpy as np
import polars as pl

from gpu_executors.models.families import FAMILIES
from gpu_executors.models.records import ModelSidecar
from gpu_executors.ranking.matrix import History
from gpu_executors.ranking.records import ScorerRecord
from gpu_executors.sieve.records import PoolStats, SieveSettingsRecord
from prng_assets.artefact_keys import (
    DRAWS_RECORD,
    DRAWS_TABLE,
    MATRIX_RECORD,
    MATRIX_TABLE,
    POOL_STATS,
    POOL_TABLE,
    SCORER_RECORD,
    SIEVE_SETTINGS,
    SKIP_REGISTRY,
    model_sidecar,
)
from prng_assets.partitions import case_of
from resources.artefacts import ArtefactStore


def case_artefacts(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> ArtefactStore:
    """The artefacts of the case the run (or check) is for."""
    return artefacts.case(case_of(context.partition_key))


def latest_metadata(
    instance: dg.DagsterInstance, key: dg.AssetKey, case: str
) -> dict[str, Any]:
    """The metadata of a case's latest materialisation of an asset, as plain values."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[case]), limit=1).records
    mat = records[0].asset_materialization if records else None
    if mat is None:
        raise dg.Failure(description=f"{key.to_user_string()} has not been materialised "
                                     f"for case {case}")
    return {k: v.value for k, v in mat.metadata.items()}


def load_draws_record(artefacts: ArtefactStore) -> dict[str, Any]:
    """How the case's draws were read: source, sha256, history digest, modulus, split."""
    return artefacts.read_json(*DRAWS_RECORD)


def load_train(artefacts: ArtefactStore) -> np.ndarray:
    """The train split's draw values, oldest first."""
    table = artefacts.read_parquet(*DRAWS_TABLE)
    return table.filter(pl.col("split") == "train")["value"].to_numpy()


def load_sieve_settings(artefacts: ArtefactStore) -> SieveSettingsRecord:
    return artefacts.read_record(SieveSettingsRecord, *SIEVE_SETTINGS)


def load_pool_stats(artefacts: ArtefactStore) -> PoolStats:
    return artefacts.read_record(PoolStats, *POOL_STATS)


def load_scorer_record(artefacts: ArtefactStore) -> ScorerRecord:
    return artefacts.read_record(ScorerRecord, *SCORER_RECORD)


def load_history(artefacts: ArtefactStore) -> History:
    """The ingested draws with the sieve settings that say how to index them."""
    table = artefacts.read_parquet(*DRAWS_TABLE)
    settings = load_sieve_settings(artefacts).settings
    values = table["value"].to_numpy().astype(np.int64)
    n_train = int((table["split"] == "train").sum())
    return History(values=values, n_train=n_train, generator=settings.generator,
                   draw=settings.draw, window=settings.window, mode=settings.mode,
                   anchor=settings.anchor)


def load_matrix_record(artefacts: ArtefactStore) -> dict[str, Any]:
    return artefacts.read_json(*MATRIX_RECORD)


def load_matrix(artefacts: ArtefactStore) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
    """The feature matrix, its feature columns, and the record it was built with."""
    record = load_matrix_record(artefacts)
    return artefacts.read_parquet(*MATRIX_TABLE), record["features"], record


def load_pool_rows(artefacts: ArtefactStore) -> int:
    """The survivor pool's row count, read from the file's metadata (not its rows)."""
    return int(pl.scan_parquet(artefacts.path(*POOL_TABLE)).select(pl.len()).collect().item())


def load_evidence(artefacts: ArtefactStore) -> np.ndarray:
    """The feature matrix's ``outside_window_evidence`` column: what confirms a candidate."""
    path = artefacts.path(*MATRIX_TABLE)
    return pl.read_parquet(path, columns=["outside_window_evidence"])[
        "outside_window_evidence"].to_numpy()


def load_skip_registry(artefacts: ArtefactStore) -> dict[str, Any]:
    """Families' recent failures (empty before the first model run)."""
    return artefacts.read_json(*SKIP_REGISTRY) if artefacts.exists(*SKIP_REGISTRY) else {}


def load_sidecars(artefacts: ArtefactStore) -> dict[str, ModelSidecar]:
    """Every family's sidecar that exists, skipped ones included."""
    return {family: artefacts.read_record(ModelSidecar, *model_sidecar(family))
            for family in FAMILIES if artefacts.exists(*model_sidecar(family))}


def load_fitted(artefacts: ArtefactStore) -> list[ModelSidecar]:
    """The sidecars of the families that produced a model."""
    return [c for c in load_sidecars(artefacts).values() if c.ok]
