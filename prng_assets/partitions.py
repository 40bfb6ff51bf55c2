"""Seed-block partitions: the scanned seed space cut into blocks, fixed when the code loads.

``SEEDSIEVE_SPACE_BITS`` / ``SEEDSIEVE_BLOCK_BITS`` size the space, so a full scan is a backfill:
resumable, spread by the instance's executor and launcher, and visible as coverage in the UI.
"""

import dagster as dg

from gpu_executors.sieve.settings import seed_blocks_from_env

BLOCKS = seed_blocks_from_env()
seed_blocks = dg.StaticPartitionsDefinition(BLOCKS.partition_keys())
