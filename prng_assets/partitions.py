"""Partitions: cases (one per draw file, added by the inbox sensor) and, within a case, the
scanned seed space cut into blocks.

Every asset is partitioned by case, so each draw file's artefacts, runs and checks stand apart and
the UI lists the cases. The seed scan is partitioned by case x seed block: a full scan is a
backfill, resumable, spread by the instance's executor and launcher, visible as coverage per case.
``SEEDSIEVE_SPACE_BITS`` / ``SEEDSIEVE_BLOCK_BITS`` size the blocks when the code loads (a case's
own seed range, ``seed_start`` / ``seed_stop``, leaves the blocks outside it empty in no time).
A backfill (the automation sensor emits one when a case's blocks are due) scans up to
``SEEDSIEVE_BLOCKS_PER_RUN`` blocks per run: a run's start-up (a process, the code location, the
kernels loaded) costs seconds, a default block of 2^18 seeds a fraction of one. The case is the
first dimension, so a run's range of keys never crosses into another case.
"""

import os
import re
import warnings

import dagster as dg

from gpu_executors.sieve.settings import seed_blocks_from_env

BLOCKS_PER_RUN_ENV = "SEEDSIEVE_BLOCKS_PER_RUN"
CASE = "case"
SEED_BLOCK = "seed_block"
DEMO_CASE = "demo"

BLOCKS = seed_blocks_from_env()
seed_blocks = dg.StaticPartitionsDefinition(BLOCKS.partition_keys())
cases = dg.DynamicPartitionsDefinition(name="cases")
case_blocks = dg.MultiPartitionsDefinition({CASE: cases, SEED_BLOCK: seed_blocks})

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def case_name(stem: str) -> str:
    """A case key from a draw file's name less its suffix: characters a partition key cannot
    hold (``|``, ``,``, brackets, spaces...) become ``_``."""
    name = _UNSAFE.sub("_", stem).strip("_")
    return name or "case"


def case_of(partition_key: str | dg.MultiPartitionKey) -> str:
    """The case of a case key or of a (case, seed block) key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        return partition_key.keys_by_dimension[CASE]
    return partition_key


def case_and_blocks(partition_keys: list[str]) -> tuple[str, list[str]]:
    """The case and the seed blocks of a scan run's keys (one case: the run's range is within
    it, since the case is the first dimension)."""
    keys = [k if isinstance(k, dg.MultiPartitionKey) else case_blocks.get_partition_key_from_str(k)
            for k in partition_keys]
    named = sorted({k.keys_by_dimension[CASE] for k in keys})
    if len(named) != 1:
        raise ValueError(f"a scan run covers one case, got {named}")
    return named[0], [k.keys_by_dimension[SEED_BLOCK] for k in keys]


def scan_keys(case: str, blocks: list[str] | None = None) -> list[dg.MultiPartitionKey]:
    """The (case, seed block) keys of a case: every block, or those named."""
    return [dg.MultiPartitionKey({CASE: case, SEED_BLOCK: b})
            for b in (blocks if blocks is not None else BLOCKS.partition_keys())]


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
