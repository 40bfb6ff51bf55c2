"""Compile a (generator, draw) pair's kernels ahead of use, into the on-disk kernel cache.

Warming runs each kernel the way a real scan does, on a few candidates, so the signatures
compiled are exactly the ones later runs look up: the seed walk and its pre-filter, the state walk
where the generator has an inverse step, the predicted-draw kernel, and the draw sequence. A pair
already in the cache only loads. Pairs are compiled in parallel processes (numba compiles under
the GIL, so threads would not help).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from gpu_executors.prng.draws import check_compatible, generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.identify import candidate_pairs

# The pairs the project's own examples use: the demo (java_lcg mod:1000) and the README's
# crack and synth examples. ``seedsieve warm`` with no pair warms these.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("java_lcg", "mod:1000"),
    ("java_random", "nextint:1000"),
    ("mt19937", "mod:1000"),
    ("xorshift32", "mod:100"),
)


@dataclass(frozen=True)
class Warmed:
    """One pair's kernels: how many numba compiled here, and how many it loaded from disk."""

    generator: str
    draw: str
    compiled: int
    loaded: int
    seconds: float

    def describe(self) -> str:
        what = f"{self.compiled} compiled" if self.compiled else "all from the cache"
        n = self.compiled + self.loaded
        return f"{self.generator} {self.draw}: {n} kernels, {what} ({self.seconds:.1f} s)"


def pairs(generators: Iterable[str], draws: Iterable[str]) -> list[tuple[str, str]]:
    """Every compatible (generator, draw) of the two lists, in order; incompatible ones dropped
    only when the user asked for several generators (a single pair that cannot be is an error)."""
    gens, draw_texts = list(generators), [parse_draw(d).text for d in draws]
    if len(gens) * len(draw_texts) == 1:
        check_compatible(get_generator(gens[0]), parse_draw(draw_texts[0]))
    return candidate_pairs(gens, draw_texts)


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Pairs from a file, one ``GENERATOR DRAW`` per line; ``#`` starts a comment. A bad line is
    reported with its number (from 1)."""
    out: list[tuple[str, str]] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            if len(fields) != 2:
                raise ValueError("expected GENERATOR DRAW")
            out += pairs([fields[0]], [fields[1]])
        except (KeyError, ValueError) as exc:
            why = exc.args[0] if exc.args else exc
            raise ValueError(f"{path}, line {number}: {why}") from None
    return out


def kernel_counts() -> tuple[int, int]:
    """(compiled, loaded) so far over every dispatcher of every specialised module."""
    from gpu_executors.specialise import made

    compiled = loaded = 0
    for module in made():
        for value in vars(module).values():
            own = getattr(getattr(value, "py_func", None), "__module__", None) == module.__name__
            stats = getattr(value, "stats", None)
            if own and stats is not None and hasattr(stats, "cache_hits"):
                loaded += sum(stats.cache_hits.values())
                compiled += sum(stats.cache_misses.values())
    return compiled, loaded


def warm_pair(generator: str, draw: str) -> Warmed:
    """Run every kernel of one pair on a few candidates (compiling or loading it)."""
    from gpu_executors.ranking.predicted import Candidates, predicted_draws
    from gpu_executors.sieve.cpu import cpu_scan
    from gpu_executors.sieve.spec import ScanMode, ScanSpec

    t0 = time.perf_counter()
    before = kernel_counts()
    gen = get_generator(generator)
    spec = parse_draw(draw)
    check_compatible(gen, spec)
    observed = tuple(int(v) for v in generate_draws(gen, spec, 1, 4))
    cpu_scan(ScanSpec(generator, draw, observed, 0, 2))
    if gen.prev is not None and gen.unpack is not None:
        cpu_scan(ScanSpec(generator, draw, observed, 0, 2, mode=ScanMode.STATE))
    one = Candidates(generator, draw, np.ones(1), np.zeros(1), np.zeros(1))
    predicted_draws(one, 2)
    gen.outputs(1, 2)
    after = kernel_counts()
    compiled, loaded = after[0] - before[0], after[1] - before[1]
    return Warmed(generator, draw, compiled, loaded, time.perf_counter() - t0)


def warm(
    todo: Sequence[tuple[str, str]],
    jobs: int | None = None,
    on_done: Callable[[Warmed], None] | None = None,
) -> list[Warmed]:
    """Warm every pair, ``jobs`` processes at a time (default: one per core, at most one per pair);
    ``on_done(warmed)`` is called as each pair finishes."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    done: list[Warmed] = []
    if jobs == 1:
        for g, d in todo:
            done.append(warm_pair(g, d))
            if on_done:
                on_done(done[-1])
        return done
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(warm_pair, g, d) for g, d in todo]
        for future in futures:
            done.append(future.result())
            if on_done:
                on_done(done[-1])
    return done
