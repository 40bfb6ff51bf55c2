"""Seed-block partitions: the scanned seed space cut into blocks, fixed when the code loads.

``SEEDSIEVE_SPACE_BITS`` / ``SEEDSIEVE_BLOCK_BITS`` size the space, so a full scan is a backfill:
resumable, spread by the instance's executor and launcher, and visible as coverage in the UI.
A backfill (the automation sensor emits one when several blocks are due) scans up to
``SEEDSIEVE_BLOCKS_PER_RUN`` blocks per run: a run's start-up (a process, the code location, the
kernels loaded) costs seconds, a default block of 2^18 seeds a fraction of one.
"""

import os
import warnings

import dagster as dg

from gpu_executors.sieve.settings import seed_blocks_from_env

BLOCKS_PER_RUN_ENV = "SEEDSIEVE_BLOCKS_PER_RUN"

BLOCKS = seed_blocks_from_env()
seed_blocks = dg.StaticPartitionsDefinition(BLOCKS.partition_keys())


def blocks_per_run() -> int:
    """Blocks one run scans in a backfill (default 8: the default 16 blocks in two runs)."""
    text = os.environ.get(BLOCKS_PER_RUN_ENV, "8")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{BLOCKS_PER_RUN_ENV}={text!r}: expected a positive integer") from None
    if value < 1:
        raise ValueError(f"{BLOCKS_PER_RUN_ENV}={value}: expected a positive integer")
    return value


scan_backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=blocks_per_run())

# Dagster marks an asset's backfill_policy parameter beta; said once here, not at every load of
# the code location (the CLI, every run, the demo).
warnings.filterwarnings("ignore", message=".*`backfill_policy`.*", category=dg.BetaWarning)
