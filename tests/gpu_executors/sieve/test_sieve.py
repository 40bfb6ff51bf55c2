"""The sieve executors: planted seeds are found, cpu_scan equals reference_scan, and false
survivors follow the null model.

Budget: numba compiles the CPU kernels (generic walk, seed prefilter, state walk) once per
(generator, draw function) pair, 3-8 s per pair on 2 cores, which is most of this file's
runtime. So by default every generator is scanned with ONE compatible draw function
(``DEFAULT_DRAW``), chosen so that every draw kind is exercised by 3-9 generators, and all other
tests reuse those kernels. Set ``SEEDSIEVE_FULL_MATRIX=1`` to scan every compatible
(generator, draw) pair of ``DRAWS`` (~140 pairs, ~14 minutes on 2 cores).

Histories are planted here with the generators' own ``seed``/``next`` and the compiled draw
function, stepping words in Python, so the indexing definition of ``scan.py`` (offset, gaps,
anchor) is checked independently of ``generate_draws``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from gpu_executors.prng.draws import check_compatible, generate_draws, make_drawer, parse_draw
from gpu_executors.prng.generators import GENERATORS, get_generator
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.spec import ScanMode, ScanResult, ScanSpec
from gpu_executors.sieve.strategies import GapStrategy

FULL_MATRIX = os.environ.get("SEEDSIEVE_FULL_MATRIX") == "1"

DRAWS = (
    "mod:1000",
    "nextint:1000",
    "nextint:1024",
    "randint:1000",
    "randrange:1000",
    "mt_rand:1:1000",
    "intn:1000",
    "dotnet_next:1000",
)

# One draw function per generator: the kernel every test of that generator shares.
DEFAULT_DRAW: dict[str, str] = {
    "java_lcg": "nextint:1024",
    "java_random": "nextint:1000",
    "lcg32": "mod:1000",
    "minstd": "mod:1000",
    "msvc_rand": "mod:1000",  # 15-bit words: mod is the only compatible kind
    "xorshift32": "mod:1000",
    "xorshift64": "mod:1000",
    "xorshift64_original": "mod:1000",
    "xorshift128": "randrange:1000",
    "pcg32": "randint:1000",
    "pcg32_original": "mod:1000",
    "mt19937": "randint:1000",
    "python_random": "randrange:1000",
    "php_mt_rand": "mt_rand:1:1000",
    "php_mt_rand_legacy": "mt_rand:1:1000",  # the legacy (double-scaling) mt_rand path
    "glibc_rand": "nextint:1000",
    "xoshiro256pp": "mt_rand:1:1000",
    "xoshiro256pp_original": "mod:1000",
    "sfc64": "mod:1000",
    "sfc64_original": "randint:1000",
    "philox4x32": "randrange:1000",
    "philox4x32_original": "mt_rand:1:1000",
    "go_rand": "intn:1000",  # Go's Intn reads go_rand's 63-bit words only
    "dotnet_random": "dotnet_next:1000",  # .NET's Next(n) scales dotnet_random's words only
    "ruby_random": "randint:1000",  # Ruby's rand(n): the mt-lazy prefilter under Ruby's name
}

# Generators whose whole state packs into an integer and that have an inverse step, each with a
# draw function that consumes exactly one word (the reverse pass steps back gap + 1 words).
STATE_DRAW: dict[str, str] = {
    "java_lcg": "nextint:1024",
    "lcg32": "mod:1000",
    "minstd": "mod:1000",
    "msvc_rand": "mod:1000",
    "xorshift32": "mod:1000",
    "pcg32_original": "mod:1000",
}
if FULL_MATRIX:
    STATE_DRAW |= {
        "java_random": "nextint:1024",
        "xorshift64": "mod:1000",
        "xorshift64_original": "mod:1000",
        "pcg32": "mod:1000",
    }


def _compatible(gen_name: str, draw: str) -> bool:
    try:
        check_compatible(get_generator(gen_name), parse_draw(draw))
    except ValueError:
        return False
    return True


SEED_PAIRS = [
    (g, d)
    for g in GENERATORS
    for d in DRAWS
    if _compatible(g, d) and (FULL_MATRIX or DEFAULT_DRAW[g] == d)
]

N_DRAWS = 8
OFFSET, GAP = 3, 2
WINDOW = 4096  # seeds scanned around a planted seed
SIGN_BIT = 1 << 63


# ---------------------------------------------------------------------------- helpers


def planted_seed(gen_name: str) -> int:
    """A seed above 2^32 where the generator takes one (< 2^63), else one above 2^31 (above
    2^30 for 31-bit seeds)."""
    k = list(GENERATORS).index(gen_name)
    bits = get_generator(gen_name).seed_bits
    if bits > 32:
        return 0x1_2345_6789 + 7919 * k
    return (2_900_000_000 if bits == 32 else 2_000_000_000) + 7919 * k


def plant(
    gen_name: str, draw: str, seed: int, n: int, offset: int, gaps: int | Sequence[int]
) -> tuple[int, ...]:
    """``n`` draws by the indexing definition: seed, skip ``offset`` words, draw, skip gap, ..."""
    gen = get_generator(gen_name)
    drawer = make_drawer(gen, parse_draw(draw))
    gap_list = [gaps] * (n - 1) if isinstance(gaps, int) else list(gaps)
    st = gen.seeded(seed)
    for _ in range(offset):
        gen.next(st)
    out = [int(drawer(st))]
    for g in gap_list:
        for _ in range(g):
            gen.next(st)
        out.append(int(drawer(st)))
    return tuple(out)


def plant_greedy(
    gen_name: str,
    draw: str,
    seed: int,
    n: int,
    offset: int,
    gap_min: int,
    gap_max: int,
    rng: np.random.Generator,
) -> tuple[tuple[int, ...], list[int]]:
    """Draws with random gaps in [gap_min, gap_max] that the greedy rule recovers.

    A gap is drawn at random; when a smaller gap in range would give the same value, the smaller
    one is planted instead (it is what "smallest gap that matches" picks), so the planted gaps
    are exactly the greedy ones.
    """
    gen = get_generator(gen_name)
    drawer = make_drawer(gen, parse_draw(draw))
    st = gen.seeded(seed)
    for _ in range(offset):
        gen.next(st)
    values, gaps = [int(drawer(st))], []
    for _ in range(n - 1):
        probes = []
        trial = st.copy()
        for _ in range(gap_min):
            gen.next(trial)
        for _ in range(gap_min, gap_max + 1):
            probe = trial.copy()
            probes.append((int(drawer(probe)), probe))
            gen.next(trial)
        want = int(rng.integers(0, len(probes)))
        pick = next(i for i, (v, _) in enumerate(probes) if v == probes[want][0])
        values.append(probes[pick][0])
        gaps.append(gap_min + pick)
        st = probes[pick][1]
    return tuple(values), gaps


def equivalent_candidates(
    gen_name: str, draw: str, seed: int, draws: Sequence[int], offsets: range, gaps: range
) -> list[tuple[int, int, int]]:
    """The (seed, offset, gap) of ``seed`` that reproduce ``draws`` exactly, sorted."""
    n = len(draws)
    return [
        (seed, o, g)
        for o in offsets
        for g in gaps
        if plant(gen_name, draw, seed, n, o, g) == tuple(draws)
    ]


def state_before(gen_name: str, seed: int, words: int) -> int:
    """The packed state after seeding and ``words`` calls of ``next``."""
    gen = get_generator(gen_name)
    st = gen.seeded(seed)
    for _ in range(words):
        gen.next(st)
    return int(gen.pack(st))


def other_value(draw: str, value: int, rng: np.random.Generator) -> int:
    """A value in the draw's range that is surely not ``value``."""
    spec = parse_draw(draw)
    shift = 1 + int(rng.integers(0, spec.n_values - 1))
    return spec.low + (value - spec.low + shift) % spec.n_values


def rows(result: ScanResult) -> list[dict]:
    return result.survivors.to_dicts()


def assert_same_survivors(cpu: ScanResult, ref: ScanResult) -> None:
    """The two executors agree row for row (the frames are sorted by the schema builder)."""
    assert cpu.complete and ref.complete
    assert cpu.candidates_scanned == ref.candidates_scanned == cpu.spec.candidates
    assert_frame_equal(cpu.survivors, ref.survivors)


def poisson_two_sided(observed: int, expected: float) -> float:
    lo = stats.poisson.cdf(observed, expected)
    hi = stats.poisson.sf(observed - 1, expected)
    return float(min(1.0, 2.0 * min(lo, hi)))


# ---------------------------------------------------------------------------- the test matrix


def test_default_matrix_covers_every_generator_and_draw_kind() -> None:
    """Every registered generator has a compatible default draw; every kind is used 3+ times."""
    assert set(DEFAULT_DRAW) == set(GENERATORS)
    for g, d in DEFAULT_DRAW.items():
        assert _compatible(g, d), (g, d)
    kinds = [parse_draw(d).kind for d in DEFAULT_DRAW.values()]
    for kind in ("mod", "nextint", "randint", "randrange", "mt_rand"):
        assert kinds.count(kind) >= 3, kind
    for kind in ("intn", "dotnet_next"):  # each runtime's draw, on its one generator
        assert kinds.count(kind) == 1, kind
    assert DEFAULT_DRAW["php_mt_rand_legacy"].startswith("mt_rand")
    assert get_generator("php_mt_rand_legacy").php_legacy_range


def test_plant_follows_generate_draws() -> None:
    """The test's own planting agrees with ``generate_draws`` (offset and variable gaps)."""
    gen, draw = "xorshift32", "mod:1000"
    gaps = [0, 3, 1, 2, 0, 5, 1]
    got = generate_draws(
        get_generator(gen), parse_draw(draw), 12345, 8, offset=4, gaps=np.array(gaps)
    )
    assert tuple(int(v) for v in got) == plant(gen, draw, 12345, 8, 4, gaps)


# ---------------------------------------------------------------------------- 1. planted seeds


@pytest.mark.slow  # each compiles its pair's kernels (3-8 s); later tests reuse them
@pytest.mark.parametrize(("gen_name", "draw"), SEED_PAIRS, ids=[f"{g}-{d}" for g, d in SEED_PAIRS])
def test_planted_seed_is_recovered(gen_name: str, draw: str) -> None:
    """cpu_scan finds exactly the planted (seed, offset, gap); it equals reference_scan."""
    seed = planted_seed(gen_name)
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 1500,
        seed_stop=seed - 1500 + WINDOW,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
    )
    result = cpu_scan(spec)
    assert result.complete
    assert result.candidates_scanned == spec.candidates == WINDOW * 6 * 4
    assert result.null_expected < 1e-6
    # Rejection sampling makes (offset, gap) pairs equivalent when a rejected word is skipped
    # either way; those reproduce the draws exactly and must survive too.
    same = equivalent_candidates(gen_name, draw, seed, draws, range(6), range(4))
    assert (seed, OFFSET, GAP) in same
    if parse_draw(draw).kind == "mod":
        assert same == [(seed, OFFSET, GAP)]
    assert rows(result) == [
        {
            "seed": s,
            "generator": gen_name,
            "draw": draw,
            "offset": o,
            "gap": g,
            "gaps": [],
            "strategy": None,
            "forward_matches": N_DRAWS,
            "reverse_matches": 0,
            "matches": N_DRAWS,
            "match_rate": 1.0,
        }
        for s, o, g in same
    ]

    # A small window, loose enough (one match suffices) that chance survivors are compared too.
    small = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 8,
        seed_stop=seed + 8,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
        max_misses=N_DRAWS - 1,
    )
    cpu, ref = cpu_scan(small), reference_scan(small)
    assert_same_survivors(cpu, ref)
    best = cpu.survivors.filter(pl.col("matches") == N_DRAWS)
    assert best.select("seed", "offset", "gap").rows() == same


def test_seed_above_2_63_is_recovered() -> None:
    """64-bit seed spaces: a seed with the top bit set is found like any other."""
    gen_name, draw = "xorshift64", DEFAULT_DRAW["xorshift64"]
    seed = SIGN_BIT + 0x2468_ACE0
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 16,
        seed_stop=seed + 16,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
    )
    assert reference_scan(spec).survivors.select("seed", "offset", "gap").rows() == [
        (seed, OFFSET, GAP)
    ]
    assert cpu_scan(spec).survivors.select("seed", "offset", "gap").rows() == [(seed, OFFSET, GAP)]


def test_chunking_does_not_change_the_result() -> None:
    """Chunks that do not divide the range give the same survivors as one chunk."""
    gen_name, draw = "xorshift32", DEFAULT_DRAW["xorshift32"]
    seed = planted_seed(gen_name)
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 700,
        seed_stop=seed + 300,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
        max_misses=N_DRAWS - 2,
    )
    whole = cpu_scan(spec)
    chunked = cpu_scan(spec, chunk=97)
    assert whole.survivors.height >= 1
    assert_frame_equal(whole.survivors, chunked.survivors)
    assert chunked.candidates_scanned == spec.candidates


def first_word_rejected_seed(gen_name: str, start: int, offset: int) -> int:
    """The first seed >= start whose word ``offset`` randint:1000 rejects (masked >= 1000)."""
    gen = get_generator(gen_name)
    seed = start
    while int(gen.outputs(seed, 1, skip=offset)[0]) & 1023 < 1000:
        seed += 1
    return seed


@pytest.mark.parametrize("gen_name", ["pcg32", "mt19937"])  # register / mt-lazy prefilter
def test_rejected_first_word_does_not_hide_the_seed(gen_name: str) -> None:
    """A true seed whose first draw rejects a word survives a one-offset, one-gap scan."""
    draw = DEFAULT_DRAW[gen_name]
    assert draw == "randint:1000"
    seed = first_word_rejected_seed(gen_name, planted_seed(gen_name), OFFSET)
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 20,
        seed_stop=seed + 20,
        offset_start=OFFSET,
        offset_stop=OFFSET + 1,
        gap_min=GAP,
        gap_max=GAP,
    )
    assert reference_scan(spec).survivors.select("seed", "offset", "gap").rows() == [
        (seed, OFFSET, GAP)
    ]
    assert cpu_scan(spec).survivors.select("seed", "offset", "gap").rows() == [(seed, OFFSET, GAP)]


@pytest.mark.parametrize("last_word", [272, 273])
def test_go_lazy_filter_boundary(last_word: int) -> None:
    """go_rand seed scans whose filter words end at 272 (go-lazy filter: ring words only) or 273
    (generic walk) recover the planted seed, in partial lane groups and odd chunks; also the top
    seed 2^31 - 1, which reduces to 0 and so acts as 89482311."""
    gen_name = "go_rand"
    draw = DEFAULT_DRAW[gen_name]
    offset = last_word - 1  # max_misses 0 filters 2 draws: last word = offset_stop - 1 + 1
    for seed, lo, hi in ((planted_seed(gen_name) + 5, 101, 190), (2**31 - 1, 300, 1)):
        draws = plant(gen_name, draw, seed, N_DRAWS, offset, 0)
        spec = ScanSpec(
            gen_name,
            draw,
            draws,
            seed_start=seed - lo,
            seed_stop=seed + hi,
            offset_start=offset - 3,
            offset_stop=offset + 1,
            gap_min=0,
            gap_max=0,
        )
        same = equivalent_candidates(
            gen_name, draw, seed, draws, range(offset - 3, offset + 1), range(1)
        )
        assert (seed, offset, 0) in same
        for chunk in (None, 97):
            result = cpu_scan(spec, chunk=chunk)
            assert ("go-lazy" in result.backend) == (last_word < 273), result.backend
            assert result.survivors.select("seed", "offset", "gap").rows() == same
        small = dataclasses.replace(spec, seed_start=seed - 3, seed_stop=seed + 1)
        assert_same_survivors(cpu_scan(small), reference_scan(small))


@pytest.mark.parametrize("seed", [161_803_399, 2**31 - 1])
def test_dotnet_lanes_filter(seed: int) -> None:
    """dotnet_random's lane-wise seeding flags what the generic walk finds: around a seed whose
    seeding wraps an int (above 161803398) and at the top of the 31-bit space (a partial lane
    group), exact, and loose enough (one match of 8) that chance survivors are compared too."""
    gen_name = "dotnet_random"
    draw = DEFAULT_DRAW[gen_name]
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name, draw, draws, seed_start=seed - 300, seed_stop=seed + 1,
        offset_start=0, offset_stop=6, gap_min=0, gap_max=3,
    )
    for chunk in (None, 97):
        result = cpu_scan(spec, chunk=chunk)
        assert "dotnet-lanes" in result.backend
        assert result.survivors.select("seed", "offset", "gap").rows() == [(seed, OFFSET, GAP)]
    loose = dataclasses.replace(spec, seed_start=seed - 6, max_misses=N_DRAWS - 1)
    assert_same_survivors(cpu_scan(loose), reference_scan(loose))


@pytest.mark.parametrize("last_word", [226, 227])
def test_mt_lazy_filter_boundary(last_word: int) -> None:
    """MT19937 seed scans whose filter words end at 226 (lazy filter) or 227 (generic walk)
    recover the planted seed in partial 64-seed lane groups and odd chunks."""
    gen_name = "mt19937"
    draw = DEFAULT_DRAW[gen_name]
    offset = last_word - 1  # max_misses 0 filters 2 draws: last word = offset_stop - 1 + 1
    seed = planted_seed(gen_name) + 5
    draws = plant(gen_name, draw, seed, N_DRAWS, offset, 0)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 101,
        seed_stop=seed + 190,
        offset_start=offset - 3,
        offset_stop=offset + 1,
        gap_min=0,
        gap_max=0,
    )
    same = equivalent_candidates(
        gen_name, draw, seed, draws, range(offset - 3, offset + 1), range(1)
    )
    assert (seed, offset, 0) in same
    for chunk in (None, 97):
        result = cpu_scan(spec, chunk=chunk)
        assert ("mt-lazy" in result.backend) == (last_word < 227), result.backend
        assert result.survivors.select("seed", "offset", "gap").rows() == same
    small = dataclasses.replace(spec, seed_start=seed - 3, seed_stop=seed + 3)
    assert_same_survivors(cpu_scan(small), reference_scan(small))


# ---------------------------------------------------------------------------- 2. variable gaps


VARIABLE_GENS = ["lcg32", "java_random", "mt19937"]


@pytest.mark.parametrize("gen_name", VARIABLE_GENS)
def test_variable_gaps_are_recovered(gen_name: str) -> None:
    """Random planted gaps in [1, 4] come back as the survivor's ``gaps`` list."""
    draw, n = DEFAULT_DRAW[gen_name], 10
    seed = planted_seed(gen_name) + 1
    draws, gaps = plant_greedy(gen_name, draw, seed, n, OFFSET, 1, 4, np.random.default_rng(7))
    assert len(set(gaps)) > 1, "the planted gaps should vary"
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 2000,
        seed_stop=seed + 2096,
        offset_start=0,
        offset_stop=5,
        gap_min=1,
        gap_max=4,
        variable_gap=True,
    )
    result = cpu_scan(spec)
    assert result.candidates_scanned == spec.candidates == WINDOW * 5
    assert result.null_expected < 1e-6
    planted = {
        "seed": seed,
        "generator": gen_name,
        "draw": draw,
        "offset": OFFSET,
        "gap": -1,
        "gaps": gaps,
        "strategy": None,  # the strictest strategy that fits: set from the scan below
        "forward_matches": n,
        "reverse_matches": 0,
        "matches": n,
        "match_rate": 1.0,
    }
    found = rows(result)
    kept = [r["strategy"] for r in found if r["seed"] == seed and r["offset"] == OFFSET]
    assert len(kept) == 1 and kept[0] in {g.value for g in GapStrategy}, kept
    planted["strategy"] = kept[0]
    assert planted in found
    # Others may only be the same seed at an offset that rejection sampling makes equivalent.
    for row in found:
        assert (row["seed"], row["matches"]) == (seed, n), row
        assert plant(gen_name, draw, seed, n, row["offset"], row["gaps"]) == draws, row
    if parse_draw(draw).kind == "mod":
        assert found == [planted]

    small = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 8,
        seed_stop=seed + 8,
        offset_start=0,
        offset_stop=5,
        gap_min=1,
        gap_max=4,
        variable_gap=True,
        max_misses=n - 1,
    )
    cpu = cpu_scan(small)
    assert_same_survivors(cpu, reference_scan(small))
    assert cpu.survivors.height > 1, "chance survivors (with misses) should be compared too"


MISS_GENS = ["msvc_rand", "python_random"]


@pytest.mark.parametrize("gen_name", MISS_GENS)
def test_max_misses(gen_name: str) -> None:
    """Two corrupted draws: max_misses=2 keeps the seed with n-2 matches, max_misses=1 drops it."""
    draw, n = DEFAULT_DRAW[gen_name], 10
    seed = planted_seed(gen_name) + 2
    rng = np.random.default_rng(11)
    truth = plant(gen_name, draw, seed, n, OFFSET, GAP)
    draws = list(truth)
    for i in (2, 7):
        draws[i] = other_value(draw, draws[i], rng)
    kw = dict(
        seed_start=seed - 1000,
        seed_stop=seed + 1000,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
    )
    two = cpu_scan(ScanSpec(gen_name, draw, tuple(draws), max_misses=2, **kw))
    assert two.null_expected < 1e-6
    exact = equivalent_candidates(gen_name, draw, seed, truth, range(6), range(4))
    assert (seed, OFFSET, GAP) in exact
    assert two.survivors.select("seed", "offset", "gap", "matches", "match_rate").rows() == [
        (*c, n - 2, (n - 2) / n) for c in exact
    ]
    one = cpu_scan(ScanSpec(gen_name, draw, tuple(draws), max_misses=1, **kw))
    assert one.survivors.height == 0

    small = ScanSpec(
        gen_name,
        draw,
        tuple(draws),
        seed_start=seed - 4,
        seed_stop=seed + 4,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
        max_misses=2,
    )
    assert_same_survivors(cpu_scan(small), reference_scan(small))


# ---------------------------------------------------------------------------- 3. state scans

STATE_N, STATE_ANCHOR = 10, 4


def _state_case(gen_name: str) -> tuple[str, tuple[int, ...], int, int]:
    """(draw, draws, seed, state before draw STATE_ANCHOR) for a planted history.

    The seed is chosen so that the anchor state is below 2^63 (states above are covered by
    test_state_scan_above_2_63).
    """
    draw = STATE_DRAW[gen_name]
    words = OFFSET + STATE_ANCHOR * (1 + GAP)  # every draw here consumes exactly one word
    seed = planted_seed(gen_name) + 3
    while (w := state_before(gen_name, seed, words)) >= SIGN_BIT:
        seed += 1
    draws = plant(gen_name, draw, seed, STATE_N, OFFSET, GAP)
    return draw, draws, seed, w


def _state_spec(
    gen_name: str, draw: str, draws: Sequence[int], w: int, half: int, max_misses: int = 0
) -> ScanSpec:
    top = 1 << get_generator(gen_name).state_bits
    start = max(0, w - half)
    return ScanSpec(
        gen_name,
        draw,
        tuple(draws),
        seed_start=start,
        seed_stop=min(top, w + half),
        gap_min=0,
        gap_max=3,
        mode="state",
        anchor=STATE_ANCHOR,
        max_misses=max_misses,
    )


STATE_GENS = list(STATE_DRAW)


@pytest.mark.parametrize("gen_name", STATE_GENS)
def test_state_scan_finds_the_anchor_state(gen_name: str) -> None:
    """The state before draw ``anchor`` survives, matching forward n-anchor and back anchor."""
    draw, draws, _seed, w = _state_case(gen_name)
    spec = _state_spec(gen_name, draw, draws, w, 2048)
    result = cpu_scan(spec)
    assert result.complete and result.null_expected < 1e-6
    assert rows(result) == [
        {
            "seed": w,
            "generator": gen_name,
            "draw": draw,
            "offset": 0,
            "gap": GAP,
            "gaps": [],
            "strategy": None,
            "forward_matches": STATE_N - STATE_ANCHOR,
            "reverse_matches": STATE_ANCHOR,
            "matches": STATE_N,
            "match_rate": 1.0,
        }
    ]
    small = _state_spec(gen_name, draw, draws, w, 16, max_misses=STATE_N - 1)
    assert_same_survivors(cpu_scan(small), reference_scan(small))


@pytest.mark.parametrize("gen_name", ["java_lcg", "xorshift32"])
def test_state_scan_reverse_pass_is_not_the_forward_pass(gen_name: str) -> None:
    """Only one side of the anchor is true: the counts must tell the two sides apart."""
    draw, draws, _seed, w = _state_case(gen_name)
    rng = np.random.default_rng(5)
    a, n = STATE_ANCHOR, STATE_N
    bad_before = [other_value(draw, v, rng) if i < a else v for i, v in enumerate(draws)]
    bad_after = [other_value(draw, v, rng) if i >= a else v for i, v in enumerate(draws)]

    def row_at_truth(spec: ScanSpec) -> list[tuple[int, int]]:
        result = cpu_scan(spec)
        assert_same_survivors(result, reference_scan(spec))
        found = result.survivors.filter((pl.col("seed") == w) & (pl.col("gap") == GAP))
        return found.select("forward_matches", "reverse_matches").rows()

    assert row_at_truth(_state_spec(gen_name, draw, bad_before, w, 8)) == []
    assert row_at_truth(_state_spec(gen_name, draw, bad_before, w, 8, max_misses=a)) == [(n - a, 0)]
    assert row_at_truth(_state_spec(gen_name, draw, bad_after, w, 8)) == []
    assert row_at_truth(_state_spec(gen_name, draw, bad_after, w, 8, max_misses=n - a)) == [(0, a)]


def test_state_scan_above_2_63() -> None:
    """A 64-bit anchor state with the top bit set is found like any other."""
    gen_name = "pcg32_original"
    draw = STATE_DRAW[gen_name]
    words = OFFSET + STATE_ANCHOR * (1 + GAP)
    seed = planted_seed(gen_name) + 3
    while (w := state_before(gen_name, seed, words)) < SIGN_BIT:
        seed += 1
    draws = plant(gen_name, draw, seed, STATE_N, OFFSET, GAP)
    spec = _state_spec(gen_name, draw, draws, w, 8)
    assert reference_scan(spec).survivors.select("seed", "gap").rows() == [(w, GAP)]
    assert cpu_scan(spec).survivors.select("seed", "gap").rows() == [(w, GAP)]


# ---------------------------------------------------------------------------- edge specs

# Small scans with many chance survivors, on kernels compiled above: cpu == reference.
EDGE_SPECS = {
    "one draw": dict(draws=(7,), offset_start=1, offset_stop=4, gap_min=0, gap_max=2),
    "one draw, variable": dict(draws=(7,), offset_stop=3, gap_max=2, variable_gap=True),
    "offset_start > 0": dict(draws=(7, 8, 9), offset_start=2, offset_stop=5, max_misses=2),
    "gap_min > 0": dict(draws=(7, 8, 9), gap_min=2, gap_max=4, max_misses=2),
    "variable, misses": dict(
        draws=(7, 8, 9, 10), gap_min=1, gap_max=3, variable_gap=True, max_misses=3
    ),
    "state, anchor 0": dict(draws=(7, 8, 9), mode="state", gap_max=2, max_misses=2),
    "state, last anchor": dict(
        draws=(7, 8, 9), mode="state", anchor=2, gap_min=1, gap_max=2, max_misses=2
    ),
}


@pytest.mark.parametrize("kw", EDGE_SPECS.values(), ids=EDGE_SPECS.keys())
def test_edge_specs_agree_with_reference(kw: dict) -> None:
    """Degenerate shapes (one draw, anchors at the ends, ...) give the reference's survivors."""
    gen_name = "xorshift32"
    spec = ScanSpec(gen_name, DEFAULT_DRAW[gen_name], seed_start=1000, seed_stop=2024, **kw)
    cpu = cpu_scan(spec)
    assert cpu.survivors.height > 0
    assert_same_survivors(cpu, reference_scan(spec))


def test_variable_scan_with_one_gap_is_the_constant_scan() -> None:
    """gap_min == gap_max leaves the greedy rule no choice: same survivors as a constant gap."""
    gen_name = "lcg32"
    draw = DEFAULT_DRAW[gen_name]
    kw = dict(seed_start=5000, seed_stop=5512, offset_stop=4, gap_min=2, gap_max=2)
    draws = (7, 8, 9, 10, 11)
    const = cpu_scan(ScanSpec(gen_name, draw, draws, max_misses=4, **kw))
    var = cpu_scan(ScanSpec(gen_name, draw, draws, max_misses=4, variable_gap=True, **kw))
    assert const.survivors.height > 0
    assert_frame_equal(var.survivors.drop("gap", "gaps", "strategy"),
                       const.survivors.drop("gap", "gaps", "strategy"))
    assert var.survivors["gaps"].to_list() == [[2] * 4] * var.survivors.height


# ---------------------------------------------------------------------------- 4. null model

# (generator, draws, offsets, gaps, variable, max_misses, min p-value). Each is sized so that
# ScanResult.null_expected is ~20-50. Variable gaps: the null model treats the gap choices of a
# draw as independent chances (1 - (1-p)^choices); that is an approximation, so the tolerance
# is looser there.
NULL_CASES = [
    ("xorshift64", 2, 64, 64, False, 0, 1e-3),
    ("pcg32", 2, 64, 64, False, 0, 1e-3),
    ("sfc64", 2, 64, 64, False, 0, 1e-3),
    ("xorshift64", 3, 40, 40, False, 1, 1e-3),
    ("pcg32", 3, 1024, 64, True, 0, 1e-5),
]


@pytest.mark.parametrize(
    ("gen_name", "n", "n_offsets", "n_gaps", "variable", "max_misses", "alpha"),
    NULL_CASES,
    ids=[f"{c[0]}-n{c[1]}-{'var' if c[4] else 'const'}-miss{c[5]}" for c in NULL_CASES],
)
def test_null_survivors_match_the_null_model(
    gen_name: str,
    n: int,
    n_offsets: int,
    n_gaps: int,
    variable: bool,
    max_misses: int,
    alpha: float,
) -> None:
    """Random draws: the survivor count is Poisson-consistent with ``null_expected``."""
    draw = DEFAULT_DRAW[gen_name]
    dspec = parse_draw(draw)
    rng = np.random.default_rng(20240611 + n + n_gaps)
    draws = tuple(int(v) for v in rng.integers(dspec.low, dspec.low + dspec.n_values, size=n))
    n_seeds = 1 << 13
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=0x5_0000_0000,
        seed_stop=0x5_0000_0000 + n_seeds,
        offset_start=0,
        offset_stop=n_offsets,
        gap_min=0,
        gap_max=n_gaps - 1,
        variable_gap=variable,
        max_misses=max_misses,
    )
    result = cpu_scan(spec)
    expected = result.null_expected
    assert expected == pytest.approx(spec.null_expected())
    assert 15 < expected < 60, f"mis-sized null case: expected {expected:.1f}"
    observed = result.survivors.height
    p = poisson_two_sided(observed, expected)
    assert p > alpha, f"{observed} survivors vs {expected:.1f} expected (two-sided p={p:.2e})"
    assert (result.survivors["matches"] >= n - max_misses).all()


# ---------------------------------------------------------------------------- 5. bad specs

BASE = dict(generator="xorshift32", draw="mod:1000", draws=(1, 2, 3), seed_start=0, seed_stop=100)

BAD_SPECS = [
    ("empty draws", dict(draws=()), r"no draws given"),
    ("value above range", dict(draws=(1, 1000, 3)), r"draw #1 = 1000 is outside mod:1000"),
    ("negative value", dict(draws=(-1, 2, 3)), r"draw #0 = -1 is outside"),
    (
        "mt_rand below min",
        dict(generator="php_mt_rand", draw="mt_rand:1:1000", draws=(0, 5)),
        r"draw #0 = 0 is outside mt_rand:1:1000's range \[1, 1001\)",
    ),
    (
        "inverted seed range",
        dict(seed_start=100, seed_stop=50),
        r"seed range 100:50 is empty, inverted or beyond",
    ),
    ("empty seed range", dict(seed_start=100, seed_stop=100), r"seed range 100:100 is empty"),
    (
        "seed range beyond width",
        dict(seed_start=0, seed_stop=(1 << 32) + 1),
        r"beyond xorshift32's 32-bit seed space",
    ),
    (
        "state range beyond width",
        dict(generator="lcg32", mode="state", seed_stop=1 << 32),
        r"beyond lcg32's 31-bit state space",
    ),
    ("gap_min > gap_max", dict(gap_min=3, gap_max=1), r"gap range 3:1 needs 0 <= min <= max"),
    ("negative gap", dict(gap_min=-1, gap_max=1), r"gap range -1:1"),
    ("empty offsets", dict(offset_start=5, offset_stop=5), r"offset range 5:5 is empty"),
    ("max_misses == n", dict(max_misses=3), r"max_misses 3 must be in \[0, 3\)"),
    ("negative max_misses", dict(max_misses=-1), r"max_misses -1 must be in"),
    (
        "state scan on mt19937",
        dict(generator="mt19937", mode="state"),
        r"mt19937's state does not fit 64 bits: no state scan",
    ),
    (
        "state scan on glibc",
        dict(generator="glibc_rand", mode="state"),
        r"glibc_rand's state does not fit 64 bits",
    ),
    ("anchor out of range", dict(mode="state", anchor=3), r"anchor 3 is not a draw index"),
    (
        "state scan with variable gaps",
        dict(mode="state", variable_gap=True),
        r"state scans use a constant gap",
    ),
    (
        "incompatible pair",
        dict(generator="msvc_rand", draw="nextint:1000"),
        r"needs words of at least 31 bits; msvc_rand produces 15-bit words",
    ),
    ("unknown draw function", dict(draw="dice:6"), r"unknown draw function 'dice'"),
]


@pytest.mark.parametrize(
    ("overrides", "message"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_bad_spec_is_refused(overrides: dict, message: str) -> None:
    """validate() names the problem; both executors refuse before scanning."""
    spec = ScanSpec(**(BASE | overrides))
    with pytest.raises(ValueError, match=message):
        spec.validate()
    with pytest.raises(ValueError, match=message):
        reference_scan(spec)
    with pytest.raises(ValueError, match=message):
        cpu_scan(spec)


def test_unknown_generator_names_the_valid_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown generator 'nope'; valid: .*xorshift32"):
        ScanSpec(**(BASE | {"generator": "nope"})).validate()


def test_good_spec_is_accepted() -> None:
    ScanSpec(**BASE).validate()
    spec = ScanSpec(**(BASE | {"mode": "state", "anchor": 2, "seed_stop": 1 << 32}))
    spec.validate()
    assert spec.mode is ScanMode.STATE  # the plain string is converted


def test_unknown_scan_mode_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match=r"unknown scan mode 'states'; valid: seed, state"):
        ScanSpec(**(BASE | {"mode": "states"}))


# ---------------------------------------------------------------------------- 6. interruption


def test_interrupted_scan_keeps_what_it_found() -> None:
    """A KeyboardInterrupt after the first chunk returns a partial, honest result."""
    gen_name, draw = "xorshift32", DEFAULT_DRAW["xorshift32"]
    seed = planted_seed(gen_name)
    draws = plant(gen_name, draw, seed, N_DRAWS, OFFSET, GAP)
    spec = ScanSpec(
        gen_name,
        draw,
        draws,
        seed_start=seed - 100,
        seed_stop=seed - 100 + 8192,
        offset_start=0,
        offset_stop=6,
        gap_min=0,
        gap_max=3,
    )
    calls: list[tuple[int, int, int]] = []

    def stop(done: int, total: int, survivors: int) -> None:
        calls.append((done, total, survivors))
        raise KeyboardInterrupt

    try:
        result = cpu_scan(spec, chunk=1024, progress=stop)
    except KeyboardInterrupt:  # must not escape: it would end the whole pytest session
        pytest.fail("cpu_scan let KeyboardInterrupt escape")
    per_seed = 6 * 4
    assert calls == [(1024 * per_seed, spec.candidates, 1)]
    assert result.complete is False
    assert result.candidates_scanned == 1024 * per_seed < spec.candidates
    assert result.survivors.select("seed", "offset", "gap").rows() == [(seed, OFFSET, GAP)]
    assert result.null_expected == pytest.approx(spec.null_expected() * 1024 / 8192)

    seen: list[tuple[int, int, int]] = []
    full = cpu_scan(spec, chunk=1024, progress=lambda *a: seen.append(a))
    assert full.complete and full.candidates_scanned == spec.candidates
    assert [d for d, _, _ in seen] == [1024 * per_seed * k for k in range(1, 9)]
    assert seen[-1] == (spec.candidates, spec.candidates, 1)
