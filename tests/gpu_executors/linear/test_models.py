"""Each linear model's symbolic words equal its concrete words (the registry generator's own
``next``) at random states, and the concrete words are what the seeded generator produces."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gpu_executors.linear import v8
from gpu_executors.linear.mt19937 import MT19937Model
from gpu_executors.linear.registry import linear_models
from gpu_executors.linear.symbolic import evaluate
from gpu_executors.prng.generators import GENERATORS

# MT: past the first twist (word 624) and a second; the rest: past a V8 cache refill.
CASES = [("mt19937", 700), ("php_mt_rand_legacy", 700), ("xorshift32", 80),
         ("xorshift64", 80), ("xorshift128", 80), ("v8_math_random", 140)]


def random_state(n: int, rng) -> np.ndarray:
    x = rng.integers(0, 2**63, (n + 63) // 64, dtype=np.uint64) << np.uint64(1)
    x |= rng.integers(0, 2, len(x), dtype=np.uint64)
    if n % 64:
        x[-1] &= np.uint64((1 << (n % 64)) - 1)
    return x


@pytest.mark.parametrize(("name", "count"), CASES)
def test_symbolic_words_equal_concrete_words(name: str, count: int) -> None:
    rng = np.random.default_rng()
    models = linear_models(name)
    for model in (models[0], models[-1]):  # V8: a full cache and one value left
        x = random_state(model.n_unknowns, rng)
        sym_words = [evaluate(w, x) for w in itertools.islice(model.symbolic(), count)]
        linear = [model.linear_bits((1 << model.word_bits) - 1, w)[1]
                  for w in itertools.islice(model.words(x), count)]
        assert sym_words == linear


def test_mt_words_continue_the_seeded_generator() -> None:
    """The unknowns are the raw words the next 624 draws temper, wherever a block starts."""
    gen = GENERATORS["mt19937"]
    seed = int(np.random.default_rng().integers(0, 2**32))
    words = [int(w) for w in gen.outputs(seed, 2000)]
    model = MT19937Model(gen)
    state = gen.seeded(seed)
    for _ in range(300):  # 300 words into the first block
        gen.next(state)
    raw = [int(w) for w in state[300:624]]
    for _ in range(325):
        gen.next(state)  # the last 324 of the block, then the twist and the next one's first
    raw += [int(w) for w in state[:300]]
    x = np.array(raw, "<u4").view("<u8").astype(np.uint64)
    assert list(itertools.islice(model.words(x), 1500)) == words[300:1800]
    assert model.earlier_words(x, 300) == words[:300]
    assert model.seed(x) == (seed, 300)


def test_v8_step_inverts() -> None:
    rng = np.random.default_rng()
    s0, s1 = (int(v) for v in rng.integers(0, 2**63, 2))
    assert v8.unstep(*v8.step(s0, s1)) == (s0, s1)


def test_v8_serves_each_cache_in_reverse() -> None:
    model = v8.V8MathRandom(cache_left=3)
    x = np.array([12345, 67890], np.uint64)
    s0, s1 = 12345, 67890
    made = []
    for _ in range(128):
        s0, s1 = v8.step(s0, s1)
        made.append(s0)
    served = list(itertools.islice(model.words(x), 67))
    assert served == made[:3][::-1] + made[64:128][::-1]


def test_full_words_untempered_equal_the_eliminated_state() -> None:
    """The 624-word shortcut (untempering) and elimination (mod 2^32 reveals the same bits)
    recover the same state, and both replay the words they were given."""
    from gpu_executors.linear.solve import crack_linear

    seed = int(np.random.default_rng().integers(0, 2**32))
    words = [int(w) for w in GENERATORS["mt19937"].outputs(seed, 700, skip=100)]
    short = crack_linear("mt19937", "word", words)
    solved = crack_linear("mt19937", f"mod:{2**32}", words)
    assert short.solved and solved.solved and solved.rank == solved.unknowns
    assert short.state == solved.state and short.seed == solved.seed == seed
    assert short.seed_offset == 100


def test_v8_earlier_words_are_the_values_served_before() -> None:
    rng = np.random.default_rng()
    s0, s1 = (int(v) for v in rng.integers(1, 2**63, 2))
    blocks = []
    for _ in range(3):  # two refills before the first draw's, then its own
        block = []
        for _ in range(64):
            s0, s1 = v8.step(s0, s1)
            block.append(s0)
        blocks.append(block)
        if len(blocks) == 2:
            x = np.array([s0, s1], np.uint64)  # the state before the first draw's refill
    served = blocks[0][::-1] + blocks[1][::-1] + blocks[2][::-1]
    model = v8.V8MathRandom(cache_left=3)
    first = 128 + 61  # the first draw: index 2 of the third block
    assert next(iter(model.words(x))) == served[first]
    assert model.earlier_words(x, 100) == served[first - 100:first]
