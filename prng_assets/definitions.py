"""The code location: every asset, check, sensor and resource of Seedsieve."""

from __future__ import annotations

import os

import dagster as dg

from prng_assets.assets.ingest import INGEST_CHECKS, draw_history
from prng_assets.sensors import draw_file_sensor
from resources.artefacts import ArtefactStore

ARTEFACTS_ENV = "SEEDSIEVE_ARTEFACTS"

# Everything, in dependency order: what `make demo` and a new draw file run.
pipeline_job = dg.define_asset_job("pipeline", selection=dg.AssetSelection.all())

defs = dg.Definitions(
    assets=[draw_history],
    jobs=[pipeline_job],
    asset_checks=INGEST_CHECKS,
    sensors=[draw_file_sensor],
    resources={"artefacts": ArtefactStore(root=os.environ.get(ARTEFACTS_ENV, "artefacts"))},
)
