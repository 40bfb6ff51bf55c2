"""Random123's Philox4x32-10 counter-based generator, and the original's one-word-per-block use.

A counter-based generator steps back by decrementing the counter and recomputing its block.
State layout: ``[k0, k1, counter, index-within-block (0..4), b0, b1, b2, b3]``.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import M32, U64, Generator, jit

PH_M0 = U64(0xD2511F53)
PH_M1 = U64(0xCD9E8D57)
PH_W0 = U64(0x9E3779B9)
PH_W1 = U64(0xBB67AE85)


@jit
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Random123's philox4x32 with 10 rounds on one 128-bit counter block."""
    for _ in range(10):
        p0 = PH_M0 * c0
        p1 = PH_M1 * c2
        hi0 = p0 >> U64(32)
        lo0 = p0 & M32
        hi1 = p1 >> U64(32)
        lo1 = p1 & M32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + PH_W0) & M32
        k1 = (k1 + PH_W1) & M32
    return c0, c1, c2, c3


@jit
def _philox_seed(seed, state):
    state[0] = seed & M32
    state[1] = seed >> U64(32)
    state[2] = U64(0)
    state[3] = U64(4)


@jit
def _philox_fill(state, counter):
    c0, c1, c2, c3 = philox4x32_10(
        counter & M32, counter >> U64(32), U64(0), U64(0), state[0], state[1]
    )
    state[4] = c0
    state[5] = c1
    state[6] = c2
    state[7] = c3


@jit
def _philox_next(state):
    idx = state[3]
    if idx >= U64(4):
        _philox_fill(state, state[2])
        state[2] += U64(1)
        idx = U64(0)
    state[3] = idx + U64(1)
    return state[4 + idx]


@jit
def _philox_prev(state):
    idx = state[3]
    if idx == U64(0):
        state[2] -= U64(1)
        _philox_fill(state, state[2] - U64(1))
        idx = U64(4)
    idx -= U64(1)
    state[3] = idx
    return state[4 + idx]


@jit
def _philox_original_next(state):
    i = state[2]
    state[2] = i + U64(1)
    c0, _c1, _c2, _c3 = philox4x32_10(i & M32, U64(0), U64(0), U64(0), state[0], state[1])
    return c0


@jit
def _philox_original_prev(state):
    i = state[2] - U64(1)
    state[2] = i
    c0, _c1, _c2, _c3 = philox4x32_10(i & M32, U64(0), U64(0), U64(0), state[0], state[1])
    return c0


PHILOX4X32 = Generator(
    name="philox4x32",
    output_bits=32,
    seed_bits=64,
    state_size=8,
    reference="Random123 philox4x32-10, key = seed, counter 0,1,2,..., all 4 words",
    seed=_philox_seed,
    next=_philox_next,
    prev=_philox_prev,
)
PHILOX4X32_ORIGINAL = Generator(
    name="philox4x32_original",
    output_bits=32,
    seed_bits=64,
    state_size=8,
    reference="the original's philox: word i = ctr[0] of philox4x32-10([i,0,0,0], seed)",
    seed=_philox_seed,
    next=_philox_original_next,
    prev=_philox_original_prev,
)

FAMILY = (PHILOX4X32, PHILOX4X32_ORIGINAL)
