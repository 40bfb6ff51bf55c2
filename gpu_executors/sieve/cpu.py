"""The CPU executor: numba-compiled, parallel over seeds, early exit at the first excess miss.

A scan runs in two passes per chunk of seeds: a parallel pass that only counts survivors per seed
(cheap, no allocation per candidate), then a serial pass that re-walks the few surviving seeds to
record their offsets, gaps and match counts. Chunks keep progress, Ctrl-C and ETA responsive.
The same compiled walkers re-verify the GPU executor's passes (``triton.scan``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numba
import numpy as np

from gpu_executors.devices import DeviceReport
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import make_drawer, parse_draw
from gpu_executors.sieve import walkers
from gpu_executors.sieve.prefilters import NATIVE_MT, NATIVE_MT_ARRAY, fast_filter, filter_params
from gpu_executors.sieve.spec import (
    Progress,
    ScanMode,
    ScanResult,
    ScanSpec,
    empty_columns,
    survivors_frame,
)
from gpu_executors.sieve.strategies import rule_array
from gpu_executors.specialise import specialise, unbound

U64 = np.uint64
NATIVE_CHUNK = 1 << 22  # seeds per call of the native MT filter: ~0.1 s, so Ctrl-C stays quick


class Walkers(NamedTuple):
    """The compiled walks of one (generator, draw): per candidate seed or state, and counted in
    parallel over a range. The state walks are None for generators without an inverse step."""

    walk_seed: Callable
    walk_seed_strategy: Callable
    walk_state: Callable | None
    count_seeds: Callable
    count_states: Callable | None
    state_size: int


@cache
def compile_walkers(gen: Generator, draw_text: str) -> Walkers:
    """The walks of one pair (see ``walkers``): compiled on first call, then loaded from disk."""
    draw = make_drawer(gen, parse_draw(draw_text))
    module = specialise(
        walkers,
        f"{gen.name}-{draw_text}",
        nxt=gen.next,
        seed_fn=gen.seed,
        prev=gen.prev or unbound,
        unpack=gen.unpack or unbound,
        draw=draw,
        SIZE=gen.state_size,
    )
    if gen.prev is None or gen.unpack is None:
        return Walkers(module.walk_seed, module.walk_seed_strategy, None, module.count_seeds,
                       None, gen.state_size)
    return Walkers(
        module.walk_seed,
        module.walk_seed_strategy,
        module.walk_state,
        module.count_seeds,
        module.count_states,
        gen.state_size,
    )


def walk_params(spec: ScanSpec) -> np.ndarray:
    """The scan's window as the walkers read it: [off_start, off_stop, gap_min, gap_max,
    variable, max_misses, anchor, n_strategies, (max_consecutive, tolerance) per strategy]."""
    rules = rule_array(spec.gap_strategies) if spec.variable_gap else np.empty(0, np.int64)
    head = np.array(
        [
            spec.offset_start,
            spec.offset_stop,
            spec.gap_min,
            spec.gap_max,
            int(spec.variable_gap),
            spec.max_misses,
            spec.anchor,
            len(rules) // 2,
        ],
        dtype=np.int64,
    )
    return np.concatenate([head, rules])


def cpu_scan(
    spec: ScanSpec,
    *,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Run the scan on all cores. Ctrl-C returns what was found so far (``complete=False``)."""
    spec.validate()
    gen = spec.gen
    walk_seed, walk_seed_strategy, walk_state, count_seeds, count_states, size = (
        compile_walkers(gen, spec.draw))
    obs = spec.observed()
    p = walk_params(spec)
    state_mode = spec.mode is ScanMode.STATE
    per_seed = spec.candidates // max(spec.n_seeds, 1)
    prefilter = fast_filter(spec)
    if prefilter is not None and prefilter[1] in (NATIVE_MT, NATIVE_MT_ARRAY):
        chunk = chunk or NATIVE_CHUNK  # one byte per seed, and each call starts threads
    chunk = chunk or max(1 << 14, min(1 << 24, (1 << 26) // max(per_seed * size, 1)))
    n_blocks = numba.get_num_threads() * 16
    n_draws = obs.shape[0]
    cols = empty_columns()
    fparams = filter_params(spec)
    no_records = (*(np.empty(0, np.int64),) * 3, np.empty((0, max(n_draws - 1, 0)), np.int64))
    t_compile = time.perf_counter()
    # Compile (or load) every kernel on one seed so `seconds` measures scanning alone.
    one = np.zeros(1, dtype=np.int64)
    if prefilter is not None:
        prefilter[0](U64(spec.seed_start), 1, obs, fparams, np.zeros(1, np.uint8), 1)
    if state_mode:
        count_states(U64(spec.seed_start), 1, obs, p, one, 1)
    else:
        count_seeds(U64(spec.seed_start), 1, obs, p, one, 1)
    t0 = time.perf_counter()
    done = 0
    complete = True
    base = np.empty(size, np.uint64)
    st, trial, probe = (np.empty(size, np.uint64) for _ in range(3))
    gaps_out = np.zeros(max(n_draws - 1, 0), np.int64)
    best_gaps = np.zeros_like(gaps_out)
    try:
        for start in range(spec.seed_start, spec.stop, chunk):
            count = min(chunk, spec.stop - start)
            if prefilter is not None:
                flags = np.zeros(count, dtype=np.uint8)
                prefilter[0](U64(start), count, obs, fparams, flags, min(n_blocks, count))
                counts = flags
            elif state_mode:
                counts = np.zeros(count, dtype=np.int64)
                count_states(U64(start), count, obs, p, counts, min(n_blocks, count))
            else:
                counts = np.zeros(count, dtype=np.int64)
                count_seeds(U64(start), count, obs, p, counts, min(n_blocks, count))
            for j in np.flatnonzero(counts):
                s = U64(start + int(j))
                k = int(counts[j])
                if prefilter is not None:  # flagged: count exactly with the generic walk
                    k = walk_seed(s, obs, p, base, st, trial, probe, gaps_out, *no_records)
                    if k == 0:
                        continue
                rec_off = np.zeros(k, np.int64)
                rec_gap = np.zeros(k, np.int64)
                rec_fwd = np.zeros(k, np.int64)
                rec_rev = np.zeros(k, np.int64)
                rec_gaps = np.zeros((k, max(n_draws - 1, 0)), np.int64)
                rec_strat = np.zeros(k, np.int64)
                if state_mode:
                    walk_state(s, obs, p, base, st, probe, rec_gap, rec_fwd, rec_rev)
                else:
                    walk_seed_strategy(s, obs, p, base, st, trial, probe, gaps_out, best_gaps,
                                       rec_off, rec_gap, rec_fwd, rec_gaps, rec_strat)
                cols["seed"] += [int(s)] * k
                cols["offset"] += rec_off.tolist()
                cols["gap"] += rec_gap.tolist()
                cols["gaps"] += rec_gaps.tolist() if spec.variable_gap else [[]] * k
                cols["strategy"] += ([spec.gap_strategies[i].value for i in rec_strat]
                                     if spec.variable_gap else [None] * k)
                cols["forward_matches"] += rec_fwd.tolist()
                cols["reverse_matches"] += rec_rev.tolist()
            done = start + count - spec.seed_start
            if progress is not None:
                progress(done * per_seed, spec.candidates, len(cols["seed"]))
    except KeyboardInterrupt:
        complete = False
    seconds = time.perf_counter() - t0
    scanned = done * per_seed
    frac = scanned / spec.candidates if spec.candidates else 1.0
    threads = numba.get_num_threads()
    return ScanResult(
        spec,
        survivors_frame(spec, cols),
        scanned,
        seconds,
        f"cpu ({threads} threads" + (f", {prefilter[1]} prefilter)" if prefilter else ")"),
        spec.null_expected() * frac,
        complete=complete,
        extra={"compile_seconds": round(t0 - t_compile, 3)},
        device=DeviceReport.on_cpu(f"cpu ({threads} numba threads)"),
    )
