"""The code location: every asset, check, sensor and resource of Seedsieve."""

import os

import dagster as dg

from prng_assets.assets.ingest import INGEST_CHECKS, draw_history
from prng_assets.assets.models import (
    MODEL_ASSETS,
    MODEL_CHECKS,
    model_comparison,
    predictions,
)
from prng_assets.assets.scoring import SCORING_CHECKS, feature_matrix, optimal_scorer_config
from prng_assets.assets.sieve import (
    SIEVE_CHECKS,
    sieve_settings,
    survivor_pool,
    survivors,
)
from prng_assets.ops import RETRY_POLICY, failure_alert, gpu_job, max_runtime_tags
from prng_assets.sensors import draw_file_sensor
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.notifications import Notifier
from resources.optuna_storage import OptunaStorage

ARTEFACTS_ENV = "SEEDSIEVE_ARTEFACTS"
OPTUNA_URL_ENV = "SEEDSIEVE_OPTUNA_URL"
BACKEND_ENV = "SEEDSIEVE_BACKEND"

DOCKER_JOBS_ENV = "SEEDSIEVE_DOCKER_JOBS"  # set in the Docker image: adds the GPU scan job

# Unpartitioned head (what the inbox sensor runs), the seed-block scan (a backfill), the pool,
# then Steps 2-6. A run cannot mix partitioned and unpartitioned assets, hence separate jobs.
# Every job alerts on failure (a webhook, when SEEDSIEVE_ALERT_WEBHOOK is set) and carries a
# maximum runtime; steps that can fail transiently retry. prepare does not: its failures are
# bad input, and a retry would fail the same way.
prepare_job = dg.define_asset_job(
    "prepare", selection=dg.AssetSelection.assets(draw_history, sieve_settings),
    hooks={failure_alert}, tags=max_runtime_tags(6 * 3600))
scan_job = dg.define_asset_job(
    "scan_seed_blocks", selection=dg.AssetSelection.assets(survivors), hooks={failure_alert},
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(24 * 3600))
pool_job = dg.define_asset_job(
    "pool", selection=dg.AssetSelection.assets(survivor_pool), hooks={failure_alert},
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(3600))
ML_ASSETS = [optimal_scorer_config, feature_matrix, *MODEL_ASSETS, model_comparison, predictions]
ml_job = dg.define_asset_job(
    "rank_and_predict", selection=dg.AssetSelection.assets(*ML_ASSETS), hooks={failure_alert},
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(24 * 3600))

def build_defs(
    artefact_root: str = "artefacts", optuna_url: str | None = None, backend: str = "auto"
) -> dg.Definitions:
    """The whole code location over one artefact root (tests pass a temporary one)."""
    jobs = [prepare_job, scan_job, pool_job, ml_job]
    if os.environ.get(DOCKER_JOBS_ENV) == "1":  # the docker executor needs a Docker engine
        jobs.append(gpu_job(dg.AssetSelection.assets(survivors), name="scan_seed_blocks_gpu"))
    return dg.Definitions(
        assets=[draw_history, sieve_settings, survivors, survivor_pool, *ML_ASSETS],
        asset_checks=[*INGEST_CHECKS, *SIEVE_CHECKS, *SCORING_CHECKS, *MODEL_CHECKS],
        jobs=jobs,
        sensors=[draw_file_sensor],
        resources={
            "artefacts": ArtefactStore(root=artefact_root),
            "compute": ComputeResource(backend=backend),
            "optuna_storage": OptunaStorage(url=optuna_url, root=artefact_root),
            "notifications": Notifier.from_env(),
        },
    )


defs = build_defs(
    artefact_root=os.environ.get(ARTEFACTS_ENV, "artefacts"),
    optuna_url=os.environ.get(OPTUNA_URL_ENV),
    backend=os.environ.get(BACKEND_ENV, "auto"),
)
