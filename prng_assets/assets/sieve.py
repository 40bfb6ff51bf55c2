"""The sieve: the window optimiser, the seed-block partitioned scan, and the survivor pool.

The generator and draw function are config of a case's ``sieve_settings`` rather than a partition
dimension (see ``partitions``): seed widths differ per generator, and one scan digest (the case's
history and settings) names one consistent scan of every block.
"""

import time
from dataclasses import asdict, replace
from typing import Literal

import dagster as dg
import numpy as np
import optuna
import polars as pl
from optuna.trial import TrialState
from pydantic import Field, model_validator

from gpu_executors.io.hashing import json_digest
from gpu_executors.linear.identity import candidate_identity
from gpu_executors.linear.registry import linear_only, linear_only_refusal
from gpu_executors.prng.draws import parse_draw
from gpu_executors.prng.generators import GENERATORS
from gpu_executors.prng.null_model import survivor_p_value
from gpu_executors.sieve.identify import (
    Identification,
    PairScan,
    candidate_pairs,
    draws_for_modulus,
    identify,
)
from gpu_executors.sieve.linear import solve_pool
from gpu_executors.sieve.records import PoolStats, SettingsSearch, SieveSettingsRecord
from gpu_executors.sieve.settings import (
    SearchBounds,
    SieveSettings,
    merge_pool,
    pool_stats,
    scan_blocks,
    suggest_settings,
    tier_nulls,
)
from gpu_executors.sieve.strategies import (
    ALL_STRATEGIES,
    GapMode,
    parse_mode,
    parse_strategies,
)
from prng_assets import lineage
from prng_assets.artefact_keys import (
    LINEAR_STATE,
    POOL_STATS,
    POOL_TABLE,
    SIEVE_SETTINGS,
    block_stats,
    block_table,
)
from prng_assets.assets.ingest import draw_history
from prng_assets.automation import AUTOMATION
from prng_assets.lineage import SIEVE_SETTINGS_FOLDER, Lineage
from prng_assets.loaders import (
    case_artefacts,
    load_draws_record,
    load_sieve_settings,
    load_train,
)
from prng_assets.partitions import BLOCKS, case_and_blocks, case_blocks, cases, scan_backfill_policy
from prng_assets.plots import figure_metadata
from prng_assets.run_tags import settings_metadata
from resources.artefacts import ArtefactStore
from resources.compute import SIEVE_POOL, ComputeResource
from resources.optuna_storage import OptunaStorage

_DEFAULT_BOUNDS = SearchBounds()
# Run config names the gap mode by its value (a Dagster enum would want the member's name); a
# test holds this to ``GapMode``. Lists of names are checked by ``parse_strategies`` /
# ``parse_mode`` (Dagster config has no list of literals).
GapModeName = Literal["constant", "variable", "both"]


class SieveSettingsConfig(dg.Config):
    """What to scan and how strictly; ``search`` lets Optuna choose within the bounds."""

    generator: str = Field(
        default="java_lcg",
        description="Generator name (see README), a comma-separated list, or auto (every one): "
        "each pair is tried on the sample blocks and the one that beats chance after a "
        "Bonferroni correction is scanned.",
    )
    draw: str = Field(
        default="mod:1000",
        description="Draw function NAME[:PARAM...], or auto: every draw function of the "
        "history's modulus (with a generator list or auto).",
    )
    mode: Literal["seed", "state", "linear"] = Field(
        default="seed",
        description="seed: scan seeds; state: scan states at the anchor draw; linear: solve "
        "the state from the first `window` train draws by linear algebra (mt19937 and its "
        "users, the xorshifts, v8_math_random, which no other mode takes; search: false), "
        "the rest of the train split held back to confirm it.")
    seed_start: int = Field(default=0, description="Scan only seeds >= this.")
    seed_stop: int = Field(default=2**64, description="Scan only seeds < this.")
    search: bool = Field(default=True, description="False: use the settings below as given.")
    window: int = 8
    offset_min: int = 0
    offset_max: int = 0
    gap_min: int = 0
    gap_max: int = 0
    gap_mode: GapModeName = Field(default="constant", description="constant: one gap per "
                                  "candidate; variable: each gap found by the strategies; "
                                  "both: the two scans together.")
    gap_strategies: list[str] = Field(
        default_factory=lambda: [s.value for s in ALL_STRATEGIES],
        description="Variable gaps: the strategies each candidate tries (the best is kept).")
    max_misses: int = 0
    anchor: int = 0
    window_bounds: list[int] = Field(default_factory=lambda: list(_DEFAULT_BOUNDS.window))
    offset_bounds: list[int] = Field(default_factory=lambda: list(_DEFAULT_BOUNDS.offset))
    gap_bounds: list[int] = Field(default_factory=lambda: list(_DEFAULT_BOUNDS.gap))
    max_misses_bounds: list[int] = Field(
        default_factory=lambda: list(_DEFAULT_BOUNDS.max_misses))
    anchor_bounds: list[int] = Field(default_factory=lambda: list(_DEFAULT_BOUNDS.anchor))
    gap_mode_choices: list[str] = Field(
        default_factory=lambda: [m.value for m in _DEFAULT_BOUNDS.gap_modes],
        description="The gap modes the search tries (a searched dimension; state scans: "
                    "constant only).")
    n_trials: int = Field(default=16, description="Optuna trials (a resumed study tops up).")
    sample_blocks: int = Field(default=0, description="Seed blocks per trial; 0 = all blocks.")
    study_name: str | None = Field(default=None, description="Resume this study by name.")
    warm_start: bool = Field(default=False, description="Enqueue the best settings of the "
                             "case's previous search as the first trial.")
    sampler_seed: int = 0

    @property
    def choosing(self) -> bool:
        """True when the pair is to be identified from the draws, not given."""
        return self.generator == "auto" or "," in self.generator or self.draw == "auto"

    def generators(self) -> list[str] | None:
        """The generators to choose among (None: every one)."""
        return None if self.generator == "auto" else self.generator.split(",")

    def settings(self) -> SieveSettings:
        return SieveSettings(
            generator=self.generator, draw=self.draw, mode=self.mode, window=self.window,
            offset_min=self.offset_min, offset_max=self.offset_max, gap_min=self.gap_min,
            gap_max=self.gap_max, gap_mode=GapMode(self.gap_mode), max_misses=self.max_misses,
            anchor=self.anchor, seed_start=self.seed_start, seed_stop=self.seed_stop,
            gap_strategies=parse_strategies(self.gap_strategies),
        )

    def bounds(self) -> SearchBounds:
        pairs = {"window": self.window_bounds, "offset": self.offset_bounds,
                 "gap": self.gap_bounds, "max_misses": self.max_misses_bounds,
                 "anchor": self.anchor_bounds}
        for name, pair in pairs.items():
            if len(pair) != 2:
                raise ValueError(f"{name}_bounds must be [lo, hi], got {pair}")
        return SearchBounds(**{k: (v[0], v[1]) for k, v in pairs.items()},
                            gap_modes=tuple(parse_mode(m) for m in self.gap_mode_choices))

    @model_validator(mode="after")
    def _check(self) -> "SieveSettingsConfig":
        if self.mode == "linear" and (self.search or self.choosing):
            raise ValueError("mode linear solves the state of one given generator and draw "
                             "function: set search = false, a generator and a draw (not auto "
                             "or a list), and window = the train draws to solve from")
        if self.choosing:
            only = [n for n in self.generators() or [] if linear_only(n)]
            if only:
                raise ValueError(linear_only_refusal(only[0], "a generator list"))
            unknown = [n for n in self.generators() or [] if n not in GENERATORS]
            if unknown:
                raise ValueError(f"unknown generator(s) {', '.join(unknown)}; valid: "
                                 f"{', '.join(GENERATORS)}, auto")
            if self.draw != "auto":
                parse_draw(self.draw)
            # the rest of the settings, checked with a stand-in pair
            replace(self.settings(), generator="java_lcg", draw="mod:1000").validate()
        else:
            self.settings().validate()
        self.bounds().validate()
        if self.n_trials < 1 or self.sample_blocks < 0:
            raise ValueError("n_trials must be >= 1 and sample_blocks >= 0")
        return self


def _sample_keys(config: SieveSettingsConfig) -> list[str]:
    """The seed blocks the optimiser and the pair identification scan (all, or a sample)."""
    keys = BLOCKS.partition_keys()
    if config.sample_blocks and config.sample_blocks < len(keys):
        rng = np.random.default_rng(config.sampler_seed)
        keys = sorted(rng.choice(keys, size=config.sample_blocks, replace=False).tolist())
    return keys


def _identify(
    context: dg.AssetExecutionContext,
    config: SieveSettingsConfig,
    base: SieveSettings,
    train: np.ndarray,
    ranges: list[tuple[int, int]],
    modulus: int,
    compute: ComputeResource,
) -> Identification:
    """Every candidate pair scanned on the sample blocks with the base settings, corrected."""
    draws = draws_for_modulus(modulus) if config.draw == "auto" else [config.draw]
    pairs = candidate_pairs(config.generators(), draws)
    if not pairs:
        raise dg.Failure(description=f"sieve_settings: no generator accepts {', '.join(draws)}")

    def scan(generator: str, draw: str) -> PairScan:
        settings = replace(base, generator=generator, draw=draw)
        try:
            settings.validate(len(train))
        except ValueError as exc:
            return PairScan(generator, draw, skipped=str(exc))
        stats = scan_blocks(settings, train, ranges, compute.scan)
        return PairScan(generator, draw, stats["survivors"], stats["null_expected"],
                        stats["candidates"])

    def log(found: PairScan) -> None:
        context.log.info(f"pair {found.generator} {found.draw}: " + (
            found.skipped or f"{found.survivors} survivors vs {found.null_expected:.3g} "
                             f"expected, p = {found.p_value:.3g}"))

    result = identify(pairs, scan, on_scan=log)
    context.log.info(f"identified: {result.verdict()}")
    return result


def _pairs_table(identification: Identification) -> str:
    rows = ["| pair | survivors | expected | p | corrected p |", "|---|---|---|---|---|"]
    for s in identification.ranked():
        if s.skipped:
            rows.append(f"| {s.generator} {s.draw} | skipped: {s.skipped} | | | |")
            continue
        rows.append(f"| {s.generator} {s.draw} | {s.survivors} | {s.null_expected:.3g} | "
                    f"{s.p_value:.3g} | {identification.p_adjusted(s):.3g} |")
    return "\n".join(rows)


def _evidence_plot(trials: list[dict]) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.plot([t["number"] for t in trials], [t["evidence"] for t in trials], "o-", color="#4b7bec")
    ax.set_xlabel("trial")
    ax.set_ylabel("evidence (-log10 p)")
    ax.set_title("window optimiser: survivors against the null")
    return figure_metadata(fig)


EMPTY_FORWARD_PASS = "forward pass empty: no survivor on the sample blocks"


def search_key(history_digest: str, base: SieveSettings, bounds: SearchBounds,
               blocks: list[str]) -> str:
    """What makes two trials comparable: the draws, the fixed settings, the bounds and the
    sample blocks. A resumed study's trials of another search neither count nor are chosen."""
    return json_digest({"history": history_digest, "base": base.to_dict(),
                        "bounds": asdict(bounds), "blocks": blocks})


def _trials_of(study, key: str) -> list:
    """The study's completed and pruned trials of the search ``key``."""
    return [t for t in study.get_trials(deepcopy=False,
                                        states=(TrialState.COMPLETE, TrialState.PRUNED))
            if t.user_attrs.get("search_key") == key]


def best_trial(trials: list):
    """The highest evidence; ties (e.g. nothing survived: every trial pruned, evidence 0) go to
    the strictest settings, the fewest expected false survivors."""
    return max(trials, key=lambda t: (t.value if t.value is not None else 0.0,
                                      -t.user_attrs["null_expected"]))


def _previous_best(artefacts: ArtefactStore, bounds: SearchBounds) -> dict | None:
    """The best parameters of the case's previous search, if it searched within ``bounds``."""
    if not artefacts.exists(*SIEVE_SETTINGS):
        return None
    best = load_sieve_settings(artefacts).best_params
    if not best:
        return None
    limits = {"window": bounds.window, "offset_max": bounds.offset, "gap_min": bounds.gap,
              "gap_max": (best.get("gap_min", 0), bounds.gap[1]),
              "max_misses": (bounds.max_misses[0], min(bounds.max_misses[1],
                                                       best.get("window", 1) - 1)),
              "anchor": bounds.anchor}
    modes = [m.value for m in bounds.gap_modes]
    inside = all(v in modes if k == "gap_mode"
                 else k in limits and limits[k][0] <= v <= limits[k][1]
                 for k, v in best.items())
    return best if inside else None


@dg.asset(group_name="sieve", deps=[draw_history], kinds={"optuna"}, partitions_def=cases)
def sieve_settings(
    context: dg.AssetExecutionContext,
    config: SieveSettingsConfig,
    artefacts: ArtefactStore,
    compute: ComputeResource,
    optuna_storage: OptunaStorage,
) -> dg.MaterializeResult:
    """The sieve settings: searched by Optuna on sample blocks, or given directly; the
    (generator, draw) pair identified from the draws first when it is not given."""
    artefacts = case_artefacts(context, artefacts)
    train = load_train(artefacts)
    base = config.settings()
    bounds = config.bounds()
    draws_meta = load_draws_record(artefacts)
    keys = _sample_keys(config)
    ranges = [BLOCKS.seed_range(k) for k in keys]
    identification: Identification | None = None
    if config.choosing:
        identification = _identify(context, config, base, train, ranges, draws_meta["modulus"],
                                   compute)
        chosen = (identification.identified or identification.ranked())[0]
        base = replace(base, generator=chosen.generator, draw=chosen.draw)
    try:
        base.validate(len(train))
        if config.search and bounds.window[1] > len(train):
            raise ValueError(f"window bound {bounds.window[1]} is longer than the train split "
                             f"({len(train)} draws)")
    except ValueError as exc:
        raise dg.Failure(description=f"sieve_settings: {exc}") from exc
    search: SettingsSearch | None = None
    if not config.search:
        settings = base
    else:
        name = config.study_name or f"sieve_settings-{context.partition_key}-{context.run.run_id}"
        study = optuna_storage.study(name, "maximize", config.sampler_seed)
        key = search_key(draws_meta["history_digest"], base, bounds, keys)
        previous = _previous_best(artefacts, bounds) if config.warm_start else None
        if previous and not _trials_of(study, key):
            study.enqueue_trial(previous, skip_if_exists=True)
        done = len(_trials_of(study, key))
        t0 = time.perf_counter()

        def objective(trial) -> float:
            settings = suggest_settings(trial, base, bounds)
            stats = scan_blocks(settings, train, ranges, compute.scan)
            trial.set_user_attr("search_key", key)
            trial.set_user_attr("settings", settings.to_dict())
            for k, v in stats.items():
                trial.set_user_attr(k, v)
            per_mode = ", ".join(f"{m} {f['survivors']} vs {f['null_expected']:.3g}"
                                 for m, f in stats["by_mode"].items())
            context.log.info(
                f"trial {trial.number}: evidence {stats['evidence']:.2f} "
                f"({stats['survivors']} survivors vs {stats['null_expected']:.3g} expected; "
                f"{per_mode}) "
                f"{trial.params} "
                f"[{time.perf_counter() - t0:.1f} s]"
            )
            if stats["survivors"] == 0:
                trial.set_user_attr("pruned_reason", EMPTY_FORWARD_PASS)
                raise optuna.TrialPruned(EMPTY_FORWARD_PASS)
            return stats["evidence"]

        study.optimize(objective, n_trials=max(0, config.n_trials - done))
        ran = _trials_of(study, key)
        complete = [t for t in ran if t.state == TrialState.COMPLETE]
        pruned = [t for t in ran if t.state == TrialState.PRUNED]
        if not ran:
            raise dg.Failure(description=f"sieve_settings: no trial of study {name!r} completed "
                                         "for this history, pair, bounds and sample blocks")
        best = best_trial(ran)
        settings = SieveSettings.from_dict(best.user_attrs["settings"])
        if not complete:
            context.log.warning("sieve_settings: nothing survived any trial: the choice of "
                                "settings is arbitrary (the strictest was kept); check the "
                                "generator and draw function")
        trials = [{"number": t.number, "evidence": t.value if t.value is not None else 0.0,
                   "params": t.params, "survivors": t.user_attrs["survivors"],
                   "state": t.state.name.lower()} for t in ran]
        search = SettingsSearch(study_name=name, trials_requested=config.n_trials,
                                trials_completed=len(complete), trials_pruned=len(pruned),
                                best_trial=best.number,
                                best_evidence=best.value if best.value is not None else 0.0,
                                best_params=best.params, sample_blocks=keys, trials=trials,
                                search_key=key, warm_started=previous is not None)
    record = SieveSettingsRecord(settings=settings, searched=config.search,
                                 sampler_seed=config.sampler_seed,
                                 draws_sha256=draws_meta["source_sha256"],
                                 seed_blocks=BLOCKS.describe(), search=search,
                                 identification=identification and identification.to_dict())
    artefacts.write_record(record, *SIEVE_SETTINGS)
    lineage.stamp(artefacts, SIEVE_SETTINGS_FOLDER,
                  Lineage(draws_meta["history_digest"], settings.digest()))
    meta: dict = {
        "digest": settings.digest(),
        "settings": dg.MetadataValue.json(settings.to_dict()),
        "searched": config.search,
        "sampler_seed": config.sampler_seed,
        "seed_blocks": BLOCKS.describe(),
        "draws_sha256": draws_meta["source_sha256"],
        "history_digest": draws_meta["history_digest"],
        **settings_metadata(context.run.tags),
    }
    if identification is not None:
        meta.update(identified=identification.verdict(),
                    pairs_tried=dg.MetadataValue.md(_pairs_table(identification)))
    if search is not None and search.trials:
        meta.update(study_name=search.study_name, trials_requested=config.n_trials,
                    trials_completed=search.trials_completed,
                    trials_pruned=search.trials_pruned, warm_started=search.warm_started,
                    best_evidence=search.best_evidence,
                    trial_evidence=_evidence_plot(search.trials))
    return dg.MaterializeResult(metadata=meta)


def survivors_asset(pool: str = SIEVE_POOL) -> dg.AssetsDefinition:
    """The survivors asset with its step in ``pool``: ``build_defs`` passes ``gpu`` when the
    scan runs on a GPU (``ComputeResource.scan_pool``), so GPU scans queue on the GPU pool."""

    @dg.asset(
        name="survivors",
        group_name="sieve",
        partitions_def=case_blocks,
        backfill_policy=scan_backfill_policy,
        deps=[sieve_settings, draw_history],
        kinds={"numba", "triton"},
        pool=pool,
        automation_condition=AUTOMATION,
    )
    def survivors(
        context: dg.AssetExecutionContext, artefacts: ArtefactStore, compute: ComputeResource
    ) -> dg.MaterializeResult:
        """Candidates of the run's seed blocks of a case (one, or a backfill's range) consistent
        with the train window; each block's survivors and figures are stored apart."""
        return _survivors(context, artefacts, compute, pool)

    return survivors


def _survivors(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore, compute: ComputeResource,
    pool: str,
) -> dg.MaterializeResult:
    try:
        case, names = case_and_blocks(context.partition_keys)
    except ValueError as exc:
        raise dg.Failure(description=f"survivors: {exc}", allow_retries=False) from exc
    artefacts = artefacts.case(case)
    now = lineage.current(artefacts)
    settings = load_sieve_settings(artefacts).settings
    train = load_train(artefacts)
    blocks = [_scan_block(context, name, settings, now, train, artefacts, compute)
              for name in names]
    total = sum(b["survivors"] for b in blocks)
    seconds = sum(b["seconds"] for b in blocks)
    candidates = sum(b["candidates_scanned"] for b in blocks)
    first = blocks[0]
    return dg.MaterializeResult(
        metadata={
            "survivors": total,
            "null_expected": sum(b["null_expected"] for b in blocks),
            "candidates_scanned": candidates,
            "seeds_per_second": candidates / seconds if seconds else 0.0,
            "device": first["device"].get("device_name", "none (block not scanned)"),
            "backend": first["backend"],
            "device_report": dg.MetadataValue.json(first["device"]),
            "cpu_routing": first["device"].get("cpu_routing")
            or "none (the GPU kernels cover this scan)",
            "pool": pool,
            "seconds": seconds,
            "seed_range": f"[{blocks[0]['seed_range'][0]:#x}, {blocks[-1]['seed_range'][1]:#x})",
            "blocks": len(blocks),
            "per_block": dg.MetadataValue.md(_blocks_table(blocks)),
            "settings_digest": settings.digest(),
            "history_digest": now.history,
            "scan_digest": now.scan_digest,
        }
    )


survivors = survivors_asset()


def _scan_block(
    context: dg.AssetExecutionContext,
    key: str,
    settings: SieveSettings,
    now: Lineage,
    train: np.ndarray,
    artefacts: ArtefactStore,
    compute: ComputeResource,
) -> dict:
    """Scan one block; its survivors and stats are written under the scan digest."""
    lo, hi = BLOCKS.seed_range(key)
    specs = settings.scan_specs(train, lo, hi)
    last = [0.0]

    def progress(done: int, total: int, found: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            context.log.info(f"block {key}: {done:,}/{total:,} candidates, {found} survivors")

    device: dict = {}
    if not specs:
        table = merge_pool([])
        why = ("linear mode: survivor_pool solves the state" if settings.mode == "linear"
               else "block outside the seed range")
        stats = {"candidates_scanned": 0, "null_expected": 0.0, "seconds": 0.0,
                 "backend": f"none ({why})", "survivors": 0}
    else:
        # gap mode "both": the constant and the variable scan, their rows and figures together
        results = [compute.scan(spec, progress=progress) for spec in specs]
        table = pl.concat([r.survivors for r in results]).with_columns(pl.lit(key).alias("block"))
        stats = _merged_stats([r.stats() for r in results])
        stats.update(
            survivors=table.height,
            candidates_scanned=sum(r.candidates_scanned for r in results),
            null_expected=sum(r.null_expected for r in results),
            seconds=sum(r.seconds for r in results),
            backend=" + ".join(dict.fromkeys(r.backend for r in results)),
            complete=all(r.complete for r in results),
            candidates_by_mode={("variable" if r.spec.variable_gap else "constant"):
                                r.candidates_scanned for r in results})
        stats["candidates_per_second"] = (stats["candidates_scanned"] / stats["seconds"]
                                          if stats["seconds"] else float("nan"))
        stats["p_value"] = survivor_p_value(table.height, stats["null_expected"])
        device = results[0].device.as_dict()
    stats.update(block=key, seed_range=[lo, hi], settings=settings.to_dict(),
                 digest=settings.digest(), lineage=now.to_dict())
    artefacts.write_parquet(table, *block_table(now.scan_digest, key))
    artefacts.write_json(stats, *block_stats(now.scan_digest, key))
    return {**stats, "survivors": table.height, "device": device}


def _merged_stats(each: list[dict]) -> dict:
    """One block's figures from its scans: counts add, flags must all hold, the rest is the
    first scan's (the caller sets the joint totals)."""
    out = dict(each[0])
    for stats in each[1:]:
        for k, v in stats.items():
            if k not in out:
                out[k] = v
            elif isinstance(v, bool):
                out[k] = out[k] and v
            elif isinstance(v, int | float) and isinstance(out[k], int | float):
                out[k] = out[k] + v
    return out


def _blocks_table(blocks: list[dict]) -> str:
    rows = ["| block | seeds | survivors | expected | seconds |", "|---|---|---|---|---|"]
    rows += [f"| {b['block']} | [{b['seed_range'][0]:#x}, {b['seed_range'][1]:#x}) | "
             f"{b['survivors']} | {b['null_expected']:.3g} | {b['seconds']:.2f} |" for b in blocks]
    return "\n".join(rows)


def _pool_plot(pool: pl.DataFrame, stats: PoolStats) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    if pool.height:
        ax.hist(pool["match_rate"].to_numpy(), bins=20, range=(0, 1), color="#4b7bec",
                label=f"{pool.height} survivors")
    ax.axhline(stats.null_expected, color="black", linestyle="--", linewidth=1,
               label=f"null: {stats.null_expected:.3g} expected in all")
    ax.set_xlabel("match rate")
    ax.set_ylabel("survivors")
    ax.set_title(f"survivor pool, p = {stats.p_value:.3g}")
    ax.legend(loc="upper left")
    return figure_metadata(fig)


@dg.asset(
    group_name="sieve",
    deps=[survivors],
    kinds={"polars", "parquet"},
    automation_condition=AUTOMATION,
    partitions_def=cases,
)
def survivor_pool(
    context: dg.AssetExecutionContext, artefacts: ArtefactStore
) -> dg.MaterializeResult:
    """Every block of the case scanned under its current history and settings, one row per
    candidate, against the null."""
    artefacts = case_artefacts(context, artefacts)
    now = lineage.current(artefacts)
    settings = load_sieve_settings(artefacts).settings
    digest = now.scan_digest
    scanned = [k for k in BLOCKS.partition_keys() if artefacts.exists(*block_stats(digest, k))]
    blocks = [artefacts.read_json(*block_stats(digest, k)) for k in scanned]
    linear: dict | None = None
    if settings.mode == "linear":
        pool, stats, linear = _linear_pool(settings, load_train(artefacts), blocks)
    else:
        pool = merge_pool([artefacts.read_parquet(*block_table(digest, k)) for k in scanned])
        candidates = sum(s["candidates_scanned"] for s in blocks)
        by_mode = {False: 0, True: 0}
        for s in blocks:
            for mode, n in s.get("candidates_by_mode", {}).items():
                by_mode[mode == "variable"] += n
        if not any(by_mode.values()):  # blocks scanned before gap modes: one scan each
            by_mode = {settings.variable_gap: candidates}
        tiers = tier_nulls(settings, load_train(artefacts), by_mode) if candidates else {}
        stats = PoolStats.build(pool_stats(pool, blocks, BLOCKS.count, tiers), settings, blocks)
    artefacts.write_parquet(pool, *POOL_TABLE)
    artefacts.write_record(stats, *POOL_STATS)
    if linear is not None:
        artefacts.write_json(linear, *LINEAR_STATE)
    lineage.stamp(artefacts, POOL_TABLE[:1], now)
    top = [{**candidate_identity(r), "matches": int(r["matches"])}
           for r in pool.head(5).iter_rows(named=True)]
    if not stats.significant:
        context.log.warning(f"{pool.height} survivors against {stats.null_expected:.3g} "
                            f"expected: not distinguishable from chance")
    figures = stats.to_dict()
    return dg.MaterializeResult(
        metadata={
            **{k: figures[k] for k in ("survivors", "candidates_scanned", "partitions_expected",
                                       "partitions_covered", "partitions_missing",
                                       "null_expected", "excess_over_null", "p_value",
                                       "tier_p_value", "significant")},
            "best_tier": dg.MetadataValue.json(stats.best_tier or {}),
            "settings_digest": settings.digest(),
            "history_digest": now.history,
            "top_candidates": dg.MetadataValue.json(top),
            "match_rate_vs_null": _pool_plot(pool, stats),
            **(_linear_metadata(linear) if linear is not None else {}),
        }
    )


def _linear_pool(settings: SieveSettings, train: np.ndarray,
                 blocks: list[dict]) -> tuple[pl.DataFrame, PoolStats, dict]:
    """Linear mode: the state solved from the window, one pool row if recovered."""
    try:
        found = solve_pool(settings.generator, settings.draw, train, settings.window,
                           BLOCKS.count)
    except ValueError as exc:
        raise dg.Failure(description=f"survivor_pool: {exc}", allow_retries=False) from exc
    figures = {**found.figures, "partitions_covered": len(blocks),
               "partitions_missing": BLOCKS.count - len(blocks)}
    return found.table, PoolStats.build(figures, settings, blocks), found.record


def _linear_metadata(record: dict) -> dict:
    """What the solve found: rank, the states left, the held-back check."""
    return {
        "linear_solved": record["solved"],
        "linear_reason": record["reason"] or "recovered",
        "linear_rank": f"{record['rank']} of {record['unknowns']} unknowns",
        "linear_states_remaining": record["states_remaining"],
        "linear_undetermined_bits": record["undetermined_bits"],
        "linear_words_assumed_rejected": record["rejected_words"],
        "linear_solved_from_draws": record["window"] - record["first_draw"],
        "linear_held_back_draws": record["held_back_draws"],
        "linear_held_back_matched": record.get("held_back_matched", 0),
        "linear_record": dg.MetadataValue.path("/".join(LINEAR_STATE)),
        "linear_notes": "; ".join(record["notes"]) or "none",
        "linear_predictions_assume": record.get("prediction_assumes")
        or "nothing beyond the recovered state",
    }
