"""java.util.Random from any nextInt bound: the JDK's own draws, offsets 0..3, the residue route.

The planted cases come from tests/reference/RandomVectors.java ("planted"): random 48-bit seeds,
an offset of 0..3 nextInt() calls, then nextInt(bound) draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve.java import recover as recover_module
from gpu_executors.sieve.java.lcg import LOW, MULT, WORD31, lcg_jump
from gpu_executors.sieve.java.pruning import ball_radii2
from gpu_executors.sieve.java.recover import expected_remaining, recover_java_seeds
from gpu_executors.sieve.java.residue import plan_dim, residue_states
from tests.reference.harness import reference_vectors

M = 1 << 48
MASK = M - 1


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return reference_vectors("java", tmp_path_factory)["planted"]


def _cases(planted: list[dict[str, Any]], bound: int, n: int) -> list[dict[str, Any]]:
    cases = [c for c in planted if c["bound"] == bound and len(c["draws"]) == n]
    assert cases, f"RandomVectors.java has no planted case nextInt({bound}) x {n}"
    return cases


def _reproduces(bound: int, rows: list[tuple[int, int]], draws: list[int]) -> bool:
    spec, gen = parse_draw(f"nextint:{bound}"), get_generator("java_random")
    return all(generate_draws(gen, spec, s, len(draws), off).tolist() == draws for s, off in rows)


@pytest.mark.parametrize(
    ("bound", "n", "route"),
    [
        (7, 20, "residue"),  # odd and small: 2^17 guesses x a 16-dim lattice
        (6, 22, "residue"),  # 2 * 3: low-bit test, then the odd part 3 on 30 bits
        (12, 20, "residue"),
        (100, 8, "residue"),
        (1000, 8, "lifting"),
        (4, 28, "lattice"),  # 2-bit draws: a 28-dim lattice, ~10^5 points in its ball
        (16, 14, "lattice"),
        (1024, 6, "lattice"),
    ],
)
def test_jdk_planted_seeds_are_recovered_at_their_offset(planted, bound: int, n: int, route: str):
    for case in _cases(planted, bound, n):
        res = recover_java_seeds(case["draws"], bound, offset=case["offset"])
        rows = list(
            zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
        )
        assert (case["seed"], case["offset"]) in rows
        assert res.complete and res.extra["route"] == route
        assert _reproduces(bound, rows, case["draws"])
        assert res.extra["expected_remaining"] < 1
        assert len(rows) <= 2


def test_an_unknown_offset_gives_one_seed_per_offset(planted):
    """States do not depend on the offset: a range maps the one state to each offset's seed."""
    case = _cases(planted, 7, 20)[1]
    res = recover_java_seeds(case["draws"], 7, offset=0, offset_stop=4)
    rows = list(
        zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
    )
    assert (case["seed"], case["offset"]) in rows
    assert sorted(off for _, off in rows) == [0, 1, 2, 3]
    assert _reproduces(7, rows, case["draws"])
    assert res.spec.offset_start == 0 and res.spec.offset_stop == 4
    with pytest.raises(ValueError, match="offset range"):
        recover_java_seeds(case["draws"], 7, offset=3, offset_stop=3)


@pytest.mark.slow
def test_jdk_planted_bound_five(planted):
    """nextInt(5) x 24: 2^17 guesses x a 22-dim lattice, a few seconds per seed."""
    for case in _cases(planted, 5, 24):
        res = recover_java_seeds(case["draws"], 5, offset=case["offset"])
        assert res.survivors["seed"].to_list() == [case["seed"]]
        assert res.extra["route"] == "residue" and res.complete


def _true_low(case: dict[str, Any]) -> int:
    """Draw 0's state's low 17 bits, stepped independently of the module."""
    s = (case["seed"] ^ MULT) & MASK
    for _ in range(case["offset"] + 1):
        s = (s * MULT + 0xB) & MASK
    return s & ((1 << LOW) - 1)


def test_bound_three_per_guess_logic_on_jdk_draws(planted):
    """nextInt(3) x 30: a full search (2^17 guesses) is too slow for a test, so the route runs
    on the true guess of the low 17 bits among 15 others (~0.1 s each): it must find exactly
    the seed."""
    for case in _cases(planted, 3, 30):
        true_low = _true_low(case)
        rng = np.random.default_rng(case["seed"])
        others = rng.choice(1 << LOW, 15, replace=False)
        lows = np.unique(np.append(others[others != true_low], true_low)).astype(np.uint64)
        vals = np.asarray(case["draws"], dtype=np.uint64)
        basis = plan_dim(30, 3, 0)
        out = residue_states(vals, 3, 0, lows, basis, node_budget=1e12, max_states=100)
        assert out.complete and out.guesses == lows.shape[0]
        s = (case["seed"] ^ MULT) & MASK
        a, c = lcg_jump(case["offset"] + 1)
        assert out.states.tolist() == [(a * s + c) & MASK]


@pytest.mark.parametrize(
    ("bound", "n_draws", "n_lows"),
    [(65537, 2, 48), (4 * 65537, 2, 2048), (24577, 2, 48), (1531, 3, 32)],
)
def test_residue_route_is_complete_against_brute_force(bound: int, n_draws: int, n_lows: int):
    """For a few guesses of the low bits, every k_0 of draw 0 is checked in numpy."""
    rng = np.random.default_rng(bound)
    draws = rng.integers(0, bound, n_draws).astype(np.uint64)
    kbox = WORD31 // bound
    limit = np.uint64(kbox * bound)
    a, c = (np.uint64(v) for v in lcg_jump(1))
    lows = np.sort(rng.choice(1 << LOW, n_lows, replace=False)).astype(np.uint64)
    expected = []
    for low in lows:
        h = draws[0] + np.uint64(bound) * np.arange(kbox, dtype=np.uint64)
        x0 = (h << np.uint64(LOW)) | low
        keep = np.ones(kbox, dtype=bool)
        x = x0
        for d in draws[1:]:
            x = (x * a + c) & np.uint64(MASK)
            v = x >> np.uint64(LOW)
            keep &= (v < limit) & (v % np.uint64(bound) == d)
        expected += x0[keep].tolist()
    basis = plan_dim(n_draws, bound, 0)
    out = residue_states(draws, bound, 0, lows, basis, node_budget=1e12, max_states=1 << 30)
    assert out.complete
    assert sorted(out.states.tolist()) == sorted(expected)
    assert len(expected) > 5  # the comparison is not vacuous


def test_too_few_draws_report_the_expected_count_instead_of_refusing(planted):
    """nextInt(7) x 8 leaves ~2^48/7^8 = 4.9e7 seeds: a capped, verified list and the count."""
    case = _cases(planted, 7, 8)[0]
    res = recover_java_seeds(case["draws"], 7, offset=case["offset"], max_listed=200)
    assert not res.complete
    assert res.extra["expected_remaining"] == pytest.approx(M / 7**8, rel=0.01)
    assert res.extra["why_incomplete"]
    rows = list(
        zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
    )
    assert len(rows) == 200 and len(set(rows)) == 200
    assert _reproduces(7, rows[:20], case["draws"])


def test_even_bounds_pin_at_most_17_low_bits(planted):
    """nextInt(12) x 14: the low two bits of every draw are a function of the state's low 19
    bits, so ~2^31/12/3^13 ~ 112 seeds remain (not 2^48/12^14 ~ 0.2): all are listed."""
    case = _cases(planted, 12, 14)[0]
    res = recover_java_seeds(case["draws"], 12, offset=case["offset"])
    rows = list(
        zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
    )
    assert res.complete and (case["seed"], case["offset"]) in rows
    assert 60 < len(rows) < 180  # Poisson(~112), about +-5 sigma
    assert res.extra["expected_remaining"] == pytest.approx(112, rel=0.1)
    assert _reproduces(12, rows, case["draws"])
    assert expected_remaining(12, 20) < 0.2 < expected_remaining(12, 14) / 100


def test_bound_two_exact_lists_a_verified_sample_and_the_count(planted):
    """nextInt(2) x 64 pins the seed, but the exact ball holds ~10^14 points (the default prunes
    it, minutes: see the bench): asked for the exact walk, the result says it is incomplete,
    with the expected count, and lists what a bounded walk found."""
    case = _cases(planted, 2, 64)[0]
    res = recover_java_seeds(case["draws"], 2, offset=case["offset"], miss_probability=0.0)
    assert not res.complete
    assert res.extra["expected_remaining"] == pytest.approx(2.0**-16)
    rows = list(
        zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
    )
    assert _reproduces(2, rows, case["draws"])


@pytest.mark.parametrize(("bound", "n"), [(100, 8), (6, 20)])
def test_forced_lifting_and_residue_agree(bound: int, n: int):
    seed = 0x5EED_1234_5678
    spec, gen = parse_draw(f"nextint:{bound}"), get_generator("java_random")
    draws = generate_draws(gen, spec, seed, n, 1, 0).tolist()
    found = {}
    for route in ("lifting", "residue"):
        res = recover_java_seeds(draws, bound, offset=1, route=route)
        assert res.extra["route"] == route
        found[route] = res.survivors["seed"].to_list()
    assert found["lifting"] == found["residue"] and seed in found["lifting"]
    with pytest.raises(ValueError, match="does not apply"):
        recover_java_seeds([1, 2, 3], 1024, route="residue")


def test_a_search_past_its_budget_says_so(planted, monkeypatch: pytest.MonkeyPatch):
    """The exact walk of 30 x nextInt(3) needs hours here: with a short time budget the result
    is partial and says why, with the expected count, rather than refusing up front."""
    monkeypatch.setattr(recover_module, "RESIDUE_SECONDS", 0.5)
    case = _cases(planted, 3, 30)[0]
    res = recover_java_seeds(case["draws"], 3, offset=case["offset"], miss_probability=0.0)
    assert not res.complete and res.extra["route"] == "residue"
    assert "budget" in res.extra["why_incomplete"]
    assert 0 < res.extra["guesses"] < 1 << LOW
    assert res.extra["expected_remaining"] == pytest.approx(M / 3**30, rel=0.01)
    rows = list(
        zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
    )
    assert _reproduces(3, rows, case["draws"])


def test_pruned_walk_misses_planted_states_at_about_its_rate():
    """The pruned radii come from a model (uniform offsets in the box): on 1,500 states of the
    real drawer, each walked on its true guess only, the walk misses about its stated 1%, and
    the radii cut the walk by orders of magnitude."""
    exact, pruned = plan_dim(30, 3, 0), plan_dim(30, 3, 0, 1e-2)
    assert pruned.log2_nodes < exact.log2_nodes - 8
    assert np.all(pruned.radii2 <= ball_radii2(30, WORD31 // 3))
    assert 0.005 < pruned.miss_measured < 0.015
    spec, gen = parse_draw("nextint:3"), get_generator("java_random")
    rng = np.random.default_rng(20261207)
    missed = 0
    for seed in rng.integers(0, M, 1500, dtype=np.uint64).tolist():
        draws = generate_draws(gen, spec, seed, 30)
        state = ((((seed ^ MULT) & MASK) * MULT) + 0xB) & MASK
        low = np.array([state & ((1 << LOW) - 1)], dtype=np.uint64)
        out = residue_states(draws.astype(np.uint64), 3, 0, low, pruned, node_budget=1e9,
                             max_states=10)
        missed += state not in out.states.tolist()
    assert missed <= 45  # 15 expected; Poisson(15) passes 45 with probability ~1e-10


def test_bound_three_by_default_prunes_and_finds_the_jdk_seeds(planted):
    """30 x nextInt(3): the exact walk would take hours, so the default prunes it at 0.1% and
    says so; both planted JDK seeds are found at their offsets."""
    for case in _cases(planted, 3, 30):
        res = recover_java_seeds(case["draws"], 3, offset=case["offset"])
        rows = list(
            zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
        )
        assert (case["seed"], case["offset"]) in rows and _reproduces(3, rows, case["draws"])
        assert res.complete and res.extra["route"] == "residue"
        assert res.extra["pruning_miss_probability"] == recover_module.AUTO_MISS_PROBABILITY
        assert "pruned by default" in res.extra["plan"] and "pruned" in res.extra["exhaustive"]


def test_the_power_of_two_lattice_walk_can_be_pruned(planted):
    """The lattice route prunes as the residue route does (1-bit draws need it: nextInt(2)'s
    exact ball holds ~10^14 points, see the bench); nextInt(4) x 28 shows the path here."""
    for case in _cases(planted, 4, 28):
        res = recover_java_seeds(case["draws"], 4, offset=case["offset"], miss_probability=1e-2)
        rows = list(
            zip(res.survivors["seed"].to_list(), res.survivors["offset"].to_list(), strict=True)
        )
        assert (case["seed"], case["offset"]) in rows and _reproduces(4, rows, case["draws"])
        assert res.complete and res.extra["route"] == "lattice"
        assert res.extra["pruning_miss_probability"] == 1e-2
        assert 0.005 < res.extra["pruning_miss_measured"] < 0.015
        assert "pruned walk" in res.extra["plan"] and "pruned" in res.extra["exhaustive"]
        exact = recover_java_seeds(case["draws"], 4, offset=case["offset"])
        assert exact.extra["pruning_miss_probability"] == 0.0
        assert exact.extra["lattice_nodes"] > 10 * res.extra["lattice_nodes"]


def test_a_given_miss_probability_is_used_and_checked():
    spec, gen = parse_draw("nextint:7"), get_generator("java_random")
    seed = 0x5EED_7777_0001
    draws = generate_draws(gen, spec, seed, 20).tolist()
    res = recover_java_seeds(draws, 7, miss_probability=1e-3)
    assert res.survivors["seed"].to_list() == [seed]
    assert res.extra["pruning_miss_probability"] == 1e-3
    assert recover_java_seeds(draws, 7).extra["pruning_miss_probability"] == 0.0  # cheap: exact
    with pytest.raises(ValueError, match="miss_probability"):
        recover_java_seeds(draws, 7, miss_probability=1.0)


def test_pruned_walk_on_bound_three_jdk_draws(planted):
    for case in _cases(planted, 3, 30):
        lows = np.unique(
            np.append(np.arange(0, 1 << LOW, 1 << 12), _true_low(case)).astype(np.uint64)
        )
        basis = plan_dim(30, 3, 0, 1e-2)
        vals = np.asarray(case["draws"], dtype=np.uint64)
        out = residue_states(vals, 3, 0, lows, basis, node_budget=1e12, max_states=100)
        s = (case["seed"] ^ MULT) & MASK
        a, c = lcg_jump(case["offset"] + 1)
        assert (a * s + c) & MASK in out.states.tolist()
        assert out.extra["pruning_miss_probability"] == 1e-2
