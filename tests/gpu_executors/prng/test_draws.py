"""Draw functions against the real APIs they model, plus offset/gap semantics and parse errors.

References: the JDK's ``Random.nextInt(bound)``, numpy's legacy ``RandomState.randint``, CPython's
``random.randrange``, PHP's ``mt_rand(min, max)`` (both modes), Go's ``Rand.Intn``/``Int63n``,
.NET's ``Random.Next(n)``/``Next(min, max)`` (Mono) and Ruby's ``Random#rand(n)``. ``mod:M`` is
checked against ``outputs() % M``. Offsets and gaps are checked against reference streams that
discard words.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from gpu_executors.prng.bitgen import dotnet, go_rand
from gpu_executors.prng.bitgen.mt19937 import ruby_scan_seed
from gpu_executors.prng.draws import (
    DRAW_KINDS,
    DrawKind,
    DrawSpec,
    check_compatible,
    generate_draws,
    parse_draw,
)
from gpu_executors.prng.generators import GENERATORS, get_generator
from tests.reference.harness import reference_vectors

pytestmark = pytest.mark.reference

EDGE32 = [0, 1, 2**31, 2**32 - 1]
N_DRAWS = 300


def assert_draws(gen_name: str, draw: str, seed: int, expected: list[int], **kw: Any) -> None:
    """``generate_draws`` equals ``expected`` exactly (first mismatch named)."""
    got = generate_draws(get_generator(gen_name), parse_draw(draw), seed, len(expected), **kw)
    exp = np.asarray(expected, dtype=np.int64)
    bad = np.flatnonzero(got != exp)
    assert bad.size == 0, (
        f"{gen_name} {draw} seed={seed} {kw or ''}: {bad.size} of {len(exp)} draws differ; "
        f"first at draw {bad[0]}: expected {int(exp[bad[0]])}, got {int(got[bad[0]])}"
    )


@pytest.fixture(scope="session")
def java_ref(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return reference_vectors("java", tmp_path_factory)


@pytest.fixture(scope="session")
def php_ref(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return reference_vectors("php", tmp_path_factory)


# ---------------------------------------------------------------------------- JDK nextInt(bound)


def test_nextint_matches_jdk(java_ref: dict[str, Any]) -> None:
    """nextint:B on java_random == new Random(seed).nextInt(B), repeated."""
    cases = java_ref["nextint"]
    bounds = {c["bound"] for c in cases}
    # a power of two, a rejection-heavy bound (rejects ~half), the degenerate 1
    assert {1000, 1024, 7, 1337, 2**30 + 1, 1} <= bounds
    assert set(EDGE32) <= {c["seed"] for c in cases}
    for c in cases:
        assert_draws("java_random", f"nextint:{c['bound']}", c["seed"], c["draws"])


# ---------------------------------------------------------------------------- numpy randint


@pytest.mark.parametrize("m", [1000, 1024, 7, 2**31 + 1, 2**32, 1])
def test_randint_matches_numpy(m: int) -> None:
    """randint:M on mt19937 == RandomState(seed).randint(0, M), one scalar call per draw."""
    for seed in [*EDGE32, 42]:
        rs = np.random.RandomState(seed)
        assert_draws(
            "mt19937", f"randint:{m}", seed, [int(rs.randint(0, m)) for _ in range(N_DRAWS)]
        )


# ---------------------------------------------------------------------------- CPython randrange

RANDRANGE_SEEDS = [*EDGE32, 2**40 + 5, 2**64 - 1]


@pytest.mark.parametrize("m", [1000, 1, 2, 1024, 6, 2**31 + 1, 2**32 - 1])
def test_randrange_matches_cpython(m: int) -> None:
    """randrange:M on python_random == random.Random(seed).randrange(M)."""
    for seed in RANDRANGE_SEEDS:
        rnd = random.Random(seed)
        assert_draws(
            "python_random", f"randrange:{m}", seed, [rnd.randrange(m) for _ in range(N_DRAWS)]
        )


def test_randrange_2_pow_32_matches_cpython() -> None:
    """randrange:2^32 (the largest M parse_draw accepts) == random.Random(seed).randrange(2^32)."""
    for seed in RANDRANGE_SEEDS:
        rnd = random.Random(seed)
        assert_draws(
            "python_random", f"randrange:{2**32}", seed, [rnd.randrange(2**32) for _ in range(50)]
        )


# ---------------------------------------------------------------------------- PHP mt_rand(min, max)


@pytest.mark.parametrize(
    ("gen_name", "mode"), [("php_mt_rand", "mt19937"), ("php_mt_rand_legacy", "legacy")]
)
def test_mt_rand_matches_php(php_ref: dict[str, Any], gen_name: str, mode: str) -> None:
    """mt_rand:MIN:MAX == mt_srand(seed[, MT_RAND_PHP]); mt_rand(MIN, MAX), repeated."""
    cases = php_ref[mode]["ranges"]
    assert set(EDGE32) <= {c["seed"] for c in cases}
    for c in cases:
        assert_draws(gen_name, f"mt_rand:{c['min']}:{c['max']}", c["seed"], c["draws"])


# ---------------------------------------------------------------------------- Go, .NET, Ruby


@pytest.mark.parametrize("kind", ["intn", "int63n"])
def test_go_draws_match_go(tmp_path_factory: pytest.TempPathFactory, kind: str) -> None:
    """intn:N / int63n:N on go_rand == Rand.Intn(N) / Int63n(N): powers of two (masked), 1,
    rejection-heavy bounds (2^30 + 1, 2^62 + 1), and Intn's switch to Int63n above 2^31 - 1."""
    cases = reference_vectors("go", tmp_path_factory)[kind]
    assert {1000, 1, 1024, 2**30 + 1, 2**31 - 1, 2**31, 2**62 + 1} <= {c["n"] for c in cases}
    for c in cases:
        assert_draws("go_rand", f"{kind}:{c['n']}", go_rand.scan_seed(c["seed"]), c["draws"])


def test_dotnet_next_matches_mono(tmp_path_factory: pytest.TempPathFactory) -> None:
    """dotnet_next:N on dotnet_random == new Random(seed).Next(N), N up to int.MaxValue."""
    ref = reference_vectors("dotnet", tmp_path_factory)
    assert {1000, 1, 7, 2**31 - 1} <= {c["n"] for c in ref["next"]}
    for c in ref["next"]:
        assert_draws(
            "dotnet_random", f"dotnet_next:{c['n']}", dotnet.scan_seed(c["seed"]), c["draws"]
        )


def test_dotnet_range_matches_mono(tmp_path_factory: pytest.TempPathFactory) -> None:
    """dotnet_range:A:B == Next(A, B): negative bounds, and ranges above int.MaxValue, whose
    draws take two words (GetSampleForLargeRange)."""
    ref = reference_vectors("dotnet", tmp_path_factory)
    ranges = {(c["min"], c["max"]) for c in ref["range"] if c["min"] < c["max"]}
    assert (-(2**31), 2**31 - 1) in ranges and (-500, 500) in ranges
    for c in ref["range"]:
        if c["min"] == c["max"]:
            assert set(c["draws"]) == {c["min"]}  # Next(a, a) = a; the draw refuses MIN == MAX
            continue
        text = f"dotnet_range:{c['min']}:{c['max']}"
        assert_draws("dotnet_random", text, dotnet.scan_seed(c["seed"]), c["draws"])


def test_ruby_rand_is_randint(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random.new(seed).rand(N) == randint:N on ruby_random: Ruby's limited_rand is the same
    masked rejection (limit N - 1) over 32-bit words as numpy's legacy randint."""
    cases = reference_vectors("ruby", tmp_path_factory)["rand"]
    assert {1000, 1, 1024, 2**31 + 1, 2**32} <= {c["n"] for c in cases}
    for c in cases:
        assert_draws("ruby_random", f"randint:{c['n']}", ruby_scan_seed(c["seed"]), c["draws"])


@pytest.mark.parametrize(
    ("gen_name", "draw", "match"),
    [
        ("mt19937", "intn:10", "63-bit Int63 words; mt19937 produces 32-bit"),
        ("xorshift64", "int63n:10", "63-bit Int63 words; xorshift64 produces 64-bit"),
        ("minstd", "dotnet_next:10", r"InternalSample\(\) words; minstd does not"),
        ("lcg32", "dotnet_range:-5:5", "dotnet_range:-5:5 scales"),
    ],
)
def test_runtime_draws_need_their_runtime_words(gen_name: str, draw: str, match: str) -> None:
    """Go's and .NET's draws read their own generator's words: other generators are refused
    (a 31-bit word of 2^31 - 1 would make dotnet_next return N)."""
    with pytest.raises(ValueError, match=match):
        check_compatible(get_generator(gen_name), parse_draw(draw))


# ---------------------------------------------------------------------------- mod


@pytest.mark.parametrize(
    ("gen_name", "m"),
    [
        ("mt19937", 1000),
        ("java_random", 2**32),
        ("msvc_rand", 6),
        ("glibc_rand", 100),
        ("pcg32", 7),
        ("xorshift64", 2**32),
        ("sfc64", 1_000_003),
        ("philox4x32", 1),
        ("minstd", 2**31),
    ],
)
def test_mod_is_word_mod_m(gen_name: str, m: int) -> None:
    """mod:M == outputs() % M, one word per draw."""
    gen = get_generator(gen_name)
    for seed in [0, 1, 2**31, 2**32 - 1]:
        words = gen.outputs(seed, N_DRAWS)
        assert_draws(gen_name, f"mod:{m}", seed, (words % np.uint64(m)).astype(np.int64).tolist())


# ---------------------------------------------------------------------------- offset and gaps


def _positions(offset: int, gaps: list[int]) -> list[int]:
    """Word index of each one-word draw: ``offset`` discarded, then ``gaps[i]`` between draws."""
    pos = [offset]
    for g in gaps:
        pos.append(pos[-1] + 1 + g)
    return pos


@pytest.mark.parametrize("gen_name", ["mt19937", "python_random", "java_random", "xoshiro256pp"])
def test_offset_and_constant_gaps(gen_name: str) -> None:
    """offset=3, gaps=2: draw i is word 3 + 3*i of the reference stream."""
    n, m = 200, 1000
    seed = 2**31 + 7
    if gen_name == "mt19937":
        rs = np.random.RandomState(seed)
        stream = [int(w) for w in rs.randint(0, 2**32, size=3 + 3 * n, dtype=np.uint64)]
    elif gen_name == "python_random":
        rnd = random.Random(seed)
        stream = [rnd.getrandbits(32) for _ in range(3 + 3 * n)]
    else:
        stream = [int(w) for w in get_generator(gen_name).outputs(seed, 3 + 3 * n)]
    expected = [stream[p] % m for p in _positions(3, [2] * (n - 1))]
    assert _positions(3, [2] * 3) == [3, 6, 9, 12]
    assert_draws(gen_name, f"mod:{m}", seed, expected, offset=3, gaps=2)


def test_offset_and_per_draw_gaps() -> None:
    """A per-draw gap array: draw i+1 is gaps[i] words after draw i (numpy mt19937 stream)."""
    n, m, seed, offset = 300, 97, 12345, 5
    gaps = np.random.default_rng(7).integers(0, 9, size=n - 1)
    pos = _positions(offset, gaps.tolist())
    words = np.random.RandomState(seed).randint(0, 2**32, size=pos[-1] + 1, dtype=np.uint64)
    expected = [int(words[p]) % m for p in pos]
    assert_draws("mt19937", f"mod:{m}", seed, expected, offset=offset, gaps=gaps)


def test_gaps_with_rejection_draws() -> None:
    """Gaps discard words between multi-word draws: CPython randrange and numpy randint."""
    n, offset = 200, 3
    gaps = np.random.default_rng(11).integers(0, 4, size=n - 1)
    for seed in EDGE32:
        rnd = random.Random(seed)
        rs = np.random.RandomState(seed)
        exp_rr: list[int] = []
        exp_ri: list[int] = []
        for i in range(n):
            skip = offset if i == 0 else int(gaps[i - 1])
            for _ in range(skip):
                rnd.getrandbits(32)
                rs.randint(0, 2**32, dtype=np.uint64)  # one raw 32-bit word
            exp_rr.append(rnd.randrange(2**31 + 1))
            exp_ri.append(int(rs.randint(0, 2**31 + 1)))
        assert_draws(
            "python_random", f"randrange:{2**31 + 1}", seed, exp_rr, offset=offset, gaps=gaps
        )
        assert_draws("mt19937", f"randint:{2**31 + 1}", seed, exp_ri, offset=offset, gaps=gaps)


def test_gap_array_of_wrong_length_is_refused() -> None:
    """A gap array must hold exactly n-1 gaps."""
    with pytest.raises(ValueError, match="need 9 gaps"):
        generate_draws(get_generator("mt19937"), parse_draw("mod:10"), 1, 10, gaps=np.zeros(10))


# ---------------------------------------------------------------------------- parse_draw errors


def test_parse_draw_valid() -> None:
    """A valid spec parses to its kind and integer parameters, and prints back the same."""
    spec = parse_draw("mt_rand:1:6")
    assert (spec.kind, spec.params, spec.text, spec.low, spec.n_values) == (
        "mt_rand",
        (1, 6),
        "mt_rand:1:6",
        1,
        6,
    )
    assert parse_draw(" nextint:1000 ").params == (1000,)


def test_parse_draw_unknown_name_lists_valid() -> None:
    """An unknown draw name lists every valid draw kind."""
    with pytest.raises(ValueError, match="unknown draw function 'uniform'") as exc:
        parse_draw("uniform:10")
    for kind in DRAW_KINDS:
        assert f"{kind}:" in str(exc.value)


@pytest.mark.parametrize("text", ["mod", "mod:1:2", "nextint", "mt_rand:5", "mt_rand:1:2:3"])
def test_parse_draw_wrong_arity(text: str) -> None:
    """The wrong number of parameters names the expected form."""
    with pytest.raises(ValueError, match="expected"):
        parse_draw(text)


@pytest.mark.parametrize(
    "text", ["mod:abc", "mod:1.5", "mt_rand:1:x", "nextint:0x10", "randint:", "randint: "]
)
def test_parse_draw_non_integer(text: str) -> None:
    """Non-integer parameters are refused."""
    with pytest.raises(ValueError, match="must be integers"):
        parse_draw(text)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("mod:0", "M must be in"),
        ("mod:-5", "M must be in"),
        (f"mod:{2**32 + 1}", "M must be in"),
        ("randint:0", "M must be in"),
        (f"randrange:{2**32 + 1}", "M must be in"),
        ("nextint:0", "BOUND must be in"),
        (f"nextint:{2**31}", "BOUND must be in"),
        ("mt_rand:6:5", "MIN <= MAX"),
        ("mt_rand:-1:5", "MIN <= MAX"),
        (f"mt_rand:0:{2**31}", "MIN <= MAX"),
        ("intn:0", "N must be in"),
        (f"int63n:{2**63}", "N must be in"),
        ("dotnet_next:0", "N must be in"),
        (f"dotnet_next:{2**31}", "N must be in"),
        ("dotnet_range:5:5", "MIN < MAX"),
        (f"dotnet_range:{-(2**31) - 1}:0", "MIN < MAX"),
    ],
)
def test_parse_draw_out_of_range(text: str, match: str) -> None:
    """Parameters outside the draw function's domain are refused."""
    with pytest.raises(ValueError, match=match):
        parse_draw(text)


def test_incompatible_word_width_is_refused() -> None:
    """nextint needs 31-bit words: MSVC's 15-bit rand() is refused with both widths named."""
    with pytest.raises(ValueError, match=r"at least 31 bits.*15-bit"):
        check_compatible(get_generator("msvc_rand"), parse_draw("nextint:10"))


def test_get_generator_unknown_lists_valid() -> None:
    """An unknown generator name lists every registered generator."""
    with pytest.raises(KeyError, match="unknown generator 'mt19938'") as exc:
        get_generator("mt19938")
    for name in GENERATORS:
        assert name in exc.value.args[0]


def _example_params(kind: DrawKind) -> tuple[int, ...]:
    return tuple(range(3, 3 + kind.arity))


@pytest.mark.parametrize("name", list(DRAW_KINDS))
def test_every_draw_kind_round_trips(name: str) -> None:
    """Each registered kind parses to a DrawSpec naming it, whose text parses back to itself."""
    kind = DRAW_KINDS[name]
    assert kind.name == name
    assert kind.usage.startswith(f"{name}:")
    params = _example_params(kind)
    spec = parse_draw(":".join([name, *map(str, params)]))
    assert spec == DrawSpec(name, params)
    assert spec.draw_kind is kind
    assert parse_draw(spec.text) == spec
    assert str(spec) == spec.text
    assert spec.n_values >= 1
    with pytest.raises(ValueError, match="expected"):
        parse_draw(":".join([name, *map(str, params), "1"]))
