"""The asset jobs: the unpartitioned head (what the inbox sensor runs), the seed-block scan (a
backfill), the pool, then ranking and prediction.

A run cannot mix partitioned and unpartitioned assets, hence separate jobs. Every job alerts on
failure (a webhook, when SEEDSIEVE_ALERT_WEBHOOK is set) and carries a maximum runtime; steps
that can fail transiently retry. prepare does not: its failures are bad input, and a retry would
fail the same way.

Runs execute their steps in the run's own process (``in_process_executor``, the code location's
default, so the asset jobs the UI and ``dagster asset materialize`` build use it too): a seed-block
or pool run has one step, and a step process would load the whole code location a second time for
nothing, about 5 s of every block run (bench/startup_bench.py). Ranking and prediction keep a
process per step, so the model families fit side by side.
"""

from __future__ import annotations

import dagster as dg

from prng_assets.executors import cpu_docker_executor, gpu_job
from prng_assets.hooks import RETRY_POLICY, failure_alert, max_runtime_tags

HEAD = dg.AssetSelection.groups("ingest") | dg.AssetSelection.assets("sieve_settings")
SCAN = dg.AssetSelection.assets("survivors")
POOL = dg.AssetSelection.assets("survivor_pool")
RANK_AND_PREDICT = dg.AssetSelection.groups("scorer", "features", "models", "predictions")

prepare_job = dg.define_asset_job(
    "prepare", selection=HEAD, hooks={failure_alert}, tags=max_runtime_tags(6 * 3600))
scan_job = dg.define_asset_job(
    "scan_seed_blocks", selection=SCAN, hooks={failure_alert},
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(24 * 3600))
pool_job = dg.define_asset_job(
    "pool", selection=POOL, hooks={failure_alert},
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(3600))
ml_job = dg.define_asset_job(
    "rank_and_predict", selection=RANK_AND_PREDICT, hooks={failure_alert},
    executor_def=dg.multiprocess_executor,
    op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(24 * 3600))

JOBS = [prepare_job, scan_job, pool_job, ml_job]


def gpu_scan_job() -> dg.UnresolvedAssetJobDefinition:
    """The seed-block scan in GPU containers (the docker executor needs a Docker engine)."""
    return gpu_job(SCAN, name="scan_seed_blocks_gpu")


def docker_scan_job() -> dg.UnresolvedAssetJobDefinition:
    """The seed-block scan with a container per step (a backfill of it spreads the blocks over
    containers; the docker executor needs a Docker engine). Runs the automation starts stay
    in-process in their run container: a step container costs seconds of start-up per step."""
    return dg.define_asset_job(
        "scan_seed_blocks_docker", selection=SCAN, executor_def=cpu_docker_executor,
        hooks={failure_alert}, op_retry_policy=RETRY_POLICY, tags=max_runtime_tags(24 * 3600))
