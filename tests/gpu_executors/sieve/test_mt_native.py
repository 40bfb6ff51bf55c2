"""The MT19937 lazy pre-filter on both of its paths: the C kernel (``native``) and numba's
(``lanes.mt_lanes``), held to draws.py's word values and to each other on planted seeds.

Skipped where no C compiler builds the library (the numba path is then the only one, and
test_sieve covers it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpu_executors.prng.draws import check_compatible, generate_draws, make_word_value, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.sieve import native
from gpu_executors.sieve.cpu import cpu_scan
from gpu_executors.sieve.reference import reference_scan
from gpu_executors.sieve.spec import ScanSpec

pytestmark = pytest.mark.skipif(
    native.why_not_native() != "", reason=f"no native MT kernel: {native.why_not_native()}"
)

MT_GENS = ["mt19937", "php_mt_rand", "php_mt_rand_legacy", "ruby_random"]
DRAWS = [
    "mod:1000",
    "mod:7",
    "mod:4294967296",
    "randint:1000",
    "randint:6",
    "randint:1",
    "randrange:1000",
    "randrange:4294967295",
    "mt_rand:0:999",
    "mt_rand:1:1000",
    "mt_rand:0:1023",
    "mt_rand:5:5",
    "mt_rand:0:2147483646",
    "nextint:7",
    "nextint:1000",
    "nextint:1024",
]
EDGE_WORDS = [0, 1, 2, 999, 1000, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 2, 2**32 - 1]


def compatible(gen_name: str, draw: str) -> bool:
    try:
        check_compatible(get_generator(gen_name), parse_draw(draw))
    except ValueError:
        return False
    return True


@pytest.fixture(params=["native", "numba"])
def path(request, monkeypatch) -> str:
    """Run a test once with the C kernel and once with numba's (SEEDSIEVE_NATIVE=0)."""
    native._library.cache_clear()
    if request.param == "numba":
        monkeypatch.setenv(native.ENV_SWITCH, "0")
    yield request.param
    native._library.cache_clear()


@pytest.mark.parametrize("gen_name", ["php_mt_rand", "php_mt_rand_legacy"])
@pytest.mark.parametrize("draw", DRAWS)
def test_native_values_are_draws_word_values(gen_name: str, draw: str) -> None:
    """Every word's value and rejection, as the C kernel judges them, is draws.py's."""
    gen = get_generator(gen_name)
    if not compatible(gen_name, draw):
        pytest.skip("pair refused by check_compatible")
    rng = np.random.default_rng(14)
    words = np.concatenate([np.array(EDGE_WORDS), rng.integers(0, 2**32, 3000)]).astype(np.uint32)
    limit = (2**32 - 1) - (2**32 - 1) % 1000 - 1  # mt_rand:0:999's last accepted word
    words = np.concatenate([words, np.array([limit - 1, limit, limit + 1], np.uint32)])
    if native.value_params(gen, draw) is None:
        assert draw == "randrange:4294967295" or parse_draw(draw).params[0] >= 2**32
        return
    value = make_word_value(gen, parse_draw(draw))
    ref = [value(np.uint64(w)) for w in words]
    want = np.array([int(v) for v, _ in ref], np.int64)
    certain = np.array([bool(c) for _, c in ref])
    missed, rejected = native.judge_words(gen, draw, words, want)
    assert (rejected == ~certain).all()
    assert (missed[certain] == 0).all()
    missed, _ = native.judge_words(gen, draw, words, want + 1)
    assert (missed[certain] == 1).all()


def planted_scan(gen_name: str, draw: str, seed: int) -> ScanSpec:
    """A scan of a few thousand seeds around ``seed``, whose first 6 draws it was seeded to give."""
    gen, spec = get_generator(gen_name), parse_draw(draw)
    draws = tuple(int(v) for v in generate_draws(gen, spec, seed, 6))
    return ScanSpec(gen_name, draw, draws, seed_start=seed - 1300, seed_stop=seed + 1711)


@pytest.mark.parametrize(
    ("gen_name", "draw"),
    [
        ("mt19937", "mod:1000"),
        ("mt19937", "randint:6"),
        ("ruby_random", "randint:1000"),
        ("php_mt_rand", "mt_rand:0:999"),
        ("php_mt_rand", "mt_rand:1:1000"),
        ("php_mt_rand_legacy", "mt_rand:1:1000"),
        ("mt19937", "randrange:1000"),
        ("mt19937", "nextint:7"),
    ],
)
def test_planted_seed_found_on_both_paths(path: str, gen_name: str, draw: str) -> None:
    """The planted seed is a survivor, with the same survivors as the reference scan."""
    seed = 2_900_123_457
    spec = planted_scan(gen_name, draw, seed)
    result = cpu_scan(spec, chunk=1000)  # chunks not a multiple of the lane groups
    assert ("native" in result.backend) == (path == "native"), result.backend
    assert "mt-lazy" in result.backend
    found = result.survivors.select("seed", "offset", "gap").rows()
    assert (seed, 0, 0) in found
    small = dataclasses.replace(spec, seed_start=seed - 40, seed_stop=seed + 41)
    ref = reference_scan(small).survivors.select("seed", "offset", "gap").rows()
    assert cpu_scan(small).survivors.select("seed", "offset", "gap").rows() == ref


@pytest.mark.parametrize(
    ("gen_name", "draw"),
    [
        ("php_mt_rand", "mt_rand:0:999"),
        ("mt19937", "randint:1000"),
        # draws rejecting 25% and 41% of words: the C kernel follows them (rescue), numba flags
        ("mt19937", "randint:6"),
        ("mt19937", "randrange:600"),
        ("python_random", "randrange:600"),  # against the generic walk (no numba lazy kernel)
    ],
)
def test_offsets_gaps_and_misses_agree_across_paths(gen_name: str, draw: str, monkeypatch) -> None:
    """A window of offsets and gaps with a miss allowed: both paths report the same rows."""
    gen, spec = get_generator(gen_name), parse_draw(draw)
    seed = 123_456_789
    draws = [int(v) for v in generate_draws(gen, spec, seed, 9)][2:]  # offset 2, gap 0
    draws[3] = (draws[3] + 1 - spec.low) % spec.n_values + spec.low  # one miss
    scan = ScanSpec(
        gen_name,
        draw,
        tuple(draws),
        seed_start=seed - 2000,
        seed_stop=seed + 2000,
        offset_start=0,
        offset_stop=4,
        gap_min=0,
        gap_max=1,
        max_misses=1,
    )
    fast, slow = generic_and_native(scan, monkeypatch)
    assert "mt-lazy native" in fast.backend
    assert "native" not in slow.backend
    rows = fast.survivors.select("seed", "offset", "gap", "matches").rows()
    assert rows == slow.survivors.select("seed", "offset", "gap", "matches").rows()
    # offset 2 draws: 2 words, or more where those draws rejected words
    assert any(r[0] == seed and r[1] >= 2 and r[2] == 0 and r[3] == 6 for r in rows), rows


def test_rescue_flags_fewer_seeds_than_numba() -> None:
    """With a draw that rejects a quarter of the words, the C kernel judges those lanes itself:
    it flags a subset of numba's flags, far fewer (test_offsets... checks none is lost)."""
    from gpu_executors.sieve import prefilters

    gen = get_generator("mt19937")
    draw = "randint:6"
    obs = np.array([3, 5, 1, 1], np.int64)
    p = np.array([0, 2, 0, 1, 0, 2], np.int64)
    count = 50_000
    a = np.zeros(count, np.uint8)
    b = np.zeros(count, np.uint8)
    native.native_mt_filter(gen, draw, prefilters._needed_words)(np.uint64(7), count, obs, p, a, 8)
    prefilters._mt_filter(gen, draw)(np.uint64(7), count, obs, p, b, 8)
    assert (a <= b).all()
    assert 0 < a.sum() < b.sum() / 2


def test_native_flags_match_numba_flags_seed_by_seed() -> None:
    """Over 100k seeds near the top of the space, the two kernels flag the same seeds."""
    from gpu_executors.sieve import prefilters

    gen = get_generator("php_mt_rand")
    draw = "mt_rand:0:9"  # 1 in 100 seeds passes the 2 filter draws: many flags to compare
    obs = np.array([3, 7, 1, 1], np.int64)
    p = np.array([0, 3, 0, 1, 0, 2], np.int64)
    start, count = 2**32 - 100_003, 100_003
    fast = native.native_mt_filter(gen, draw, prefilters._needed_words)
    slow = prefilters._mt_filter(gen, draw)
    a = np.zeros(count, np.uint8)
    b = np.zeros(count, np.uint8)
    fast(np.uint64(start), count, obs, p, a, 8)
    slow(np.uint64(start), count, obs, p, b, 8)
    assert a.sum() > 1000
    assert (a == b).all()


def test_without_a_compiler_the_numba_kernel_runs(monkeypatch, tmp_path) -> None:
    """No C compiler: the reason is given and the scan still finds the seed, with numba's filter."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    native._library.cache_clear()
    try:
        assert "no C compiler" in native.why_not_native()
        result = cpu_scan(planted_scan("php_mt_rand", "mt_rand:0:999", 77_777))
        assert "mt-lazy" in result.backend and "native" not in result.backend
        assert 77_777 in result.survivors["seed"].to_list()
    finally:
        native._library.cache_clear()


def generic_and_native(spec: ScanSpec, monkeypatch) -> tuple:
    """The scan with the native filter, then with it switched off (the generic walk)."""
    native._library.cache_clear()
    fast = cpu_scan(spec)
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    native._library.cache_clear()
    try:
        slow = cpu_scan(spec)
    finally:
        monkeypatch.delenv(native.ENV_SWITCH)
        native._library.cache_clear()
    return fast, slow


@pytest.mark.parametrize(
    ("draw", "seed", "n_draws"),
    [
        ("randrange:1000", 2_900_123_457, 5),
        ("randrange:4", 1_000_003, 2),  # ~1 seed in 16 survives: many rows to compare
        ("mod:1000", 2**32 - 5, 4),  # the top of the one-word keys
        ("randint:6", 3, 3),  # seeds 0.. (random.seed(0) has the key [0])
    ],
)
def test_python_random_init_by_array(draw: str, seed: int, n_draws: int, monkeypatch) -> None:
    """CPython's random.seed(n), n < 2^32: the native init_by_array filter reports exactly the
    generic walk's survivors, the planted seed among them."""
    gen, spec = get_generator("python_random"), parse_draw(draw)
    draws = tuple(int(v) for v in generate_draws(gen, spec, seed, n_draws))
    lo = max(0, seed - 1500)
    scan = ScanSpec("python_random", draw, draws, seed_start=lo, seed_stop=min(2**32, lo + 3001))
    fast, slow = generic_and_native(scan, monkeypatch)
    assert "init_by_array" in fast.backend
    assert "mt-lazy" not in slow.backend
    rows = fast.survivors.select("seed", "offset", "gap").rows()
    assert rows == slow.survivors.select("seed", "offset", "gap").rows()
    assert (seed, 0, 0) in rows


def test_python_random_beyond_32_bits_keeps_the_generic_walk() -> None:
    """Seeds from 2^32 on take two key words: no native filter, the generic walk finds them."""
    gen, spec = get_generator("python_random"), parse_draw("randrange:1000")
    seed = 2**32 + 12
    draws = tuple(int(v) for v in generate_draws(gen, spec, seed, 4))
    result = cpu_scan(ScanSpec("python_random", "randrange:1000", draws, 2**32 - 30, 2**32 + 30))
    assert "mt-lazy" not in result.backend
    assert result.survivors["seed"].to_list() == [seed]


@pytest.mark.parametrize(
    ("gen_name", "draw"),
    [("php_mt_rand", "mt_rand:1:1610612736"), ("python_random", "randrange:600")],
)
def test_seed_whose_first_draw_rejects_is_found(gen_name: str, draw: str) -> None:
    """A seed whose first word the draw rejects (25% / 41% of words here) is found by the C
    kernel's rescue, which follows the draw to its next word (mt_rand with a base of 1)."""
    gen, spec = get_generator(gen_name), parse_draw(draw)
    limit = int(native.value_params(gen, draw)[5])
    shift = int(native.value_params(gen, draw)[0])
    seed = 1_000_000
    while int(gen.outputs(seed, 1)[0]) >> shift <= limit:
        seed += 1
    draws = tuple(int(v) for v in generate_draws(gen, spec, seed, 4))
    result = cpu_scan(ScanSpec(gen_name, draw, draws, seed_start=seed - 300, seed_stop=seed + 300))
    assert "mt-lazy native" in result.backend
    assert seed in result.survivors["seed"].to_list()
