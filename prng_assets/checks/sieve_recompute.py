"""What the sieve checks recompute instead of trusting a record (issue #19).

``recompute_pool``: a sample of seeds rescanned one at a time with the pure reference scan from
the stored train draws and the stored sieve settings, held against the pool file. The sample is
the pool's survivors (the best first) and seeds the pool does not hold (those the blocks' files
list first, then seeds drawn with a fixed RNG from the scanned ranges).

``settings_differences``: the recorded sieve settings against the run config that asked for
them, read back from the instance (not from the config class, whose code may be what dropped
a value).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import polars as pl

from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.settings import SeedBlocks, SieveSettings
from gpu_executors.sieve.strategies import parse_strategies

POOL_SAMPLE = 40  # pool seeds recomputed at most
POOL_TOP = 10  # of which the best-matching (what the ranking looks at first)
OUTSIDE_SAMPLE = 150  # seeds outside the pool recomputed at most
SAMPLE_SEED = 19  # the fixed RNG seed of the sample (issue #19)
# Draws the reference may evaluate in all: about 5 us each in Python, so ~2 s at most.
DRAW_BUDGET = 400_000
MIN_OUTSIDE = 10  # seeds outside the pool recomputed whatever the cost
SHOWN = 20  # mismatches listed in metadata

RowKey = tuple[Any, ...]
ROW_COLUMNS = ("generator", "draw", "offset", "gap", "gaps", "strategy", "forward_matches",
               "reverse_matches", "matches")


def _key(row: dict[str, Any]) -> RowKey:
    # .get: a pool written before gap strategies has no strategy column (constant: None)
    return tuple(tuple(row[c]) if c == "gaps" else row.get(c) for c in ROW_COLUMNS)


def draws_per_seed(settings: SieveSettings) -> int:
    """Draws the reference evaluates for one seed (its cost: each is a Python call)."""
    gaps = settings.gap_max - settings.gap_min + 1
    if settings.mode == "state":
        return gaps * settings.window
    offsets = settings.offset_max - settings.offset_min + 1
    # a variable-gap walk tries up to every gap per draw, once per strategy
    per_gap = sum(len(settings.gap_strategies) if v else 1
                  for v in settings.gap_mode.variable_flags)
    return offsets * settings.window * gaps * per_gap


@dataclass
class Recomputation:
    """The sample's outcome: how many seeds of each kind were rescanned, what disagreed."""

    pool_rows: int = 0
    pool_seeds: int = 0
    pool_seeds_recomputed: int = 0
    outside_recomputed: int = 0
    listed_by_blocks_not_in_pool: int = 0
    capped_by_cost: bool = False
    draws_per_seed: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def mismatch(self, seed: int, problem: str, stored: list[RowKey] | None = None,
                 recomputed: list[RowKey] | None = None) -> None:
        entry: dict[str, Any] = {"seed": seed, "problem": problem}
        if stored is not None:
            entry["stored"] = [list(k) for k in stored]
        if recomputed is not None:
            entry["recomputed"] = [list(k) for k in recomputed]
        self.mismatches.append(entry)


def _rows_by_seed(frame: pl.DataFrame) -> dict[int, set[RowKey]]:
    out: dict[int, set[RowKey]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(int(row["seed"]), set()).add(_key(row))
    return out


def _reference(settings: SieveSettings, train: np.ndarray, seed: int) -> set[RowKey] | None:
    """The survivor rows of one seed; None when the settings never scan it."""
    specs = settings.scan_specs(train, seed, seed + 1)
    if not specs:
        return None
    return {_key(r) for spec in specs
            for r in reference_scan(spec).survivors.iter_rows(named=True)}


def _drawn(ranges: list[tuple[int, int]], exclude: set[int], k: int) -> list[int]:
    """Up to ``k`` distinct seeds of the ranges, none in ``exclude``, by a fixed RNG."""
    total = sum(hi - lo for lo, hi in ranges)
    if total - len(exclude) <= k:  # small: every seed
        return [s for lo, hi in ranges for s in range(lo, hi) if s not in exclude][:k]
    rng = random.Random(SAMPLE_SEED)
    chosen: list[int] = []
    seen = set(exclude)
    for _ in range(20 * k):
        if len(chosen) == k:
            break
        i = rng.randrange(total)
        for lo, hi in ranges:
            if i < hi - lo:
                seed = lo + i
                break
            i -= hi - lo
        if seed not in seen:
            seen.add(seed)
            chosen.append(seed)
    return chosen


def recompute_pool(
    settings: SieveSettings,
    train: np.ndarray,
    blocks: SeedBlocks,
    scanned: dict[str, pl.DataFrame],
    pool: pl.DataFrame,
) -> Recomputation:
    """Rescan a sample with the reference: every sampled pool seed must give exactly its stored
    rows, every sampled seed outside the pool none. ``scanned``: each scanned block's table."""
    out = Recomputation(pool_rows=pool.height, draws_per_seed=draws_per_seed(settings))
    stored = _rows_by_seed(pool)
    out.pool_seeds = len(stored)
    ranges: list[tuple[int, int]] = []
    for key in scanned:
        specs = settings.scan_specs(train, *blocks.seed_range(key))
        if specs:
            ranges.append((specs[0].seed_start, specs[0].stop))
    budget = max(DRAW_BUDGET // max(out.draws_per_seed, 1), MIN_OUTSIDE + 1)
    best = (pool.sort(["matches", "seed"], descending=[True, False])["seed"].unique(
        maintain_order=True).to_list() if pool.height else [])
    top, rest = best[:POOL_TOP], best[POOL_TOP:]
    rest = random.Random(SAMPLE_SEED).sample(rest, min(len(rest), POOL_SAMPLE - len(top)))
    pool_sample = [int(s) for s in top + rest][: max(budget - MIN_OUTSIDE, 1)]
    listed = sorted({int(s) for t in scanned.values() for s in t["seed"].to_list()}
                    - set(stored))
    out.listed_by_blocks_not_in_pool = len(listed)
    room = min(OUTSIDE_SAMPLE, max(budget - len(pool_sample), MIN_OUTSIDE))
    outside = listed[:room]
    outside += _drawn(ranges, set(stored) | set(outside), room - len(outside))
    out.capped_by_cost = (len(pool_sample) < min(len(best), POOL_SAMPLE)
                          or room < OUTSIDE_SAMPLE)
    for seed in pool_sample:
        recomputed = _reference(settings, train, seed)
        out.pool_seeds_recomputed += 1
        if not any(lo <= seed < hi for lo, hi in ranges) or recomputed is None:
            out.mismatch(seed, "in the pool but outside every scanned range",
                         sorted(stored[seed]))
        elif recomputed != stored[seed]:
            out.mismatch(seed, "pool rows differ from the reference's",
                         sorted(stored[seed]), sorted(recomputed))
    for seed in outside:
        recomputed = _reference(settings, train, seed)
        out.outside_recomputed += 1
        if recomputed:
            out.mismatch(seed, "survives but is not in the pool", None, sorted(recomputed))
    return out


SEARCHED_NAMES = ("window", "offset_min", "offset_max", "gap_min", "gap_max", "gap_mode",
                  "max_misses", "anchor")


def settings_differences(
    requested: dict[str, Any], defaults: dict[str, Any], recorded: SieveSettings
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The SieveSettings fields compared and those whose recorded value is not what the run
    config asked for (``requested``: the run config as given; ``defaults``: the config class's
    field defaults, for what it left out). Searched fields must lie within the bounds."""
    ask = {**defaults, **requested}
    generator, draw = str(ask["generator"]), str(ask["draw"])
    choosing = generator == "auto" or "," in generator or draw == "auto"
    rec = recorded.to_dict()
    names = [f.name for f in fields(SieveSettings)]
    differing: dict[str, dict[str, Any]] = {}

    def differ(name: str, want: Any) -> None:
        differing[name] = {"requested": want, "recorded": rec[name]}

    if choosing:
        if generator != "auto" and rec["generator"] not in generator.split(","):
            differ("generator", generator)
        if draw != "auto" and rec["draw"] != draw:
            differ("draw", draw)
    searched = set(SEARCHED_NAMES if ask["mode"] == "state" else SEARCHED_NAMES[:-1])
    for name in names:
        if name in ("generator", "draw") and choosing:
            continue
        if ask["search"] and name in searched:
            continue
        want = ask[name]
        if name == "gap_strategies":  # stored in their strictness order
            want = [g.value for g in parse_strategies(want)]
        if rec[name] != want:
            differ(name, want)
    if ask["search"]:
        w, o, g = ask["window_bounds"], ask["offset_bounds"], ask["gap_bounds"]
        m, a = ask["max_misses_bounds"], ask["anchor_bounds"]
        window = rec["window"]
        mm_hi = min(m[1], window - 1)
        bounds = {"window": (w[0], w[1]), "offset_min": (o[0], o[0]),
                  "offset_max": (o[0], o[1]), "gap_min": (g[0], g[1]),
                  "gap_max": (rec["gap_min"], max(rec["gap_min"], g[1])),
                  "max_misses": (min(m[0], mm_hi), mm_hi),
                  "anchor": (a[0], min(a[1], window - 1))}
        modes = ["constant"] if ask["mode"] == "state" else [
            str(m) for m in ask.get("gap_mode_choices", ["constant", "variable", "both"])]
        if "gap_mode" in searched and rec["gap_mode"] not in modes:
            differ("gap_mode", f"one of {modes}")
        for name in sorted(searched - {"gap_mode"}):
            lo, hi = bounds[name]
            if not lo <= rec[name] <= hi:
                differ(name, f"within [{lo}, {hi}]")
    return names, differing


@dataclass
class LinearRecomputation:
    """Linear mode: the solve re-run from the stored window draws, held against the pool."""

    pool_rows: int = 0
    solved: bool = False
    state_resolved: bool | None = None  # the re-run solve leaves one state (None: unsolved)
    train_draws_replayed: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)


def recompute_linear(settings: SieveSettings, train: np.ndarray,
                     pool: pl.DataFrame) -> LinearRecomputation:
    """Re-run the linear solve from ``train[:window]`` (the stored draws and settings only) and
    replay every pool row against the whole train split: the pool must hold exactly the state
    the solve gives, and that state must replay every window draw from the draw it stands at."""
    from gpu_executors.linear.replay import replay_draws
    from gpu_executors.sieve.linear import solve_pool

    out = LinearRecomputation(pool_rows=pool.height)
    again = solve_pool(settings.generator, settings.draw, train, settings.window, 1)
    out.solved = bool(again.record["solved"])
    out.state_resolved = again.record["free_bits"] == 0 if out.solved else None
    if pool.height != again.table.height:
        out.mismatches.append({"problem": f"the pool holds {pool.height} state(s), the solve "
                                          f"gives {again.table.height}"})
    for i, row in enumerate(pool.iter_rows(named=True)):
        try:
            got = replay_draws(settings.generator, settings.draw, int(row["state_model"]),
                               bytes(row["state"]), int(row["state_draw"]), len(train))
        except ValueError as exc:
            out.mismatches.append({"row": i, "problem": f"unreadable state: {exc}"})
            continue
        out.train_draws_replayed += len(train)
        hits = got == np.asarray(train, dtype=np.int64)
        window = settings.window - int(row["state_draw"])
        if int(hits[:settings.window].sum()) != window or row["matches"] != window:
            out.mismatches.append({"row": i, "problem": f"the stored state replays "
                                   f"{int(hits[:settings.window].sum())} of the {window} window "
                                   f"draws it was solved from (matches recorded: "
                                   f"{row['matches']})"})
        if i < again.table.height:
            want = again.table.row(i, named=True)
            same = (want["state_model"], want["state_draw"]) == (row["state_model"],
                                                                 row["state_draw"])
            if not same or (out.state_resolved and bytes(want["state"]) != bytes(row["state"])):
                out.mismatches.append({"row": i, "problem": "not the state the solve gives "
                                       "from the stored window draws"})
    return out
