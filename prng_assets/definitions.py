"""The code location: every asset, check, sensor and resource of Seedsieve."""

import os

import dagster as dg

from prng_assets.assets.ingest import INGEST_CHECKS, draw_history
from prng_assets.assets.sieve import (
    SIEVE_CHECKS,
    sieve_settings,
    survivor_pool,
    survivors,
)
from prng_assets.sensors import draw_file_sensor
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.optuna_storage import OptunaStorage

ARTEFACTS_ENV = "SEEDSIEVE_ARTEFACTS"
OPTUNA_URL_ENV = "SEEDSIEVE_OPTUNA_URL"
BACKEND_ENV = "SEEDSIEVE_BACKEND"

# Unpartitioned head (what the inbox sensor runs), the seed-block scan (a backfill), and the
# pool. A run cannot mix partitioned and unpartitioned assets, hence three jobs.
prepare_job = dg.define_asset_job(
    "prepare", selection=dg.AssetSelection.assets(draw_history, sieve_settings)
)
scan_job = dg.define_asset_job("scan_seed_blocks", selection=dg.AssetSelection.assets(survivors))
pool_job = dg.define_asset_job("pool", selection=dg.AssetSelection.assets(survivor_pool))



def build_defs(
    artefact_root: str = "artefacts", optuna_url: str | None = None, backend: str = "auto"
) -> dg.Definitions:
    """The whole code location over one artefact root (tests pass a temporary one)."""
    return dg.Definitions(
        assets=[draw_history, sieve_settings, survivors, survivor_pool],
        asset_checks=[*INGEST_CHECKS, *SIEVE_CHECKS],
        jobs=[prepare_job, scan_job, pool_job],
        sensors=[draw_file_sensor],
        resources={
            "artefacts": ArtefactStore(root=artefact_root),
            "compute": ComputeResource(backend=backend),
            "optuna_storage": OptunaStorage(url=optuna_url, root=artefact_root),
        },
    )


defs = build_defs(
    artefact_root=os.environ.get(ARTEFACTS_ENV, "artefacts"),
    optuna_url=os.environ.get(OPTUNA_URL_ENV),
    backend=os.environ.get(BACKEND_ENV, "auto"),
)
