"""Checks on the sieve: coverage, survivors against the null, settings reached every block,
GPU survivors re-verified, the reverse pass really walks backward, a planted seed recovered, the
pool recomputed by the reference scan, the settings recorded as the run config asked.

Every ERROR check is blocking: automation never ranks a pool (or scans with settings) that
failed one (``all_deps_blocking_checks_passed``)."""

import dagster as dg
import polars as pl

from gpu_executors.linear.replay import replay_draws
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.synth import read_truth
from gpu_executors.sieve.reference import reverse_pass_matches
from prng_assets import lineage
from prng_assets.artefact_keys import (
    LINEAR_STATE,
    POOL_TABLE,
    block_stats,
    block_table,
    lineage_stamp,
    survivors_folder,
)
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.sieve import SieveSettingsConfig, sieve_settings, survivor_pool
from prng_assets.checks.requested import config_defaults, requested_config
from prng_assets.checks.sieve_recompute import (
    SHOWN,
    recompute_linear,
    recompute_pool,
    settings_differences,
)
from prng_assets.lineage import SIEVE_SETTINGS_FOLDER
from prng_assets.loaders import (
    case_artefacts,
    latest_metadata,
    load_history,
    load_pool_stats,
    load_sieve_settings,
    load_train,
)
from prng_assets.partitions import BLOCKS
from resources.artefacts import ArtefactStore


@dg.asset_check(asset=survivor_pool, blocking=True,
                description="Every seed block was scanned under the case's current history and "
                            "settings: counted from the block files under the current scan "
                            "digest, which the pool's stats must repeat.")
def all_seed_blocks_scanned(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    stats = load_pool_stats(artefacts)
    digest = lineage.current(artefacts).scan_digest
    missing = [k for k in BLOCKS.partition_keys() if not artefacts.exists(*block_stats(digest, k))]
    agrees = (stats.partitions_expected == BLOCKS.count
              and stats.partitions_missing == len(missing))
    linear = load_sieve_settings(artefacts).settings.mode == "linear"
    return dg.AssetCheckResult(
        # linear mode scans no seed: a missing block record loses nothing, but the pool's
        # figures must still say how many there were
        passed=(linear or not missing) and agrees,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"applies": ("not applicable: linear mode (survivor_pool solves the state; "
                              "no seed block is scanned, each block run records none)"
                              if linear else "yes (seed and state scans)"),
                  "partitions_expected": BLOCKS.count,
                  "partitions_covered": BLOCKS.count - len(missing),
                  "partitions_missing": len(missing),
                  "missing": ", ".join(missing[:SHOWN]) or "none",
                  "recorded_missing": stats.partitions_missing, "stats_agree": agrees},
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


@dg.asset_check(asset=survivor_pool, blocking=True,
                description="Every block was scanned with the settings sieve_settings holds.")
def settings_reached_sieve(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    record = load_sieve_settings(artefacts)
    if record.settings.mode == "linear":
        return _linear_settings_reached(artefacts, record.settings)
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


@dg.asset_check(asset=survivor_pool, blocking=True,
                description="Survivors found on a GPU were re-verified on the CPU.")
def gpu_survivors_reverified(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    stats = load_pool_stats(artefacts)
    linear = load_sieve_settings(artefacts).settings.mode == "linear"
    return dg.AssetCheckResult(
        passed=stats.gpu_false_positives == 0 and stats.gpu_unverified == 0,
        metadata={"applies": ("not applicable: linear mode (the state is solved on the CPU, "
                              "no survivor comes from a GPU)" if linear else "yes"),
                  "backends": ", ".join(stats.backends) or "none",
                  "gpu_false_positives": stats.gpu_false_positives,
                  "gpu_blocks_unverified": stats.gpu_unverified},
    )


@dg.asset_check(asset=survivor_pool, blocking=True,
                description="State scans: the reverse pass walks backward, unlike the forward.")
def reverse_pass_is_backward(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    artefacts = case_artefacts(context, artefacts)
    settings = load_sieve_settings(artefacts).settings
    if settings.mode == "linear":
        return dg.AssetCheckResult(passed=True, metadata={"applies": (
            "no (linear mode: the state is solved, there is no reverse pass; "
            "pool_survivors_recomputed re-runs the solve)")})
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


@dg.asset_check(asset=survivor_pool, blocking=True,
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
    if settings.mode == "linear":
        return _linear_truth(artefacts, settings, pool, truth)
    hit = pool.filter(pl.col("seed") == truth.seed)
    gap = truth.gaps[0] if truth.gaps and len(set(truth.gaps)) == 1 else -1
    # a constant planted gap is also found as a variable-gap row (gap modes variable, both)
    found = hit.filter((pl.col("offset") == truth.offset)
                       & ((pl.col("gap") == gap) | (pl.col("gap") == -1))).height > 0
    # The scanned scope is the seed blocks cut to the settings' seed range; the rest of the
    # settings (window, offsets, gaps) decide strictness, and missing the truth by them fails.
    in_scope = (settings.generator == truth.generator and settings.draw == truth.draw
                and BLOCKS.start <= truth.seed < BLOCKS.start + (1 << BLOCKS.space_bits)
                and settings.seed_start <= truth.seed < settings.seed_stop)
    return dg.AssetCheckResult(
        passed=found or not in_scope,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"planted_seed": truth.seed, "planted_offset": truth.offset,
                  "planted_gap": gap, "found": found, "in_scanned_scope": in_scope},
    )


@dg.asset_check(asset=survivor_pool, blocking=True,
                description="A sample of seeds rescanned by the reference scan from the stored "
                            "draws and settings: pool survivors as stored, other seeds none.")
def pool_survivors_recomputed(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    """The pool file against what the settings and draws give, whatever wrote it (the scan
    kernels, the merge, a later hand): the plain Python reference decides."""
    artefacts = case_artefacts(context, artefacts)
    settings = load_sieve_settings(artefacts).settings
    if settings.mode == "linear":
        return _linear_recomputed(artefacts, settings)
    digest = lineage.current(artefacts).scan_digest
    scanned = [k for k in BLOCKS.partition_keys() if artefacts.exists(*block_stats(digest, k))]
    tables = {k: artefacts.read_parquet(*block_table(digest, k)) for k in scanned
              if artefacts.exists(*block_table(digest, k))}
    # A block's table must hold the survivors its stats counted (the stats are written with it).
    short = sorted(k for k in scanned if k not in tables or tables[k].height
                   != artefacts.read_json(*block_stats(digest, k)).get("survivors", 0))
    pool = artefacts.read_parquet(*POOL_TABLE)
    found = recompute_pool(settings, load_train(artefacts), BLOCKS, tables, pool)
    return dg.AssetCheckResult(
        passed=not found.mismatches and not short,
        metadata={"pool_rows": found.pool_rows, "pool_seeds": found.pool_seeds,
                  "pool_seeds_recomputed": found.pool_seeds_recomputed,
                  "other_seeds_recomputed": found.outside_recomputed,
                  "block_survivors_not_in_pool": found.listed_by_blocks_not_in_pool,
                  "capped_by_cost": found.capped_by_cost,
                  "reference_draws_per_seed": found.draws_per_seed,
                  "mismatches": len(found.mismatches),
                  "mismatched": dg.MetadataValue.json(found.mismatches[:SHOWN]),
                  "blocks_disagreeing_with_their_stats": ", ".join(short) or "none"},
    )


@dg.asset_check(asset=sieve_settings, blocking=True,
                description="The recorded settings are what the run config asked for (within "
                            "the bounds when searched).")
def sieve_settings_as_requested(
    context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore
) -> dg.AssetCheckResult:
    """A value the run config set that never reached ``settings.json`` (or was altered there)
    would scan every block with settings nobody asked for; the record alone cannot tell."""
    artefacts = case_artefacts(context, artefacts)
    run_id, requested = requested_config(context, sieve_settings)
    record = load_sieve_settings(artefacts)
    compared, differing = settings_differences(requested, config_defaults(SieveSettingsConfig),
                                             record.settings)
    stamp = artefacts.read_json(*lineage_stamp(SIEVE_SETTINGS_FOLDER))["settings"]
    lost = {k: v for k, v in record.best_params.items() if record.settings.to_dict()[k] != v}
    return dg.AssetCheckResult(
        passed=not differing and stamp == record.digest and not lost,
        metadata={"run_id": run_id, "searched": bool(requested.get("search", True)),
                  "set_by_run_config": ", ".join(sorted(k for k in requested if k in compared))
                  or "none",
                  "differing": ", ".join(sorted(differing)) or "none",
                  "differences": dg.MetadataValue.json(differing),
                  "searched_params_lost": ", ".join(sorted(lost)) or "none",
                  "lineage_stamp_agrees": stamp == record.digest},
    )


def _linear_settings_reached(artefacts: ArtefactStore, settings) -> dg.AssetCheckResult:
    """Linear mode: the solve's record names the generator, draw and window sieve_settings
    holds (no block is scanned, so no block's settings can carry them)."""
    solved = artefacts.read_json(*LINEAR_STATE) if artefacts.exists(*LINEAR_STATE) else {}
    wanted = {"generator": settings.generator, "draw": settings.draw, "window": settings.window}
    differing = sorted(k for k, v in wanted.items() if solved.get(k) != v)
    return dg.AssetCheckResult(
        passed=bool(solved) and not differing,
        metadata={"applies": "linear mode: survivor_pool/linear.json against sieve_settings "
                             "(no seed block is scanned)",
                  "linear_record_found": bool(solved),
                  "differing": ", ".join(differing) or "none"})


def _linear_recomputed(artefacts: ArtefactStore, settings) -> dg.AssetCheckResult:
    """Linear mode: the solve re-run from the stored window draws, the pool replayed."""
    found = recompute_linear(settings, load_train(artefacts),
                             artefacts.read_parquet(*POOL_TABLE))
    return dg.AssetCheckResult(
        passed=not found.mismatches,
        metadata={"applies": "linear mode: the solve re-run from draws.parquet and "
                             "settings.json, every pool state replayed on the train draws",
                  "pool_rows": found.pool_rows, "solve_recovered_a_state": found.solved,
                  "linear_state_resolved": found.state_resolved,
                  "train_draws_replayed": found.train_draws_replayed,
                  "mismatches": len(found.mismatches),
                  "mismatched": dg.MetadataValue.json(found.mismatches[:SHOWN])})


TRUTH_AHEAD = 20  # draws past the history a planted state must also give


def _linear_truth(artefacts: ArtefactStore, settings, pool: pl.DataFrame,
                  truth) -> dg.AssetCheckResult:
    """Linear mode: a pool state must give the planted generator's draws, the history's and
    the next ``TRUTH_AHEAD``, from the draw it stands at."""
    n = load_history(artefacts).values.shape[0] + TRUTH_AHEAD
    in_scope = settings.generator == truth.generator and settings.draw == truth.draw
    found = False
    if in_scope and len(set(truth.gaps or [0])) == 1:
        planted = generate_draws(get_generator(truth.generator), parse_draw(truth.draw),
                                 truth.seed, n, truth.offset, (truth.gaps or [0])[0])
        for row in pool.iter_rows(named=True):
            first = int(row["state_draw"])
            got = replay_draws(settings.generator, settings.draw, int(row["state_model"]),
                               bytes(row["state"]), first, n)
            found = found or bool((got[first:] == planted[first:]).all())
    return dg.AssetCheckResult(
        passed=found or not in_scope, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"applies": "linear mode: each pool state replayed against the planted "
                             f"generator's draws and the {TRUTH_AHEAD} after the history",
                  "planted_seed": truth.seed, "found": found, "in_scanned_scope": in_scope})
