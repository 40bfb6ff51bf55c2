"""Checks on the sieve: coverage, survivors against the null, settings reached every block,
GPU survivors re-verified, the reverse pass really walks backward, a planted seed recovered."""

import dagster as dg
import polars as pl

from gpu_executors.prng.synth import read_truth
from gpu_executors.sieve.reference import reverse_pass_matches
from prng_assets import lineage
from prng_assets.artefact_keys import POOL_TABLE, survivors_folder
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.sieve import survivor_pool
from prng_assets.loaders import (
    case_artefacts,
    latest_metadata,
    load_pool_stats,
    load_sieve_settings,
    load_train,
)
from prng_assets.partitions import BLOCKS
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=survivor_pool, description="Every seed block was scanned.")
def all_seed_blocks_scanned(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    stats = load_pool_stats(artefacts)
    return dg.AssetCheckResult(
        passed=stats.partitions_missing == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"partitions_expected": stats.partitions_expected,
                  "partitions_covered": stats.partitions_covered,
                  "partitions_missing": stats.partitions_missing},
    )


@dg.asset_check(asset=survivor_pool,
                description="Survivors exceed the null expectation (warns when they do not).")
def survivors_beat_null(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    stats = load_pool_stats(artefacts)
    verdict = ("excess over the null" if stats.significant
               else "no excess over the null: not a finding")
    return dg.AssetCheckResult(
        passed=stats.significant,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"survivors": stats.survivors, "null_expected": stats.null_expected,
                  "p_value": stats.p_value, "tier_p_value": stats.tier_p_value,
                  "best_tier": dg.MetadataValue.json(stats.best_tier or {}),
                  "verdict": verdict},
    )


@dg.asset_check(asset=survivor_pool,
                description="Every block was scanned with the settings sieve_settings holds.")
def settings_reached_sieve(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_sieve_settings(artefacts)
    chosen = record.settings.to_dict()
    folder = survivors_folder(lineage.current(artefacts).scan_digest)
    used = [artefacts.read_json(*folder, name)["settings"]
            for name in artefacts.names(*folder, pattern="*.json")]
    mismatched = [u for u in used if u != chosen]
    lost = [k for k, v in record.best_params.items() if chosen.get(k) != v]
    return dg.AssetCheckResult(
        passed=bool(used) and not mismatched and not lost,
        metadata={"blocks_checked": len(used), "blocks_with_other_settings": len(mismatched),
                  "searched_params_lost": ", ".join(lost) or "none"},
    )


@dg.asset_check(asset=survivor_pool,
                description="Survivors found on a GPU were re-verified on the CPU.")
def gpu_survivors_reverified(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    stats = load_pool_stats(artefacts)
    return dg.AssetCheckResult(
        passed=stats.gpu_false_positives == 0 and stats.gpu_unverified == 0,
        metadata={"backends": ", ".join(stats.backends) or "none",
                  "gpu_false_positives": stats.gpu_false_positives,
                  "gpu_blocks_unverified": stats.gpu_unverified},
    )


@dg.asset_check(asset=survivor_pool,
                description="State scans: the reverse pass walks backward, unlike the forward.")
def reverse_pass_is_backward(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    settings = load_sieve_settings(artefacts).settings
    if settings.mode != "state":
        return dg.AssetCheckResult(passed=True, metadata={"applies": "no (seed scan)"})
    pool = artefacts.read_parquet(*POOL_TABLE).head(50)
    spec = settings.scan_spec(load_train(artefacts), 0, 1 << 64)
    wrong = 0
    same_as_forward = 0
    for row in pool.iter_rows(named=True):
        rev = reverse_pass_matches(spec, int(row["seed"]), int(row["gap"]))
        wrong += rev != row["reverse_matches"]
        same_as_forward += row["reverse_matches"] == row["forward_matches"]
    return dg.AssetCheckResult(
        passed=wrong == 0 and not (pool.height > 1 and same_as_forward == pool.height
                                   and settings.anchor * 2 != settings.window),
        metadata={"checked": pool.height, "recomputed_mismatches": wrong,
                  "reverse_equal_to_forward": same_as_forward},
    )


@dg.asset_check(asset=survivor_pool,
                description="A synthetic history's planted candidate is in the pool.")
def truth_recovered(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    meta = latest_metadata(context.instance, draw_history.key, context.partition_key)
    truth = read_truth(meta["source_path"])
    if truth is None or truth.kind != "planted":
        return dg.AssetCheckResult(passed=True, metadata={"applies": "no truth sidecar"})
    settings = load_sieve_settings(artefacts).settings
    if settings.mode == "state":
        return dg.AssetCheckResult(passed=True,
                                   metadata={"applies": "no (state scan: candidates are states)"})
    pool = artefacts.read_parquet(*POOL_TABLE)
    hit = pool.filter(pl.col("seed") == truth.seed)
    gap = truth.gaps[0] if truth.gaps and len(set(truth.gaps)) == 1 else -1
    found = hit.filter((pl.col("offset") == truth.offset) & (pl.col("gap") == gap)).height > 0
    in_scope = (settings.generator == truth.generator and settings.draw == truth.draw
                and BLOCKS.start <= truth.seed < BLOCKS.start + (1 << BLOCKS.space_bits))
    return dg.AssetCheckResult(
        passed=found or not in_scope,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"planted_seed": truth.seed, "planted_offset": truth.offset,
                  "planted_gap": gap, "found": found, "in_scanned_scope": in_scope},
    )
