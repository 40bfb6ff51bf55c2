"""A case's jobs run in this process, in order: the demo and the tests drive the graph this way.

The same jobs the sensor and the automation launch; here the case is added by hand and the seed
scan is one run over the case's blocks (a partition range, as a backfill run carries).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from prng_assets.partitions import BLOCKS, cases, scan_keys

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def add_case(instance: dg.DagsterInstance, case: str) -> None:
    """Register the case's partition (what the inbox sensor does for a new file)."""
    if not instance.has_dynamic_partition(cases.name, case):
        instance.add_dynamic_partitions(cases.name, [case])


def head_config(path: Path | str, sieve: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ops config of the prepare job: the draw file and, optionally, the sieve's config."""
    ops: dict[str, Any] = {"draw_history": {"config": {"path": str(path)}}}
    if sieve is not None:
        ops["sieve_settings"] = {"config": dict(sieve)}
    return ops


def prepare(defs: dg.Definitions, instance: dg.DagsterInstance, case: str,
            ops: Mapping[str, Any], extra: Mapping[str, Any] | None = None,
            raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    add_case(instance, case)
    return defs.resolve_job_def("prepare").execute_in_process(
        run_config={"ops": dict(ops), **(extra or {})}, instance=instance, partition_key=case,
        raise_on_error=raise_on_error)


def scan(defs: dg.Definitions, instance: dg.DagsterInstance, case: str,
         blocks: list[str] | None = None, extra: Mapping[str, Any] | None = None,
         raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    """One run over a contiguous range of the case's seed blocks (default: all of them)."""
    every = BLOCKS.partition_keys()
    names = blocks if blocks is not None else every
    first = every.index(names[0])
    if names != every[first:first + len(names)]:
        raise ValueError(f"blocks {names} are not a contiguous range: one run scans a range")
    keys = scan_keys(case, names)
    return defs.resolve_job_def("scan_seed_blocks").execute_in_process(
        run_config=dict(extra or {}), instance=instance, raise_on_error=raise_on_error,
        tags={RANGE_START_TAG: str(keys[0]), RANGE_END_TAG: str(keys[-1])})


def pool(defs: dg.Definitions, instance: dg.DagsterInstance, case: str,
         extra: Mapping[str, Any] | None = None,
         raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("pool").execute_in_process(
        run_config=dict(extra or {}), instance=instance, partition_key=case,
        raise_on_error=raise_on_error)


def rank(defs: dg.Definitions, instance: dg.DagsterInstance, case: str,
         ops: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None,
         raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    """Scorer, features, the model families, their comparison and the predictions."""
    return defs.resolve_job_def("rank_and_predict").execute_in_process(
        run_config={"ops": dict(ops or {}), **(extra or {})}, instance=instance,
        partition_key=case, raise_on_error=raise_on_error)
