"""MT19937 and its users: C++/numpy (init_genrand), CPython (init_by_array), PHP's mt_rand, Ruby.

Ruby's ``Random.new(seed)`` packs |seed| into 32-bit words and drops a top word equal to 1 (so
seed s + 2^32 acts as s); one word is seeded by ``init_genrand``, several by ``init_by_array``
(seeds from 2^33 on, as ``python_random``). Over the 32-bit seeds a scan covers, Ruby thus makes
the same words as ``mt19937`` (checked against Ruby 3.1); ``ruby_random`` names it for users.

The state is the 624-word array plus the read index (``state[MT_N]``); words are produced on
demand, twisting the whole array every 624 words. No inverse step: a state scan does not apply.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.prng.bitgen.base import M32, U64, Generator, jit

MT_N = 624
MT_M = 397
MT_MATRIX = U64(0x9908B0DF)
MT_UPPER = U64(0x80000000)
MT_LOWER = U64(0x7FFFFFFF)


def ruby_scan_seed(seed: int) -> int:
    """The 32-bit ``ruby_random`` seed that Ruby's ``Random.new(seed)`` acts as, for |seed| < 2^33
    (longer seeds use init_by_array, outside ``ruby_random``'s seed space)."""
    key = abs(seed)
    if key >= 2**33:
        raise ValueError(f"ruby_random: seed {seed} has a key of two words (init_by_array)")
    return key - 2**32 if key >= 2**32 else key


@jit
def _mt_init_genrand(seed, state):
    state[0] = seed & M32
    for i in range(1, MT_N):
        prev = state[i - 1]
        state[i] = (U64(1812433253) * (prev ^ (prev >> U64(30))) + U64(i)) & M32
    state[MT_N] = U64(MT_N)


@jit
def _mt_init_by_array(key, state):
    _mt_init_genrand(U64(19650218), state)
    i = 1
    j = 0
    klen = key.shape[0]
    k = MT_N if klen < MT_N else klen
    for _ in range(k):
        prev = state[i - 1]
        state[i] = (
            (state[i] ^ ((prev ^ (prev >> U64(30))) * U64(1664525))) + key[j] + U64(j)
        ) & M32
        i += 1
        j += 1
        if i >= MT_N:
            state[0] = state[MT_N - 1]
            i = 1
        if j >= klen:
            j = 0
    for _ in range(MT_N - 1):
        prev = state[i - 1]
        state[i] = ((state[i] ^ ((prev ^ (prev >> U64(30))) * U64(1566083941))) - U64(i)) & M32
        i += 1
        if i >= MT_N:
            state[0] = state[MT_N - 1]
            i = 1
    state[0] = U64(0x80000000)
    state[MT_N] = U64(MT_N)


@jit
def _python_random_seed(seed, state):
    lo = seed & M32
    hi = seed >> U64(32)
    if hi == U64(0):
        key = np.empty(1, dtype=np.uint64)
        key[0] = lo
    else:
        key = np.empty(2, dtype=np.uint64)
        key[0] = lo
        key[1] = hi
    _mt_init_by_array(key, state)


@jit
def _mt_twist(state, legacy):
    for kk in range(MT_N):
        u = state[kk]
        v = state[(kk + 1) % MT_N]
        y = (u & MT_UPPER) | (v & MT_LOWER)
        lo = (u if legacy else v) & U64(1)
        state[kk] = state[(kk + MT_M) % MT_N] ^ (y >> U64(1)) ^ (MT_MATRIX if lo else U64(0))


@jit
def _mt_temper(y):
    y ^= y >> U64(11)
    y ^= (y << U64(7)) & U64(0x9D2C5680)
    y ^= (y << U64(15)) & U64(0xEFC60000)
    y ^= y >> U64(18)
    return y


@jit
def _mt_next(state):
    idx = state[MT_N]
    if idx >= U64(MT_N):
        _mt_twist(state, False)
        idx = U64(0)
    y = state[idx]
    state[MT_N] = idx + U64(1)
    return _mt_temper(y)


@jit
def _mt_legacy_next(state):
    idx = state[MT_N]
    if idx >= U64(MT_N):
        _mt_twist(state, True)
        idx = U64(0)
    y = state[idx]
    state[MT_N] = idx + U64(1)
    return _mt_temper(y)


MT19937 = Generator(
    name="mt19937",
    output_bits=32,
    seed_bits=32,
    state_size=MT_N + 1,
    reference="MT19937 init_genrand: numpy RandomState(int), C++ std::mt19937(seed)",
    seed=_mt_init_genrand,
    next=_mt_next,
    mt_genrand=True,
)
PYTHON_RANDOM = Generator(
    name="python_random",
    output_bits=32,
    seed_bits=64,
    state_size=MT_N + 1,
    reference="CPython random.seed(int): MT19937 init_by_array of the seed's 32-bit words",
    seed=_python_random_seed,
    next=_mt_next,
)
PHP_MT_RAND = Generator(
    name="php_mt_rand",
    output_bits=32,
    seed_bits=32,
    state_size=MT_N + 1,
    reference="PHP 7.1+ mt_srand/mt_rand (MT19937; mt_rand() returns word >> 1)",
    seed=_mt_init_genrand,
    next=_mt_next,
    mt_genrand=True,
)
PHP_MT_RAND_LEGACY = Generator(
    name="php_mt_rand_legacy",
    output_bits=32,
    seed_bits=32,
    state_size=MT_N + 1,
    reference="PHP 5.2.1-7.0 mt_rand (twist uses loBit(u)); PHP 7.1+ MT_RAND_PHP mode",
    seed=_mt_init_genrand,
    next=_mt_legacy_next,
    php_legacy_range=True,
    mt_genrand=True,
    mt_legacy_twist=True,
)
RUBY_RANDOM = Generator(
    name="ruby_random",
    output_bits=32,
    seed_bits=32,
    state_size=MT_N + 1,
    reference="Ruby Random.new(seed): MT19937 init_genrand for one-word seeds; rand(n) = randint:n",
    seed=_mt_init_genrand,
    next=_mt_next,
    mt_genrand=True,
    notes="a negative seed acts as its absolute value, s + 2^32 as s (s < 2^32)",
)

FAMILY = (MT19937, PYTHON_RANDOM, PHP_MT_RAND, PHP_MT_RAND_LEGACY, RUBY_RANDOM)
