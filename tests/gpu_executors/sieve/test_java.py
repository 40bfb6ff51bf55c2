"""Smart Java seed recovery: planted seeds, completeness against brute force, routing, errors."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.java import lattice, recover
from gpu_executors.sieve.java.lcg import MULT, lcg_jump
from gpu_executors.sieve.java.recover import recover_java_seeds
from gpu_executors.sieve.spec import ScanResult, ScanSpec, survivors_frame

M = 1 << 48
MASK = M - 1


def _draws(gen: str, bound: int, seed: int, n: int, offset: int = 0, gap: int = 0) -> list[int]:
    spec = parse_draw(f"nextint:{bound}")
    return generate_draws(get_generator(gen), spec, seed, n, offset, gap).tolist()


def _reproduces(gen: str, bound: int, seeds: list[int], draws: list[int], offset: int, gap: int):
    return all(_draws(gen, bound, s, len(draws), offset, gap) == draws for s in seeds)


def _seeds(rng: random.Random, k: int) -> list[int]:
    """k random 48-bit seeds, the first one >= 2^47."""
    return [rng.getrandbits(48) | (1 << 47 if i == 0 else 0) for i in range(k)]


def _state_to_seed(t0: int, gen: str, offset: int) -> int:
    """Independent of the module: step back offset+1 times with the inverse multiplier."""
    inv = pow(MULT, -1, M)
    s = t0
    for _ in range(offset + 1):
        s = ((s - 0xB) * inv) & MASK
    return s ^ MULT if gen == "java_random" else s


def test_lcg_jump_matches_stepping():
    s0 = 0x123456789ABC
    s = s0
    for n in range(0, 40):
        a, c = lcg_jump(n)
        assert (a * s0 + c) & MASK == s
        s = (s * MULT + 0xB) & MASK
    a, c = lcg_jump(1000)
    s = s0
    for _ in range(1000):
        s = (s * MULT + 0xB) & MASK
    assert (a * s0 + c) & MASK == s


@pytest.mark.parametrize("gen", ["java_random", "java_lcg"])
@pytest.mark.parametrize(("n", "offset", "gap"), [(8, 0, 0), (6, 0, 0), (8, 2, 1), (6, 2, 1)])
def test_lifting_recovers_planted_seeds(gen: str, n: int, offset: int, gap: int):
    rng = random.Random(f"{gen}-{n}-{offset}-{gap}")
    for seed in _seeds(rng, 3):
        draws = _draws(gen, 1000, seed, n, offset, gap)
        res = recover_java_seeds(draws, 1000, generator=gen, offset=offset, gap=gap)
        found = res.survivors["seed"].to_list()
        assert seed in found
        assert _reproduces(gen, 1000, found, draws, offset, gap)
        assert res.extra["route"] == "lifting"
        assert res.extra["lift_bits"] == 3
        assert res.extra["failed_verification"] == 0
        assert set(res.survivors["offset"].to_list()) == {offset}
        assert set(res.survivors["gap"].to_list()) == {gap}
        assert res.survivors["matches"].to_list() == [n] * len(found)
        assert res.null_expected == pytest.approx(M / 1000**n)
        assert res.candidates_scanned < 2**17 + 64 * 2**21
        if n == 8:
            assert len(found) == 1


def test_four_draws_give_the_chance_candidates():
    """2^48 / 1000^4 ~ 281 seeds match by chance: the route lists them all, all genuine."""
    seed = 0xDEADBEEF1234
    draws = _draws("java_random", 1000, seed, 4)
    res = recover_java_seeds(draws, 1000)
    found = res.survivors["seed"].to_list()
    assert res.null_expected == pytest.approx(M / 1000**4, rel=1e-9)
    assert 200 < len(found) < 370  # Poisson(281): about +-5 sigma
    assert seed in found
    assert len(set(found)) == len(found)
    assert _reproduces("java_random", 1000, found, draws, 0, 0)


@pytest.mark.parametrize(("bound", "n", "k"), [(100, 8, 2), (6, 20, 1), (1_000_001, 4, 0)])
def test_other_non_power_of_two_bounds(bound: int, n: int, k: int):
    rng = random.Random(bound)
    for gen in ("java_random", "java_lcg"):
        (seed,) = _seeds(rng, 1)
        draws = _draws(gen, bound, seed, n, 1, 2)
        calls: list[tuple[int, int, int]] = []
        res = recover_java_seeds(
            draws,
            bound,
            generator=gen,
            offset=1,
            gap=2,
            progress=lambda *a, c=calls: c.append(a),
            route="lifting",  # the cost model may prefer the residue lattice here
        )
        found = res.survivors["seed"].to_list()
        assert seed in found
        assert _reproduces(gen, bound, found, draws, 1, 2)
        assert res.extra["route"] == "lifting"
        assert res.extra["lift_bits"] == k
        done = [c[0] for c in calls]
        assert done == sorted(done) and done[-1] == res.candidates_scanned == calls[-1][1]
        per = res.extra["stage2_per_survivor"]
        assert res.candidates_scanned == 2**17 + res.extra["stage1_survivors"] * per


@pytest.mark.parametrize("bound", [2 * 4_000_037, 8 * 1_000_003])
def test_lifting_is_complete_against_brute_force(bound: int):
    """Two draws of a huge even bound: every state in draw 0's residue class, checked in numpy."""
    gen, offset, gap = "java_random", 3, 1
    seed = 0x7A5C0FFEE123
    draws = _draws(gen, bound, seed, 2, offset, gap)
    a, c = lcg_jump(gap + 1)
    limit = (2**31 // bound) * bound
    lows = np.arange(1 << 17, dtype=np.uint64)
    states: list[int] = []
    for r0 in range(draws[0], limit, bound):
        t0 = (np.uint64(r0) << np.uint64(17)) | lows
        r1 = ((t0 * np.uint64(a) + np.uint64(c)) & np.uint64(MASK)) >> np.uint64(17)
        hit = (r1 < limit) & (r1 % np.uint64(bound) == draws[1])
        states += t0[hit].tolist()
    expected = sorted(_state_to_seed(int(t), gen, offset) for t in states)
    res = recover_java_seeds(draws, bound, generator=gen, offset=offset, gap=gap)
    assert res.survivors["seed"].to_list() == expected
    assert seed in expected
    assert _reproduces(gen, bound, expected, draws, offset, gap)


def test_rejected_draws_are_missed_and_never_misreported():
    """bound ~ 0.7 * 2^31 rejects ~30% of words: lifting assumes none, so a seed whose draws
    were re-drawn is not found; the real drawer's verification keeps the output honest."""
    bound, n = 1_500_000_002, 3
    limit = (2**31 // bound) * bound
    rng = random.Random(7)
    outcomes = set()
    for seed in _seeds(rng, 12):
        draws = _draws("java_random", bound, seed, n)
        s = (seed ^ MULT) & MASK
        rejected = False
        for _ in range(n):  # the words the one-word-per-draw model reads
            s = (s * MULT + 0xB) & MASK
            rejected |= (s >> 17) >= limit
        res = recover_java_seeds(draws, bound)
        found = res.survivors["seed"].to_list()
        assert _reproduces("java_random", bound, found, draws, 0, 0)
        assert (seed in found) == (not rejected)
        outcomes.add(rejected)
    assert outcomes == {True, False}


@pytest.mark.parametrize("gen", ["java_random", "java_lcg"])
@pytest.mark.parametrize(
    ("bound", "n", "offset", "gap"),
    [(1024, 6, 0, 0), (1024, 8, 2, 1), (1 << 20, 3, 0, 0), (16, 14, 1, 0), (1 << 30, 2, 0, 5)],
)
def test_lattice_recovers_power_of_two_bounds(gen: str, bound: int, n: int, offset: int, gap: int):
    rng = random.Random(f"{gen}-{bound}-{n}")
    for seed in _seeds(rng, 2):
        draws = _draws(gen, bound, seed, n, offset, gap)
        res = recover_java_seeds(draws, bound, generator=gen, offset=offset, gap=gap)
        found = res.survivors["seed"].to_list()
        assert res.extra["route"] == "lattice"
        assert seed in found
        assert _reproduces(gen, bound, found, draws, offset, gap)


def test_lattice_lists_every_solution_in_the_box():
    """Four draws of 1024 leave ~2^8 seeds; two draws of 2^22 are checked against brute force."""
    seed = 0x0BADC0DE5EED
    draws = _draws("java_random", 1024, seed, 4, 1, 2)
    res = recover_java_seeds(draws, 1024, offset=1, gap=2)
    found = res.survivors["seed"].to_list()
    assert 180 < len(found) < 340 and seed in found
    assert res.null_expected == pytest.approx(256.0)
    assert _reproduces("java_random", 1024, found, draws, 1, 2)

    bound, b = 1 << 22, 22
    draws = _draws("java_lcg", bound, seed, 2, 0, 3)
    a, c = lcg_jump(4)
    width = 1 << (48 - b)
    states: list[int] = []
    for lo in range(0, width, 1 << 22):
        t0 = np.uint64(draws[0] * width) + np.arange(lo, lo + (1 << 22), dtype=np.uint64)
        t1 = (t0 * np.uint64(a) + np.uint64(c)) & np.uint64(MASK)
        states += t0[(t1 >> np.uint64(48 - b)) == draws[1]].tolist()
    expected = sorted(_state_to_seed(int(t), "java_lcg", 0) for t in states)
    res = recover_java_seeds(draws, bound, generator="java_lcg", gap=3)
    assert res.survivors["seed"].to_list() == expected
    assert seed in expected


def test_lattice_walk_split_into_subtrees_lists_what_one_tree_lists(monkeypatch):
    """The walk runs as subtrees under its top levels' prefixes, in parallel: the same states
    as one tree, for the exact ball and a pruned walk."""
    draws = np.asarray(_draws("java_random", 1024, 0x0BADC0DE5EED, 4, 1, 2), dtype=np.uint64)
    for miss in (0.0, 1e-2):
        split = lattice.lattice_states(draws, 1024, 2, 4, 1000, miss)
        monkeypatch.setattr(lattice, "SUBTREES_PER_THREAD", 0)  # one root: the whole tree
        whole = lattice.lattice_states(draws, 1024, 2, 4, 1000, miss)
        monkeypatch.undo()
        assert sorted(split[0]) == sorted(whole[0]) and len(whole[0]) > 150
        assert split[2]["complete"] and whole[2]["complete"]


def test_bad_input_raises_and_too_few_draws_list_a_sample():
    res = recover_java_seeds(_draws("java_random", 1000, 12345, 2), 1000, max_listed=50)
    assert not res.complete and res.survivors.height == 50
    assert res.extra["expected_remaining"] == pytest.approx(M / 1000**2, rel=0.01)
    found = res.survivors["seed"].to_list()
    assert _reproduces("java_random", 1000, found, _draws("java_random", 1000, 12345, 2), 0, 0)
    with pytest.raises(ValueError, match="seed_range"):
        recover_java_seeds([0] * 10, 1)
    with pytest.raises(ValueError, match="outside"):
        recover_java_seeds([1000], 1000)
    with pytest.raises(ValueError, match="generator"):
        recover_java_seeds([1, 2, 3], 1000, generator="mt19937")


def test_flat_fallback_in_a_range(monkeypatch: pytest.MonkeyPatch):
    seed = (1 << 47) + 123_456_789
    draws = _draws("java_random", 7, seed, 20, 2, 1)
    calls: list[tuple[int, int, int]] = []
    res = recover_java_seeds(
        draws,
        7,
        offset=2,
        gap=1,
        seed_range=(seed - 5000, seed + 5000),
        progress=lambda *a: calls.append(a),
    )
    assert res.extra["route"] == "flat"
    assert res.survivors["seed"].to_list() == [seed]
    assert res.candidates_scanned == 10_000
    assert calls and calls[-1][0] == calls[-1][1] == 10_000

    # A supported bound still goes flat when the range is cheaper than the smart route (the
    # flat scan itself is stubbed: compiling cpu_scan for another draw costs seconds)...
    draws = _draws("java_random", 1000, seed, 8)
    flat_specs: list[ScanSpec] = []

    def fake_scan(spec: ScanSpec, progress=None) -> ScanResult:
        flat_specs.append(spec)
        cols = {"seed": [], "offset": [], "gap": [], "forward_matches": [], "reverse_matches": []}
        return ScanResult(spec, survivors_frame(spec, cols), spec.candidates, 0.0, "fake", 0.0)

    monkeypatch.setattr(recover, "cpu_scan", fake_scan)
    res = recover_java_seeds(draws, 1000, seed_range=(seed - 10, seed + 10))
    assert res.extra["route"] == "flat" and res.candidates_scanned == 20
    assert (flat_specs[0].seed_start, flat_specs[0].stop) == (seed - 10, seed + 10)
    assert flat_specs[0].draw == "nextint:1000" and flat_specs[0].draws == tuple(draws)
    monkeypatch.undo()
    # ...and a wide range uses lifting, keeping only survivors inside it.
    res = recover_java_seeds(draws, 1000, seed_range=(1 << 47, M))
    assert res.extra["route"] == "lifting" and res.survivors["seed"].to_list() == [seed]
    res = recover_java_seeds(draws, 1000, seed_range=(0, 1 << 47))
    assert res.extra["route"] == "lifting" and res.survivors.height == 0
    assert res.null_expected == pytest.approx(M / 2 / 1000**8)


def test_progress_and_result_fields():
    calls: list[tuple[int, int, int]] = []
    draws = _draws("java_random", 1000, 99, 8)
    res = recover_java_seeds(draws, 1000, progress=lambda *a: calls.append(a))
    assert calls[-1] == (res.candidates_scanned, res.candidates_scanned, 1)
    assert res.backend.startswith("cpu lifting (2^17 + ")
    assert res.extra["stage1_survivors"] >= 1
    assert 0 < res.extra["rejection_miss_probability"] < 1e-5
    assert res.spec.seed_start == 0 and res.spec.stop == M
    assert res.stats()["route"] == "lifting"
    assert res.p_value < 1e-6


@pytest.mark.parametrize("n", [8, 6])
def test_lifting_recovers_random_48bit_seeds(n: int):
    """Any 48-bit seed from 8 (or 6) draws of nextInt(1000); its timing is a bench row."""
    for seed in _seeds(random.Random(n), 4):
        res = recover_java_seeds(_draws("java_random", 1000, seed, n), 1000)
        found = res.survivors["seed"].to_list()
        assert seed in found
        assert len(found) <= 1 + 10 * res.null_expected
