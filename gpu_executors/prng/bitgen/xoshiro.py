"""Vigna's xoshiro256++, seeded by splitmix64 as its authors recommend, and the original's variant.

Linear over GF(2) in its state (the ``++`` scrambler only shapes the output), so the step has an
exact inverse.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import (
    FILL1,
    FILL2,
    FILL3,
    M64,
    U64,
    Generator,
    jit,
    rotl64,
    unxorshift_left,
)


@jit
def _splitmix64(x):
    """Return (next state, output) of splitmix64 from state ``x``."""
    x = x + U64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return x, z ^ (z >> U64(31))


@jit
def _xoshiro_seed(seed, state):
    x = seed
    for i in range(4):
        x, z = _splitmix64(x)
        state[i] = z


@jit
def _xoshiro_original_seed(seed, state):
    state[0] = seed
    state[1] = FILL1
    state[2] = FILL2
    state[3] = FILL3


@jit
def _xoshiro_next(state):
    s0 = state[0]
    s1 = state[1]
    s2 = state[2]
    s3 = state[3]
    result = rotl64(s0 + s3, 23) + s0
    t = s1 << U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl64(s3, 45)
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return result


@jit
def _xoshiro_prev(state):
    e = rotl64(state[3], 19)  # s3 ^ s1 before the step
    s0 = state[0] ^ e
    s1 = unxorshift_left(state[1] ^ state[2], 17, M64)
    s3 = e ^ s1
    s2 = state[2] ^ s0 ^ (s1 << U64(17))
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return rotl64(s0 + s3, 23) + s0


XOSHIRO256PP = Generator(
    name="xoshiro256pp",
    output_bits=64,
    seed_bits=64,
    state_size=4,
    reference="Vigna xoshiro256++ seeded by splitmix64 (the authors' recommendation)",
    seed=_xoshiro_seed,
    next=_xoshiro_next,
    prev=_xoshiro_prev,
)
XOSHIRO256PP_ORIGINAL = Generator(
    name="xoshiro256pp_original",
    output_bits=64,
    seed_bits=64,
    state_size=4,
    reference="the original's xoshiro256++: s0 = seed, s1..s3 fixed constants",
    seed=_xoshiro_original_seed,
    next=_xoshiro_next,
    prev=_xoshiro_prev,
)

FAMILY = (XOSHIRO256PP, XOSHIRO256PP_ORIGINAL)
