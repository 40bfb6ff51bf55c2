"""Fast CPU pre-filters: which seeds may survive, decided from the first few draws only.

The generic executor walks each seed through the full array state, which is correct for every
generator but slow. For exact or near-exact constant-gap seed scans, a filter looks at the first
``max_misses + 2`` draws of every candidate, 256 seeds at a time in flat loops that LLVM
vectorises: single-word generators, MT19937 seeded by ``init_genrand`` (computing only the few
words it needs, as php_mt_seed does; compiled C where gcc is, see ``native``), glibc's additive
generator, Go's rngSource (only the ring words its first words add) and .NET's Random (its
55-word seeding, lane by lane). A filter is
conservative: it may flag a seed that then fails, never miss one that survives: a draw whose
first word would be rejected ends the judgement of that candidate, since later draws would sit
at other words. Flagged seeds are re-walked by the generic executor, which alone decides and
records survivors. The kernels themselves are in ``lanes``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.bitgen.go_rand import GO_LAZY_WORDS, RING_POWERS, lazy_ring_indices
from gpu_executors.prng.draws import make_word_value, parse_draw
from gpu_executors.sieve import lanes
from gpu_executors.sieve.lanes import LANES
from gpu_executors.sieve.native import MT_LAZY_WORDS, native_mt_filter
from gpu_executors.sieve.spec import ScanMode, ScanSpec
from gpu_executors.specialise import specialise, unbound

NATIVE_MT = "mt-lazy native"  # the filter's name when mt_lazy.c runs it
NATIVE_MT_ARRAY = "mt-lazy native init_by_array"  # the same for python_random's seeding

# Filter signature: (start, count, obs, params, flags, n_blocks) -> None; flags[j] = 1 marks
# seed start + j as a possible survivor. params = [off_start, off_stop, gap_min, gap_max,
# max_misses, n_filter_draws].
Filter = Callable[..., None]


def filter_draws(spec: ScanSpec) -> int:
    """The first draws a filter judges: one more than the misses allowed, so a survivor shows."""
    return min(len(spec.draws), spec.max_misses + 2)


def filter_params(spec: ScanSpec) -> np.ndarray:
    """The filters' ``params`` array (see ``Filter``)."""
    return np.array(
        [
            spec.offset_start,
            spec.offset_stop,
            spec.gap_min,
            spec.gap_max,
            spec.max_misses,
            filter_draws(spec),
        ],
        dtype=np.int64,
    )


def fast_filter(spec: ScanSpec) -> tuple[Filter, str] | None:
    """A pre-filter for this scan and its name, or None when only the generic walk applies."""
    if spec.mode is not ScanMode.SEED or spec.variable_gap:
        return None
    gen = spec.gen
    if gen.step1 is not None:
        return _single_word_filter(gen, spec.draw), "lanes"
    if gen.mt_genrand:
        if spec.last_word(filter_draws(spec)) < MT_LAZY_WORDS:
            native = native_mt_filter(gen, spec.draw, _needed_words)
            if native is not None:
                return native, NATIVE_MT
            return _mt_filter(gen, spec.draw), "mt-lazy"
        return None
    if gen.name == "python_random" and spec.stop <= 1 << 32:
        # one-word keys only; CPython's init_by_array has no numba lazy kernel
        if spec.last_word(filter_draws(spec)) < MT_LAZY_WORDS:
            native = native_mt_filter(gen, spec.draw, _needed_words, by_array=True)
            if native is not None:
                return native, NATIVE_MT_ARRAY
        return None
    if gen.name == "glibc_rand":
        return _glibc_filter(gen, spec.draw), "glibc-lanes"
    if gen.go_lazy and spec.last_word(filter_draws(spec)) < GO_LAZY_WORDS:
        return _go_filter(gen, spec.draw), "go-lazy"
    if gen.dotnet_sample:  # .NET Random's words, so its seeding too
        return _dotnet_filter(gen, spec.draw), "dotnet-lanes"
    return None


def _lanes(gen: Generator, draw_text: str):
    """The lane kernels (``lanes``) bound for this pair."""
    return specialise(
        lanes,
        f"{gen.name}-{draw_text}",
        seed1=gen.seed1 or unbound,
        step1=gen.step1 or unbound,
        value=make_word_value(gen, parse_draw(draw_text)),
        LEGACY=gen.mt_legacy_twist,
    )


def _needed_words(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The word indices the filter reads (sorted), and each index's row among them."""
    off_start, off_stop, gap_min, gap_max, _mm, f = (int(x) for x in p)
    ks = np.array(
        sorted(
            {
                off + i * (gap + 1)
                for off in range(off_start, off_stop)
                for gap in range(gap_min, gap_max + 1)
                for i in range(f)
            }
        ),
        dtype=np.int64,
    )
    krow = np.full(int(ks.max()) + 1, -1, np.int64)
    krow[ks] = np.arange(ks.size)
    return ks, krow


@cache
def _single_word_filter(gen: Generator, draw_text: str) -> Filter:
    """Single-word generators: the state of each of LANES seeds in a flat array."""
    kernel = _lanes(gen, draw_text).single_word

    def run(start, count, obs, p, flags, n_blocks):
        n_groups = (count + LANES - 1) // LANES
        kernel(start, count, obs, p, flags, min(n_blocks, n_groups))

    return run


@cache
def _mt_filter(gen: Generator, draw_text: str) -> Filter:
    """MT19937 seeded by init_genrand: only the seeding words the needed outputs read."""
    kernel = _lanes(gen, draw_text).mt_lanes

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        need = sorted({int(k) + d for k in ks for d in (0, 1, 397)})
        slots = np.full(need[-1] + 1, -1, np.int64)
        slots[need] = np.arange(len(need))
        n_groups = (count + LANES - 1) // LANES
        kernel(start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow, slots, len(need))

    return run


@cache
def _glibc_filter(gen: Generator, draw_text: str) -> Filter:
    """glibc's additive generator: the 31-word ring of each lane, up to the last needed word."""
    kernel = _lanes(gen, draw_text).glibc_lanes

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        n_groups = (count + LANES - 1) // LANES
        kernel(start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow)

    return run


@cache
def _go_filter(gen: Generator, draw_text: str) -> Filter:
    """Go's rngSource: each needed word from the two seeded ring words it adds."""
    kernel = _lanes(gen, draw_text).go_lanes

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        pairs = [lazy_ring_indices(int(k)) for k in ks]
        feeds = np.array([f for f, _ in pairs], np.int64)
        taps = np.array([t for _, t in pairs], np.int64)
        n_groups = (count + LANES - 1) // LANES
        kernel(
            start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow, feeds, taps,
            RING_POWERS,
        )

    return run


@cache
def _dotnet_filter(gen: Generator, draw_text: str) -> Filter:
    """.NET's Random: each lane's 55-word seeding, then its words up to the last needed one."""
    kernel = _lanes(gen, draw_text).dotnet_lanes

    def run(start, count, obs, p, flags, n_blocks):
        ks, krow = _needed_words(p)
        n_groups = (count + LANES - 1) // LANES
        kernel(start, count, obs, p, flags, min(n_blocks, n_groups), ks, krow)

    return run
