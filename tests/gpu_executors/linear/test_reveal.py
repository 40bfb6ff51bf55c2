"""The bits each draw function reveals hold for every word that gives the draw, and the
replayed draw functions are the project's draw functions (``prng.draws``), word for word."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_executors.linear.registry import legacy_range, linear_models
from gpu_executors.linear.reveal import floor_interval, parse_linear_draw
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import GENERATORS

DRAWS = [("mt19937", "word"), ("mt19937", "mod:1000"), ("mt19937", "mod:4096"),
         ("python_random", "getrandbits:10"), ("python_random", "getrandbits:45"),
         ("python_random", "randrange:1000"), ("mt19937", "randint:1000"),
         ("mt19937", "nextint:1024"), ("mt19937", "nextint:1000"),
         ("php_mt_rand", "mt_rand"), ("php_mt_rand", "mt_rand:0:999"),
         ("php_mt_rand_legacy", "mt_rand:5:1000"), ("xorshift64", "mod:1000"),
         ("v8_math_random", "floor:1000"), ("v8_math_random", "floor:7")]


@pytest.mark.parametrize(("name", "text"), DRAWS)
def test_revealed_bits_hold_on_the_words(name: str, text: str) -> None:
    rng = np.random.default_rng()
    model = linear_models(name)[0]
    draw = parse_linear_draw(text, model, legacy_range(name))
    for _ in range(2000):
        words = [int(w) for w in rng.integers(0, 2**63, 4, dtype=np.uint64)]
        words = [(w << 1 | (w & 1)) & ((1 << model.word_bits) - 1) for w in words]
        value, rejected = draw.simulate(iter(words))
        used = words[rejected: rejected + draw.words_per_draw]
        for w, (mask, bits) in zip(used, draw.reveal(value), strict=True):
            assert w & mask == bits


def test_floor_interval_matches_enumeration() -> None:
    for n in (3, 7, 10, 1000):
        got = {}
        for m in range(1 << 12):
            got.setdefault(int((m / 4096.0) * n), []).append(m)
        for v, ms in got.items():
            assert floor_interval(v, n, 12) == (ms[0], ms[-1])


@pytest.mark.parametrize(("name", "text"), [
    ("mt19937", "mod:1000"), ("mt19937", "randint:1000"), ("mt19937", "nextint:1000"),
    ("python_random", "randrange:1000"), ("php_mt_rand", "mt_rand:0:999"),
    ("php_mt_rand_legacy", "mt_rand:5:1000"), ("xorshift32", "mod:100")])
def test_replay_equals_the_project_draw_functions(name: str, text: str) -> None:
    gen = GENERATORS[name]
    seed = int(np.random.default_rng().integers(0, 2**32))
    want = [int(v) for v in generate_draws(gen, parse_draw(text), seed, 500)]
    draw = parse_linear_draw(text, linear_models(name)[0], legacy_range(name))
    words = iter([int(w) for w in gen.outputs(seed, 2000)])
    assert [draw.simulate(words)[0] for _ in range(500)] == want


@pytest.mark.parametrize(("name", "text", "message"), [
    ("mt19937", "mod:999", "odd M"),
    ("xorshift64", "nextint:1024", "multiplies"),
    ("v8_math_random", "mod:1000", "doubles"),
    ("mt19937", "floor:10", "V8"),
    ("mt19937", "dice:6", "handles"),
])
def test_unusable_draws_are_refused_with_a_reason(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_linear_draw(text, linear_models(name)[0])


def test_non_linear_generators_are_refused_naming_the_linear_ones() -> None:
    with pytest.raises(ValueError, match=r"not linear.*handles mt19937"):
        linear_models("java_random")
