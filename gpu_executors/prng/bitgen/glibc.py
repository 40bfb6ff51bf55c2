"""glibc srand/rand: random_r's TYPE_3 additive feedback generator (degree 31, separation 3).

The state is the 31-word ring plus the front and rear pointers. Each output adds two ring words,
so the step inverts by subtracting them back. The seeding's fill is public so that the sieve's
lane-wise glibc filter computes the same words.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.prng.bitgen.base import M32, U64, Generator, jit, mod_mersenne31

GLIBC_DEG = 31
GLIBC_SEP = 3


@jit
def glibc_seed_word(seed):
    """srandom_r's first word: the seed as a signed 32-bit int, 0 replaced by 1."""
    word = np.int64(np.int32(np.uint32(seed & M32)))
    return np.int64(1) if word == 0 else word


@jit
def glibc_fill_next(word):
    """16807 * word mod (2^31 - 1), canonical, for a signed 32-bit ``word``.

    glibc computes it with Schrage's method (divisions truncating toward zero); the result is
    the same canonical residue, so a fold without any division gives it and vectorises.
    """
    return mod_mersenne31(U64(16807 * word + 33614 * 2147483647))


@jit
def _glibc_seed(seed, state):
    # srandom_r: a signed 32-bit Park-Miller fill, then 310 discarded outputs.
    word = glibc_seed_word(seed)
    state[0] = U64(np.uint32(word))
    for i in range(1, GLIBC_DEG):
        word = np.int64(glibc_fill_next(word))
        state[i] = U64(word)
    state[GLIBC_DEG] = U64(GLIBC_SEP)  # front pointer
    state[GLIBC_DEG + 1] = U64(0)  # rear pointer
    for _ in range(10 * GLIBC_DEG):
        _glibc_next(state)


@jit
def _glibc_next(state):
    f = np.int64(state[GLIBC_DEG])
    r = np.int64(state[GLIBC_DEG + 1])
    val = (state[f] + state[r]) & M32
    state[f] = val
    f += 1
    r += 1
    if f >= GLIBC_DEG:
        f = 0
    if r >= GLIBC_DEG:
        r = 0
    state[GLIBC_DEG] = U64(f)
    state[GLIBC_DEG + 1] = U64(r)
    return val >> U64(1)


@jit
def _glibc_prev(state):
    f = np.int64(state[GLIBC_DEG]) - 1
    r = np.int64(state[GLIBC_DEG + 1]) - 1
    if f < 0:
        f = GLIBC_DEG - 1
    if r < 0:
        r = GLIBC_DEG - 1
    val = state[f]
    state[f] = (val - state[r]) & M32
    state[GLIBC_DEG] = U64(f)
    state[GLIBC_DEG + 1] = U64(r)
    return val >> U64(1)


GLIBC_RAND = Generator(
    name="glibc_rand",
    output_bits=31,
    seed_bits=32,
    state_size=GLIBC_DEG + 2,
    reference="glibc srand/rand (random_r TYPE_3, degree 31, separation 3)",
    seed=_glibc_seed,
    next=_glibc_next,
    prev=_glibc_prev,
)

FAMILY = (GLIBC_RAND,)
