"""Marsaglia's xorshift32 and xorshift128, Vigna's xorshift64*, and the original's xorshift64.

Linear over GF(2) (xorshift64* only up to its output multiply): each shift-xor step is undone by
``unxorshift_left``/``unxorshift_right``, so every member has an exact inverse step.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import (
    M32,
    M64,
    U64,
    Generator,
    identity1,
    jit,
    modinv,
    single_word,
    u32_seed1,
    unxorshift_left,
    unxorshift_right,
)

# Marsaglia xorshift32 (13, 17, 5).


@jit
def _xorshift32_step1(x):
    x ^= (x << U64(13)) & M32
    x ^= x >> U64(17)
    x ^= (x << U64(5)) & M32
    return x, x


@jit
def _xorshift32_back1(x):
    out = x
    x = unxorshift_left(x, 5, M32)
    x = unxorshift_right(x, 17, 32)
    x = unxorshift_left(x, 13, M32)
    return x, out


# Vigna xorshift64* (state xorshifted; word = state * M), and the original's variant that
# multiplies the state itself.
XS64_MUL = U64(0x2545F4914F6CDD1D)
XS64_MUL_INV = U64(modinv(0x2545F4914F6CDD1D, 1 << 64))


@jit
def _xorshift64_shifts(x):
    x ^= x >> U64(12)
    x ^= x << U64(25)
    x ^= x >> U64(27)
    return x


@jit
def _xorshift64_unshifts(x):
    x = unxorshift_right(x, 27, 64)
    x = unxorshift_left(x, 25, M64)
    x = unxorshift_right(x, 12, 64)
    return x


@jit
def _xorshift64_step1(x):
    x = _xorshift64_shifts(x)
    return x, x * XS64_MUL


@jit
def _xorshift64_back1(x):
    return _xorshift64_unshifts(x), x * XS64_MUL


@jit
def _xorshift64_original_step1(x):
    x = _xorshift64_shifts(x) * XS64_MUL
    return x, x


@jit
def _xorshift64_original_back1(x):
    return _xorshift64_unshifts(x * XS64_MUL_INV), x


# Marsaglia xorshift128: four 32-bit words, so an array state.


@jit
def _xorshift128_seed(seed, state):
    state[0] = seed & M32
    state[1] = U64(362436069)
    state[2] = U64(521288629)
    state[3] = U64(88675123)


@jit
def _xorshift128_next(state):
    x = state[0]
    t = (x ^ (x << U64(11))) & M32
    w = state[3]
    state[0] = state[1]
    state[1] = state[2]
    state[2] = w
    w = w ^ (w >> U64(19)) ^ (t ^ (t >> U64(8)))
    state[3] = w
    return w


@jit
def _xorshift128_prev(state):
    out = state[3]
    w_old = state[2]
    u = out ^ w_old ^ (w_old >> U64(19))  # = t ^ (t >> 8)
    t = unxorshift_right(u, 8, 32)
    x_old = unxorshift_left(t, 11, M32)
    state[3] = w_old
    state[2] = state[1]
    state[1] = state[0]
    state[0] = x_old
    return out


XORSHIFT32 = single_word(
    name="xorshift32",
    output_bits=32,
    seed_bits=32,
    state_bits=32,
    reference="Marsaglia xorshift32 (13, 17, 5)",
    seed1=u32_seed1,
    step1=_xorshift32_step1,
    back1=_xorshift32_back1,
)
XORSHIFT64 = single_word(
    name="xorshift64",
    output_bits=64,
    seed_bits=64,
    state_bits=64,
    reference="Vigna xorshift64* (12, 25, 27; output x * 0x2545F4914F6CDD1D)",
    seed1=identity1,
    step1=_xorshift64_step1,
    back1=_xorshift64_back1,
)
XORSHIFT64_ORIGINAL = single_word(
    name="xorshift64_original",
    output_bits=64,
    seed_bits=64,
    state_bits=64,
    reference="the original's GPU xorshift64: the multiply is applied to the state",
    seed1=identity1,
    step1=_xorshift64_original_step1,
    back1=_xorshift64_original_back1,
    notes="The original's CPU reference kept only the low 32 bits; its GPU kernel, "
    "which produced the survivors, used all 64. This follows the GPU kernel.",
)
XORSHIFT128 = Generator(
    name="xorshift128",
    output_bits=32,
    seed_bits=32,
    state_size=4,
    reference="Marsaglia xorshift128 with x = seed and his default y, z, w",
    seed=_xorshift128_seed,
    next=_xorshift128_next,
    prev=_xorshift128_prev,
)

FAMILY = (XORSHIFT32, XORSHIFT64, XORSHIFT64_ORIGINAL, XORSHIFT128)
