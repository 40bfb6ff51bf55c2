"""Step 1: the window optimiser, the seed-block partitioned sieve, and the survivor pool.

Partitions cut the seed space into blocks (``SEEDSIEVE_SPACE_BITS`` / ``SEEDSIEVE_BLOCK_BITS``,
fixed when the code location loads), so a full scan is a backfill: resumable, spread by the
instance's executor and launcher, and visible as coverage in the UI. The generator and draw
function are config of ``sieve_settings`` rather than a second partition dimension: seed widths
differ per generator, and one settings digest names one consistent scan of every block.
"""

import json
import time
from typing import Literal

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field, model_validator

from gpu_executors.prng.synth import read_truth
from gpu_executors.sieve.reference import reverse_pass_matches
from gpu_executors.sieve.settings import (
    SEARCHED,
    SearchBounds,
    SieveSettings,
    merge_pool,
    pool_stats,
    scan_blocks,
    seed_blocks_from_env,
    suggest_settings,
    tier_nulls,
)
from prng_assets.assets.ingest import DRAWS_TABLE, draw_history, latest_metadata
from prng_assets.plots import figure_metadata
from resources.artefacts import ArtefactStore
from resources.compute import ComputeResource
from resources.optuna_storage import OptunaStorage

BLOCKS = seed_blocks_from_env()
# Downstream of the sensor's run: follow updates, but never past a failed blocking check.
AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
seed_blocks = dg.StaticPartitionsDefinition(BLOCKS.partition_keys())
SETTINGS_FILE = ("sieve_settings", "settings.json")
POOL_TABLE = ("survivor_pool", "pool.parquet")
POOL_STATS = ("survivor_pool", "stats.json")


class SieveSettingsConfig(dg.Config):
    """What to scan and how strictly; ``search`` lets Optuna choose within the bounds."""

    generator: str = Field(default="java_lcg", description="Generator name (see README).")
    draw: str = Field(default="mod:1000", description="Draw function NAME[:PARAM...].")
    mode: Literal["seed", "state"] = "seed"
    seed_start: int = Field(default=0, description="Scan only seeds >= this.")
    seed_stop: int = Field(default=2**64, description="Scan only seeds < this.")
    search: bool = Field(default=True, description="False: use the settings below as given.")
    window: int = 8
    offset_min: int = 0
    offset_max: int = 0
    gap_min: int = 0
    gap_max: int = 0
    variable_gap: bool = False
    max_misses: int = 0
    anchor: int = 0
    window_bounds: list[int] = Field(default_factory=lambda: [6, 16])
    offset_bounds: list[int] = Field(default_factory=lambda: [0, 8])
    gap_bounds: list[int] = Field(default_factory=lambda: [0, 4])
    max_misses_bounds: list[int] = Field(default_factory=lambda: [0, 1])
    anchor_bounds: list[int] = Field(default_factory=lambda: [0, 0])
    n_trials: int = Field(default=16, description="Optuna trials (a resumed study tops up).")
    sample_blocks: int = Field(default=0, description="Seed blocks per trial; 0 = all blocks.")
    study_name: str | None = Field(default=None, description="Resume this study by name.")
    sampler_seed: int = 0

    def settings(self) -> SieveSettings:
        return SieveSettings(
            generator=self.generator, draw=self.draw, mode=self.mode, window=self.window,
            offset_min=self.offset_min, offset_max=self.offset_max, gap_min=self.gap_min,
            gap_max=self.gap_max, variable_gap=self.variable_gap, max_misses=self.max_misses,
            anchor=self.anchor, seed_start=self.seed_start, seed_stop=self.seed_stop,
        )

    def bounds(self) -> SearchBounds:
        pairs = {"window": self.window_bounds, "offset": self.offset_bounds,
                 "gap": self.gap_bounds, "max_misses": self.max_misses_bounds,
                 "anchor": self.anchor_bounds}
        for name, pair in pairs.items():
            if len(pair) != 2:
                raise ValueError(f"{name}_bounds must be [lo, hi], got {pair}")
        return SearchBounds(**{k: (v[0], v[1]) for k, v in pairs.items()})

    @model_validator(mode="after")
    def _check(self) -> "SieveSettingsConfig":
        self.settings().validate()
        self.bounds().validate()
        if self.n_trials < 1 or self.sample_blocks < 0:
            raise ValueError("n_trials must be >= 1 and sample_blocks >= 0")
        return self


def _train(artefacts: ArtefactStore) -> np.ndarray:
    table = artefacts.read_parquet(*DRAWS_TABLE)
    return table.filter(pl.col("split") == "train")["value"].to_numpy()


def _evidence_plot(trials: list[dict]) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.plot([t["number"] for t in trials], [t["evidence"] for t in trials], "o-", color="#4b7bec")
    ax.set_xlabel("trial")
    ax.set_ylabel("evidence (-log10 p)")
    ax.set_title("window optimiser: survivors against the null")
    return figure_metadata(fig)


@dg.asset(group_name="step1_sieve", deps=[draw_history], kinds={"optuna"})
def sieve_settings(
    context: dg.AssetExecutionContext,
    config: SieveSettingsConfig,
    artefacts: ArtefactStore,
    compute: ComputeResource,
    optuna_storage: OptunaStorage,
) -> dg.MaterializeResult:
    """The sieve settings: searched by Optuna on sample blocks, or given directly."""
    train = _train(artefacts)
    base = config.settings()
    bounds = config.bounds()
    try:
        base.validate(len(train))
        if config.search and bounds.window[1] > len(train):
            raise ValueError(f"window bound {bounds.window[1]} is longer than the train split "
                             f"({len(train)} draws)")
    except ValueError as exc:
        raise dg.Failure(description=f"sieve_settings: {exc}") from exc
    draws_meta = latest_metadata(context.instance, draw_history.key)
    record: dict = {"searched": config.search, "sampler_seed": config.sampler_seed,
                    "draws_sha256": draws_meta["source_sha256"], "seed_blocks": BLOCKS.describe()}
    trials: list[dict] = []
    if not config.search:
        settings = base
    else:
        rng = np.random.default_rng(config.sampler_seed)
        keys = BLOCKS.partition_keys()
        if config.sample_blocks and config.sample_blocks < len(keys):
            keys = sorted(rng.choice(keys, size=config.sample_blocks, replace=False).tolist())
        ranges = [BLOCKS.seed_range(k) for k in keys]
        name = config.study_name or f"sieve_settings-{context.run.run_id}"
        study = optuna_storage.study(name, "maximize", config.sampler_seed)
        done = len([t for t in study.trials if t.state.name == "COMPLETE"])
        t0 = time.perf_counter()

        def objective(trial) -> float:
            settings = suggest_settings(trial, base, bounds)
            stats = scan_blocks(settings, train, ranges, compute.scan)
            trial.set_user_attr("settings", settings.to_dict())
            for k, v in stats.items():
                trial.set_user_attr(k, v)
            context.log.info(
                f"trial {trial.number}: evidence {stats['evidence']:.2f} "
                f"({stats['survivors']} survivors vs {stats['null_expected']:.3g} expected) "
                f"{ {k: trial.params[k] for k in SEARCHED} } "
                f"[{time.perf_counter() - t0:.1f} s]"
            )
            return stats["evidence"]

        study.optimize(objective, n_trials=max(0, config.n_trials - done))
        complete = [t for t in study.trials if t.state.name == "COMPLETE"]
        # Ties (e.g. no survivors anywhere) go to the strictest settings: the fewest expected
        # false survivors.
        best = max(complete, key=lambda t: (t.value, -t.user_attrs["null_expected"]))
        settings = SieveSettings(**best.user_attrs["settings"])
        trials = [{"number": t.number, "evidence": t.value, "params": t.params,
                   "survivors": t.user_attrs["survivors"]} for t in complete]
        record.update(study_name=name, trials_requested=config.n_trials,
                      trials_completed=len(complete), best_trial=best.number,
                      best_evidence=best.value, best_params=best.params,
                      sample_blocks=keys, trials=trials)
    record.update(settings=settings.to_dict(), digest=settings.digest())
    artefacts.write_json(record, *SETTINGS_FILE)
    meta: dict = {
        "digest": settings.digest(),
        "settings": dg.MetadataValue.json(settings.to_dict()),
        "searched": config.search,
        "sampler_seed": config.sampler_seed,
        "seed_blocks": BLOCKS.describe(),
        "draws_sha256": draws_meta["source_sha256"],
    }
    if trials:
        meta.update(study_name=record["study_name"], trials_requested=config.n_trials,
                    trials_completed=record["trials_completed"],
                    best_evidence=record["best_evidence"], trial_evidence=_evidence_plot(trials))
    return dg.MaterializeResult(metadata=meta)


def _read_settings(artefacts: ArtefactStore) -> tuple[SieveSettings, dict]:
    record = artefacts.read_json(*SETTINGS_FILE)
    return SieveSettings(**record["settings"]), record


@dg.asset(
    group_name="step1_sieve",
    partitions_def=seed_blocks,
    deps=[sieve_settings, draw_history],
    kinds={"numba", "triton"},
    pool="sieve",
    automation_condition=AUTOMATION,
)
def survivors(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore, compute: ComputeResource
) -> dg.MaterializeResult:
    """Candidates of one seed block consistent with the train window."""
    settings, _record = _read_settings(artefacts)
    key = context.partition_key
    lo, hi = BLOCKS.seed_range(key)
    spec = settings.scan_spec(_train(artefacts), lo, hi)
    last = [0.0]

    def progress(done: int, total: int, found: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            context.log.info(f"block {key}: {done:,}/{total:,} candidates, {found} survivors")

    if spec is None:
        table = merge_pool([])
        stats = {"candidates_scanned": 0, "null_expected": 0.0, "seconds": 0.0,
                 "backend": "none (block outside the seed range)", "survivors": 0}
    else:
        result = compute.scan(spec, progress=progress)
        table = result.survivors.with_columns(pl.lit(key).alias("block"))
        stats = result.stats()
    stats.update(block=key, seed_range=[lo, hi], settings=settings.to_dict(),
                 digest=settings.digest())
    artefacts.write_parquet(table, "survivors", settings.digest(), f"{key}.parquet")
    artefacts.write_json(stats, "survivors", settings.digest(), f"{key}.json")
    return dg.MaterializeResult(
        metadata={
            "survivors": table.height,
            "null_expected": stats["null_expected"],
            "candidates_scanned": stats["candidates_scanned"],
            "seeds_per_second": float(stats.get("candidates_per_second", 0.0)),
            "device": stats["backend"],
            "seconds": stats["seconds"],
            "seed_range": f"[{lo:#x}, {hi:#x})",
            "settings_digest": settings.digest(),
        }
    )


def _pool_plot(pool: pl.DataFrame, stats: dict) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    if pool.height:
        ax.hist(pool["match_rate"].to_numpy(), bins=20, range=(0, 1), color="#4b7bec",
                label=f"{pool.height} survivors")
    ax.axhline(stats["null_expected"], color="black", linestyle="--", linewidth=1,
               label=f"null: {stats['null_expected']:.3g} expected in all")
    ax.set_xlabel("match rate")
    ax.set_ylabel("survivors")
    ax.set_title(f"survivor pool, p = {stats['p_value']:.3g}")
    ax.legend(loc="upper left")
    return figure_metadata(fig)


@dg.asset(
    group_name="step1_sieve",
    deps=[survivors],
    kinds={"polars", "parquet"},
    automation_condition=AUTOMATION,
)
def survivor_pool(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Every scanned block's survivors, one row per candidate, against the null."""
    settings, _record = _read_settings(artefacts)
    folder = artefacts.path("survivors", settings.digest())
    block_stats, frames = [], []
    for key in BLOCKS.partition_keys():
        if (folder / f"{key}.json").exists():
            block_stats.append(json.loads((folder / f"{key}.json").read_text()))
            frames.append(pl.read_parquet(folder / f"{key}.parquet"))
    pool = merge_pool(frames)
    candidates = sum(s["candidates_scanned"] for s in block_stats)
    tiers = tier_nulls(settings, _train(artefacts), candidates) if candidates else {}
    stats = pool_stats(pool, block_stats, BLOCKS.count, tiers)
    stats.update(digest=settings.digest(), settings=settings.to_dict(),
                 backends=sorted({s["backend"] for s in block_stats}),
                 gpu_false_positives=sum(s.get("gpu_false_positives", 0) for s in block_stats),
                 gpu_unverified=sum(1 for s in block_stats
                                    if s["backend"].startswith("triton")
                                    and not s.get("reverified_on_cpu")))
    artefacts.write_parquet(pool, *POOL_TABLE)
    artefacts.write_json(stats, *POOL_STATS)
    top = pool.head(5).select(["seed", "offset", "gap", "matches"]).to_dicts()
    if not stats["significant"]:
        context.log.warning(f"{pool.height} survivors against {stats['null_expected']:.3g} "
                            f"expected: not distinguishable from chance")
    return dg.MaterializeResult(
        metadata={
            **{k: stats[k] for k in ("survivors", "candidates_scanned", "partitions_expected",
                                     "partitions_covered", "partitions_missing",
                                     "null_expected", "excess_over_null", "p_value",
                                     "tier_p_value", "significant")},
            "best_tier": dg.MetadataValue.json(stats["best_tier"] or {}),
            "settings_digest": settings.digest(),
            "top_candidates": dg.MetadataValue.json(top),
            "match_rate_vs_null": _pool_plot(pool, stats),
        }
    )


@dg.asset_check(asset=survivor_pool, description="Every seed block was scanned.")
def all_seed_blocks_scanned(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    stats = artefacts.read_json(*POOL_STATS)
    return dg.AssetCheckResult(
        passed=stats["partitions_missing"] == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={k: stats[k] for k in ("partitions_expected", "partitions_covered",
                                        "partitions_missing")},
    )


@dg.asset_check(asset=survivor_pool,
                description="Survivors exceed the null expectation (warns when they do not).")
def survivors_beat_null(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    stats = artefacts.read_json(*POOL_STATS)
    verdict = ("excess over the null" if stats["significant"]
               else "no excess over the null: not a finding")
    return dg.AssetCheckResult(
        passed=stats["significant"],
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"survivors": stats["survivors"], "null_expected": stats["null_expected"],
                  "p_value": stats["p_value"], "tier_p_value": stats["tier_p_value"],
                  "best_tier": dg.MetadataValue.json(stats["best_tier"] or {}),
                  "verdict": verdict},
    )


@dg.asset_check(asset=survivor_pool,
                description="Every block was scanned with the settings sieve_settings holds.")
def settings_reached_sieve(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    settings, record = _read_settings(artefacts)
    folder = artefacts.path("survivors", settings.digest())
    used = [json.loads(p.read_text())["settings"] for p in sorted(folder.glob("*.json"))]
    mismatched = [u for u in used if u != settings.to_dict()]
    searched = record.get("best_params", {})
    lost = [k for k, v in searched.items() if settings.to_dict().get(k) != v]
    return dg.AssetCheckResult(
        passed=bool(used) and not mismatched and not lost,
        metadata={"blocks_checked": len(used), "blocks_with_other_settings": len(mismatched),
                  "searched_params_lost": ", ".join(lost) or "none"},
    )


@dg.asset_check(asset=survivor_pool,
                description="Survivors found on a GPU were re-verified on the CPU.")
def gpu_survivors_reverified(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    stats = artefacts.read_json(*POOL_STATS)
    return dg.AssetCheckResult(
        passed=stats["gpu_false_positives"] == 0 and stats["gpu_unverified"] == 0,
        metadata={"backends": ", ".join(stats["backends"]) or "none",
                  "gpu_false_positives": stats["gpu_false_positives"],
                  "gpu_blocks_unverified": stats["gpu_unverified"]},
    )


@dg.asset_check(asset=survivor_pool,
                description="State scans: the reverse pass walks backward, unlike the forward.")
def reverse_pass_is_backward(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    settings, _record = _read_settings(artefacts)
    if settings.mode != "state":
        return dg.AssetCheckResult(passed=True, metadata={"applies": "no (seed scan)"})
    pool = artefacts.read_parquet(*POOL_TABLE).head(50)
    train = _train(artefacts)
    spec = settings.scan_spec(train, 0, 1 << 64)
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
def truth_recovered(context: dg.AssetCheckExecutionContext, artefacts: ArtefactStore):
    meta = latest_metadata(context.instance, draw_history.key)
    truth = read_truth(meta["source_path"])
    if truth is None or truth.kind != "planted":
        return dg.AssetCheckResult(passed=True, metadata={"applies": "no truth sidecar"})
    settings, _record = _read_settings(artefacts)
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


SIEVE_CHECKS = [all_seed_blocks_scanned, survivors_beat_null, settings_reached_sieve,
                gpu_survivors_reverified, reverse_pass_is_backward, truth_recovered]
