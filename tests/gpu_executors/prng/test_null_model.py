"""The null model against brute-force enumeration and exact counting formulas.

``value_probabilities`` must be the exact distribution of a draw under uniform words: checked by
enumerating every word where the word space is small (15-bit msvc words, the masked/shifted
spaces of the rejection samplers), by exact integer counting formulas elsewhere, and for legacy
PHP mt_rand by locating, with the drawer's own float arithmetic, the first word of every value.
No numba kernel of the sieve is compiled here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.prng.null_model import (
    draw_match_probabilities,
    evidence,
    null_expected,
    pass_probability,
    survivor_p_value,
    value_probabilities,
)
from gpu_executors.sieve.spec import ScanSpec
from gpu_executors.sieve.strategies import GapStrategy


def all_probabilities(gen: Generator, draw: str) -> np.ndarray:
    """value_probabilities over every value of the draw, indexed from the lowest value."""
    spec = parse_draw(draw)
    values = np.arange(spec.low, spec.low + spec.n_values, dtype=np.int64)
    return value_probabilities(gen, spec, values)


def assert_distribution(got: np.ndarray, counts: np.ndarray, total: int) -> None:
    """``got`` equals counts / total (exact counts of words per value) and sums to 1."""
    assert int(np.sum(counts, dtype=object)) == total
    np.testing.assert_allclose(got, counts.astype(np.float64) / float(total), rtol=1e-12, atol=0)
    assert got.sum() == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------------------- mod


@pytest.mark.parametrize("m", [1000, 7, 32768, 1])
def test_mod_on_15_bit_words_by_enumeration(m: int) -> None:
    """msvc_rand: all 2^15 words, bincount of word % M (mod:1000 is biased: 33 vs 32 words)."""
    gen = get_generator("msvc_rand")
    assert gen.output_bits == 15
    counts = np.bincount(np.arange(1 << 15) % m, minlength=m)
    got = all_probabilities(gen, f"mod:{m}")
    assert_distribution(got, counts, 1 << 15)
    if m == 1000:
        assert got[0] / got[999] == pytest.approx(33 / 32)


@pytest.mark.parametrize(
    ("gen_name", "m"),
    [
        ("lcg32", 1000),
        ("minstd", 999_983),
        ("xorshift32", 1000),
        ("xorshift64", 1000),
        ("sfc64", 999_983),
        ("pcg32", 65536),
    ],
)
def test_mod_by_exact_counting(gen_name: str, m: int) -> None:
    """#{w < 2^bits : w % M == v} = (2^bits - 1 - v) // M + 1, in exact integers."""
    gen = get_generator(gen_name)
    total = 1 << gen.output_bits
    v = np.arange(m, dtype=object)
    counts = (total - 1 - v) // m + 1
    assert_distribution(all_probabilities(gen, f"mod:{m}"), counts, total)


def test_mod_bias_is_visible_on_31_bit_words() -> None:
    """2^31 % 1000 = 648: values below 648 take one more word than the others."""
    p = all_probabilities(get_generator("lcg32"), "mod:1000")
    q = (1 << 31) // 1000
    assert p[647] == (q + 1) / 2**31 and p[648] == q / 2**31


# ---------------------------------------------------------------------------- rejection samplers


@pytest.mark.parametrize("bound", [1000, 7, 1, 999_983, 1024, 1 << 20, 2])
def test_nextint_by_exact_counting(bound: int) -> None:
    """Java nextInt: r = word >> (bits-31); power of two: (bound*r) >> 31; else r % bound with
    r rejected when r - r % bound + bound - 1 >= 2^31."""
    total = 1 << 31
    v = np.arange(bound + 1, dtype=object)
    if bound & (bound - 1) == 0:
        # r maps to v iff v*2^31 <= bound*r < (v+1)*2^31: the r in [ceil(v*2^31/bound), ...)
        counts = np.diff(-((-v * total) // bound))
        accepted = total
    else:
        # accepted r = k*bound + v with k*bound + bound - 1 < 2^31, for every v alike
        k_max = (total - bound) // bound
        counts = np.full(bound, k_max + 1, dtype=object)
        accepted = int(counts.sum())
    for gen_name in ("java_random", "glibc_rand"):  # 32- and 31-bit words
        assert_distribution(
            all_probabilities(get_generator(gen_name), f"nextint:{bound}"), counts, accepted
        )


@pytest.mark.parametrize("m", [1000, 7, 1, 1024, 1025, 65537])
def test_randint_by_enumerating_masked_words(m: int) -> None:
    """numpy legacy randint(0, M): every masked word u in [0, mask], kept when u <= M-1."""
    mask = (1 << (m - 1).bit_length()) - 1
    u = np.arange(mask + 1)
    kept = u[u <= m - 1]
    counts = np.bincount(kept, minlength=m)
    got = all_probabilities(get_generator("mt19937"), f"randint:{m}")
    assert_distribution(got, counts, kept.size)


@pytest.mark.parametrize("n", [1000, 7, 1, 1024, 1025, 65537])
def test_randrange_by_enumerating_shifted_words(n: int) -> None:
    """CPython randrange(n): every r = word >> (32-k), k = n.bit_length(), kept when r < n."""
    k = n.bit_length()
    r = np.arange(1 << k)
    kept = r[r < n]
    counts = np.bincount(kept, minlength=n)
    got = all_probabilities(get_generator("python_random"), f"randrange:{n}")
    assert_distribution(got, counts, kept.size)


@pytest.mark.parametrize(("lo", "hi"), [(1, 1000), (0, 6), (5, 1028), (0, 999_999), (3, 3)])
def test_mt_rand_by_exact_counting(lo: int, hi: int) -> None:
    """PHP 7.1+ mt_rand(lo, hi): r % umax over r <= UINT32_MAX - UINT32_MAX % umax - 1."""
    umax = hi - lo + 1
    v = np.arange(umax, dtype=object)
    if umax & (umax - 1) == 0:
        counts = np.full(umax, (1 << 32) // umax, dtype=object)
        accepted = 1 << 32
    else:
        limit = 0xFFFFFFFF - (0xFFFFFFFF % umax) - 1
        counts = (limit - v) // umax + 1
        accepted = limit + 1
    got = all_probabilities(get_generator("php_mt_rand"), f"mt_rand:{lo}:{hi}")
    assert_distribution(got, counts, accepted)


# ---------------------------------------------------------------------------- legacy mt_rand


def _legacy_scale(span: int, n: np.ndarray) -> np.ndarray:
    """The legacy drawer's arithmetic: floor(span * (n / 2^31)) in float64."""
    return np.floor(float(span) * (n.astype(np.float64) / 2147483648.0)).astype(np.int64)


def test_legacy_scale_replica_matches_the_drawer() -> None:
    """The float replica above is what php_mt_rand_legacy's mt_rand drawer computes."""
    gen = get_generator("php_mt_rand_legacy")
    for lo, hi in [(1, 1000), (0, 999_982)]:
        words = gen.outputs(20240611, 500)
        draws = generate_draws(gen, parse_draw(f"mt_rand:{lo}:{hi}"), 20240611, 500)
        expected = lo + _legacy_scale(hi - lo + 1, (words >> np.uint64(1)).astype(np.int64))
        np.testing.assert_array_equal(draws, expected)


@pytest.mark.parametrize("span", [1000, 7, 1, 1024, 999_983, 3_000_017])
def test_mt_rand_legacy_by_locating_every_boundary(span: int) -> None:
    """Legacy PHP scaling of n = word >> 1 in [0, 2^31) is monotone in n, so the words of value
    v are [first(v), first(v+1)); first() is found by bisection with the drawer's arithmetic."""
    total = 1 << 31
    targets = np.arange(span + 1, dtype=np.int64)
    lo = np.zeros(span + 1, dtype=np.int64)
    hi = np.full(span + 1, total, dtype=np.int64)  # first(v) in [lo, hi]; first(span) = 2^31
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        reached = _legacy_scale(span, mid) >= targets
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid + 1)
    counts = np.diff(lo)
    got = all_probabilities(get_generator("php_mt_rand_legacy"), f"mt_rand:0:{span - 1}")
    assert_distribution(got, counts, total)
    if span == 999_983:
        assert counts.min() < counts.max(), "legacy scaling is biased for this span"


# ---------------------------------------------------------------------------- shared checks


def test_values_outside_the_range_have_probability_zero() -> None:
    gen = get_generator("php_mt_rand")
    p = value_probabilities(gen, parse_draw("mt_rand:1:1000"), np.array([0, 1, 1000, 1001, -5]))
    assert p.tolist() == [0.0, 1 / 1000, 1 / 1000, 0.0, 0.0]


@pytest.mark.parametrize("n", [1, 5, 20])
@pytest.mark.parametrize("p", [0.001, 0.3, 0.9])
def test_pass_probability_is_binomial_for_equal_probabilities(n: int, p: float) -> None:
    """Misses ~ Binomial(n, 1-p): P(misses <= k) for every k, including k >= n."""
    for k in range(n + 2):
        got = pass_probability(np.full(n, p), k)
        assert got == pytest.approx(stats.binom.cdf(k, n, 1 - p), rel=1e-10, abs=1e-300)


def test_pass_probability_by_enumeration_for_unequal_probabilities() -> None:
    """Poisson-binomial: sum over all 2^n hit/miss patterns."""
    probs = np.array([0.001, 0.5, 0.02, 0.9, 0.3, 0.07])
    for k in range(len(probs) + 1):
        brute = 0.0
        for hits in itertools.product((True, False), repeat=len(probs)):
            if hits.count(False) <= k:
                brute += math.prod(p if h else 1 - p for p, h in zip(probs, hits, strict=True))
        assert pass_probability(probs, k) == pytest.approx(brute, rel=1e-12)


def test_pass_probability_of_no_draws_is_one() -> None:
    assert pass_probability(np.array([]), 0) == 1.0


def test_variable_gap_match_probabilities() -> None:
    """Draw 0 at one position; each later draw at any of ``gap_choices`` positions."""
    gen, spec = get_generator("xorshift32"), parse_draw("mod:1000")
    draws = np.array([1, 2, 3])
    p = draw_match_probabilities(gen, spec, draws, gap_choices=4)
    q = value_probabilities(gen, spec, draws)
    np.testing.assert_allclose(p, [q[0], 1 - (1 - q[1]) ** 4, 1 - (1 - q[2]) ** 4])
    np.testing.assert_array_equal(draw_match_probabilities(gen, spec, draws), q)


def test_null_expected_of_a_scan_spec() -> None:
    """candidates x pass probability; variable gaps count gap choices, not candidates."""
    const = ScanSpec(
        "xorshift32",
        "mod:1000",
        (1, 2, 3),
        seed_start=0,
        seed_stop=1000,
        offset_stop=10,
        gap_min=0,
        gap_max=4,
        max_misses=1,
    )
    p = value_probabilities(const.gen, const.draw_spec, const.observed())
    assert const.candidates == 1000 * 10 * 5
    assert const.null_expected() == pytest.approx(const.candidates * pass_probability(p, 1))
    var = ScanSpec(
        "xorshift32",
        "mod:1000",
        (1, 2, 3),
        seed_start=0,
        seed_stop=1000,
        offset_stop=10,
        gap_min=0,
        gap_max=4,
        variable_gap=True,
        gap_strategies=("greedy",),
    )
    assert var.candidates == 1000 * 10
    assert var.null_expected() == pytest.approx(
        null_expected(var.gen, var.draw_spec, var.observed(), var.candidates, 0, 5)
    )
    # Every strategy: the union bound, the sum of each strategy's expected count.
    each = [dataclasses.replace(var, gap_strategies=(s,)).null_expected() for s in GapStrategy]
    assert dataclasses.replace(var, gap_strategies=tuple(GapStrategy)).null_expected() == (
        pytest.approx(sum(each)))


def test_survivor_p_value_edge_cases() -> None:
    """P(Poisson(expected) >= observed), with the degenerate ends spelled out."""
    assert survivor_p_value(0, 3.0) == 1.0
    assert survivor_p_value(-2, 3.0) == 1.0
    assert survivor_p_value(0, 0.0) == 1.0
    assert survivor_p_value(1, 0.0) == 0.0
    assert survivor_p_value(1, -1.0) == 0.0
    assert survivor_p_value(1, 1e-9) == pytest.approx(1e-9, rel=1e-6)
    assert survivor_p_value(1, 2.0) == pytest.approx(1 - math.exp(-2.0))
    assert survivor_p_value(5, 2.0) == pytest.approx(stats.poisson.sf(4, 2.0))
    assert 0.0 <= survivor_p_value(10_000, 1.0) < 1e-300
    seq = [survivor_p_value(k, 4.0) for k in range(12)]
    assert all(a >= b for a, b in itertools.pairwise(seq))
    assert survivor_p_value(3, 1.0) < survivor_p_value(3, 2.0)


def test_evidence_is_capped() -> None:
    assert evidence(0, 5.0) == 0.0
    assert evidence(1, 0.0) == 320.0
    assert evidence(3, 1.0) == pytest.approx(-math.log10(stats.poisson.sf(2, 1.0)))



# ---------------------------------------------------------------------------- .NET Next


def _dotnet_first(scale, targets: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Least x in [lo, hi] with scale(x) >= target (hi where none), by bisection."""
    a = np.full(targets.shape, lo, dtype=np.int64)
    b = np.full(targets.shape, hi, dtype=np.int64)
    while np.any(a < b):
        mid = (a + b) // 2
        reached = scale(mid) >= targets
        b = np.where(reached, mid, b)
        a = np.where(reached, a, mid + 1)
    return a


def test_dotnet_scale_replica_matches_the_drawer() -> None:
    """(int)(word * (1.0 / int.MaxValue) * n) in float64 is what dotnet_next's drawer computes."""
    gen = get_generator("dotnet_random")
    words = gen.outputs(987654, 500).astype(np.float64)
    for n in (1000, 999_983):
        draws = generate_draws(gen, parse_draw(f"dotnet_next:{n}"), 987654, 500)
        np.testing.assert_array_equal(draws, np.floor(words * (1.0 / 2147483647) * n))


@pytest.mark.parametrize("n", [1000, 7, 1, 1024, 999_983, 3_000_017])
def test_dotnet_next_by_locating_every_boundary(n: int) -> None:
    """Next(n) = floor(word / (2^31 - 1) * n) over words in [0, 2^31 - 1) is monotone in the
    word: the words of value v are [first(v), first(v+1)), found by bisection."""
    total = 2147483647

    def scale(r: np.ndarray) -> np.ndarray:
        return np.floor(r.astype(np.float64) * (1.0 / total) * n).astype(np.int64)

    counts = np.diff(_dotnet_first(scale, np.arange(n + 1, dtype=np.int64), 0, total))
    got = all_probabilities(get_generator("dotnet_random"), f"dotnet_next:{n}")
    assert_distribution(got, counts, total)
    if n == 999_983:
        assert counts.min() < counts.max(), "Next(n) is biased when n does not divide 2^31 - 1"


def test_dotnet_large_range_by_locating_boundaries() -> None:
    """Next(int.MinValue, int.MaxValue) takes x = +-word (minus when the next word is even) to
    floor((x + 2^31 - 2) / (2^32 - 3) * range): each value's x interval, weighted by the sign
    counts (2^30 even, 2^30 - 1 odd words of 2^31 - 1), gives its probability."""
    m, span = 2147483647, 2**32 - 1
    gen = get_generator("dotnet_random")
    spec = f"dotnet_range:{-(2**31)}:{2**31 - 1}"

    def scale(x: np.ndarray) -> np.ndarray:
        d = (x.astype(np.float64) + 2147483646.0) / 4294967293.0
        return np.floor(d * float(span)).astype(np.int64)

    v = np.unique(
        np.concatenate(
            [np.arange(5), span - 1 - np.arange(5), np.arange(2**31 - 5, 2**31 + 5),
             np.random.default_rng(3).integers(0, span, 2000)]
        )
    )
    a = _dotnet_first(scale, v, -(m - 1), m)
    b = _dotnet_first(scale, v + 1, -(m - 1), m)
    weights = np.array(
        [sum(2**30 if x < 0 else (2**30 - 1 if x > 0 else m) for x in range(lo, hi))
         for lo, hi in zip(a.tolist(), b.tolist(), strict=True)],
        dtype=np.float64,
    )
    got = value_probabilities(gen, parse_draw(spec), v - 2**31)
    np.testing.assert_allclose(got, weights / m / m, rtol=1e-12, atol=0)
    assert set(np.diff(np.stack([a, b]), axis=0).ravel().tolist()) <= {0, 1, 2}
