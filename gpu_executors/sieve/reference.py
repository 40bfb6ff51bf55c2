"""The slow, plain sieve: one candidate at a time, in Python. Tests hold the fast ones to it."""

from __future__ import annotations

import time

import numpy as np

from gpu_executors.devices import DeviceReport
from gpu_executors.prng.draws import make_drawer
from gpu_executors.sieve.spec import (
    ScanMode,
    ScanResult,
    ScanSpec,
    empty_columns,
    survivors_frame,
)
from gpu_executors.sieve.strategies import RULES, GapStrategy


def _variable_gap_walk(spec: ScanSpec, state: np.ndarray, obs: np.ndarray,
                       strategy: GapStrategy):
    """One strategy's walk (``strategies``): the first gap over the whole range, each later one
    within the tolerance of the last matched gap (GREEDY: the whole range), ascending; the
    smallest that matches is taken. A draw matching nowhere is a miss, taken at the expected gap
    (GREEDY, or before any match: gap_min). Returns (matches, gaps), or None past the total or
    the consecutive miss limit.
    """
    gen = spec.gen
    draw = make_drawer(gen, spec.draw_spec)
    rule = RULES[strategy]
    limit = rule.max_consecutive
    misses = 0 if draw(state) == obs[0] else 1
    run = misses
    if misses > spec.max_misses or (limit is not None and run > limit):
        return None
    expected: int | None = None
    gaps: list[int] = []
    for i in range(1, len(obs)):
        lo, hi = spec.gap_min, spec.gap_max
        if rule.tolerance is not None and expected is not None:
            lo = max(spec.gap_min, expected - rule.tolerance)
            hi = min(spec.gap_max, expected + rule.tolerance)
        chosen = None
        for g in range(lo, hi + 1):
            probe = state.copy()
            for _ in range(g):
                gen.next(probe)
            if draw(probe) == obs[i]:
                chosen, state = g, probe
                break
        if chosen is None:
            misses += 1
            run += 1
            if misses > spec.max_misses or (limit is not None and run > limit):
                return None
            use_expected = rule.tolerance is not None and expected is not None
            chosen = expected if use_expected else spec.gap_min
            state = state.copy()
            for _ in range(chosen):
                gen.next(state)
            draw(state)
        else:
            run = 0
            expected = chosen
        gaps.append(chosen)
    return len(obs) - misses, gaps


def _best_strategy(spec: ScanSpec, state: np.ndarray, obs: np.ndarray):
    """(matches, gaps, strategy) of the strategy with the most matches, ties to the stricter."""
    best = None
    for strategy in spec.gap_strategies:
        found = _variable_gap_walk(spec, state.copy(), obs, strategy)
        if found is not None and (best is None or found[0] > best[0]):
            best = (*found, strategy)
    return best


def _constant_gap_misses(spec: ScanSpec, state: np.ndarray, obs: np.ndarray, gap: int) -> int:
    """Misses of every draw at a constant gap, all counted (no early exit: the plain rule)."""
    gen = spec.gen
    draw = make_drawer(gen, spec.draw_spec)
    misses = 0
    for i, want in enumerate(obs):
        if i:
            for _ in range(gap):
                gen.next(state)
        if draw(state) != want:
            misses += 1
    return misses


def _reverse_misses(spec: ScanSpec, anchor_state: np.ndarray, obs: np.ndarray, gap: int) -> int:
    """Draws before the anchor: step back ``gap + 1`` words per draw, then draw forward."""
    gen = spec.gen
    draw = make_drawer(gen, spec.draw_spec)
    state = anchor_state.copy()
    misses = 0
    for i in range(spec.anchor - 1, -1, -1):
        for _ in range(gap + 1):
            gen.prev(state)
        if draw(state.copy()) != obs[i]:
            misses += 1
    return misses


def reference_scan(spec: ScanSpec) -> ScanResult:
    """Every candidate of ``spec``, one at a time: the survivors the fast executors must match."""
    spec.validate()
    gen, obs = spec.gen, spec.observed()
    cols = empty_columns()
    t0 = time.perf_counter()
    for s in range(spec.seed_start, spec.stop):
        if spec.mode is ScanMode.STATE:
            anchor = gen.new_state()
            gen.unpack(np.uint64(s), anchor)
            for gap in range(spec.gap_min, spec.gap_max + 1):
                fwd = _constant_gap_misses(spec, anchor.copy(), obs[spec.anchor :], gap)
                rev = _reverse_misses(spec, anchor, obs, gap)
                if fwd + rev <= spec.max_misses:
                    n_fwd = len(obs) - spec.anchor
                    _append(cols, s, 0, gap, [], n_fwd - fwd, spec.anchor - rev)
            continue
        base = gen.seeded(s)
        for _ in range(spec.offset_start):
            gen.next(base)
        for off in range(spec.offset_start, spec.offset_stop):
            if spec.variable_gap:
                found = _best_strategy(spec, base, obs)
                if found is not None:
                    _append(cols, s, off, -1, found[1], found[0], 0, found[2].value)
            else:
                for gap in range(spec.gap_min, spec.gap_max + 1):
                    misses = _constant_gap_misses(spec, base.copy(), obs, gap)
                    if misses <= spec.max_misses:
                        _append(cols, s, off, gap, [], len(obs) - misses, 0)
            gen.next(base)
    seconds = time.perf_counter() - t0
    return ScanResult(
        spec,
        survivors_frame(spec, cols),
        spec.candidates,
        seconds,
        "reference",
        spec.null_expected(),
        device=DeviceReport.on_cpu("cpu (Python reference)"),
    )


def _append(
    cols: dict[str, list], seed: int, offset: int, gap: int, gaps: list[int], fwd: int, rev: int,
    strategy: str | None = None,
) -> None:
    cols["seed"].append(seed)
    cols["offset"].append(offset)
    cols["gap"].append(gap)
    cols["gaps"].append(gaps)
    cols["strategy"].append(strategy)
    cols["forward_matches"].append(fwd)
    cols["reverse_matches"].append(rev)


def reverse_pass_matches(spec: ScanSpec, state_word: int, gap: int) -> int:
    """Matches of the backward walk from a packed anchor state (checks and tests)."""
    gen = spec.gen
    anchor = gen.new_state()
    gen.unpack(np.uint64(state_word), anchor)
    return spec.anchor - _reverse_misses(spec, anchor, spec.observed(), gap)
