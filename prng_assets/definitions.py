"""The code location: every asset, check, sensor and resource of Seedsieve.

Assets and checks are loaded from their modules, so a new one is registered by being written.
"""

import os

import dagster as dg

from prng_assets.alerts import ALERT_SENSORS
from prng_assets.assets import features, ingest, models, predictions, scorer, sieve
from prng_assets.checks import features as features_checks
from prng_assets.checks import ingest as ingest_checks
from prng_assets.checks import kinds
from prng_assets.checks import models as models_checks
from prng_assets.checks import predictions as predictions_checks
from prng_assets.checks import scorer as scorer_checks
from prng_assets.checks import sieve as sieve_checks
from prng_assets.checks import sieve_search as sieve_search_checks
from prng_assets.jobs import JOBS, docker_scan_job, gpu_scan_job
from prng_assets.sensors import draw_file_sensor
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.notifications import Notifier
from resources.optuna_storage import OptunaStorage

ARTEFACTS_ENV = "SEEDSIEVE_ARTEFACTS"
OPTUNA_URL_ENV = "SEEDSIEVE_OPTUNA_URL"
BACKEND_ENV = "SEEDSIEVE_BACKEND"
DOCKER_JOBS_ENV = "SEEDSIEVE_DOCKER_JOBS"  # set in the Docker image: adds the container scan jobs

ASSET_MODULES = [ingest, sieve, scorer, features, models, predictions]
CHECK_MODULES = [ingest_checks, sieve_checks, sieve_search_checks, scorer_checks, features_checks,
                 models_checks, predictions_checks]


def build_defs(
    artefact_root: str = "artefacts", optuna_url: str | None = None, backend: str = "auto"
) -> dg.Definitions:
    """The whole code location over one artefact root (tests pass a temporary one)."""
    jobs = list(JOBS)
    if os.environ.get(DOCKER_JOBS_ENV) == "1":  # the docker executor needs a Docker engine
        jobs += [docker_scan_job(), gpu_scan_job()]
    compute = ComputeResource(backend=backend)
    # The scan's step runs in the GPU pool when it runs on a GPU (a pool is fixed per definition).
    scan = sieve.survivors_asset(compute.scan_pool())
    assets = [scan if isinstance(a, dg.AssetsDefinition) and a.key == scan.key else a
              for a in dg.load_assets_from_modules(ASSET_MODULES)]
    partitions = {key: a.partitions_def for a in assets
                  if isinstance(a, dg.AssetsDefinition) for key in a.keys}
    return dg.Definitions(
        assets=assets,
        asset_checks=kinds.with_kinds(dg.load_asset_checks_from_modules(CHECK_MODULES),
                                      partitions),
        jobs=jobs,
        executor=dg.in_process_executor,  # why: prng_assets/jobs.py
        sensors=[draw_file_sensor, *ALERT_SENSORS],
        resources={
            "artefacts": ArtefactStore(root=artefact_root),
            "compute": compute,
            "optuna_storage": OptunaStorage(url=optuna_url, root=artefact_root),
            "notifications": Notifier.from_env(),
        },
    )


defs = build_defs(
    artefact_root=os.environ.get(ARTEFACTS_ENV, "artefacts"),
    optuna_url=os.environ.get(OPTUNA_URL_ENV),
    backend=os.environ.get(BACKEND_ENV, "auto"),
)
