"""Linear congruential generators: java.util.Random, the original's lcg32, minstd, MSVC rand().

Each is a single-word generator: its state is one integer, stepped by ``a*s + c`` modulo ``m``,
and stepped back with the modular inverse of ``a``.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import (
    M32,
    U64,
    jit,
    mod_mersenne31,
    modinv,
    single_word,
    u32_seed1,
)

M48 = U64((1 << 48) - 1)

# java.util.Random's 48-bit LCG; word = next(32) = state >> 16 after the step.
JAVA_A = U64(0x5DEECE66D)
JAVA_C = U64(0xB)
JAVA_A_INV = U64(modinv(0x5DEECE66D, 1 << 48))


@jit
def _java_lcg_seed1(seed):
    return seed & M48


@jit
def _java_random_seed1(seed):
    return (seed ^ JAVA_A) & M48


@jit
def _java_step1(s):
    s = (s * JAVA_A + JAVA_C) & M48
    return s, s >> U64(16)


@jit
def _java_back1(s):
    return ((s - JAVA_C) * JAVA_A_INV) & M48, s >> U64(16)


# The original's lcg32: (1103515245 s + 12345) mod (2^31 - 1).
LCG32_A = U64(1103515245)
LCG32_C = U64(12345)
LCG32_M = U64(0x7FFFFFFF)
LCG32_A_INV = U64(modinv(1103515245, 0x7FFFFFFF))


@jit
def _lcg32_step1(s):
    s = mod_mersenne31(LCG32_A * (s & M32) + LCG32_C)
    return s, s


@jit
def _lcg32_back1(s):
    return ((s + LCG32_M - LCG32_C) % LCG32_M) * LCG32_A_INV % LCG32_M, s


# C++ std::minstd_rand: 48271 s mod (2^31 - 1); a zero seed becomes 1.
MINSTD_A = U64(48271)
MINSTD_M = U64(2147483647)
MINSTD_A_INV = U64(modinv(48271, 2147483647))


@jit
def _minstd_seed1(seed):
    s = seed % MINSTD_M
    return U64(1) if s == U64(0) else s


@jit
def _minstd_step1(s):
    s = mod_mersenne31(MINSTD_A * (s & MINSTD_M))
    return s, s


@jit
def _minstd_back1(s):
    return (s * MINSTD_A_INV) % MINSTD_M, s


# MSVC rand(): 214013 s + 2531011 mod 2^32, word = bits 16..30.
MSVC_A = U64(214013)
MSVC_C = U64(2531011)
MSVC_A_INV = U64(modinv(214013, 1 << 32))


@jit
def _msvc_step1(s):
    s = (s * MSVC_A + MSVC_C) & M32
    return s, (s >> U64(16)) & U64(0x7FFF)


@jit
def _msvc_back1(s):
    return ((s - MSVC_C) * MSVC_A_INV) & M32, (s >> U64(16)) & U64(0x7FFF)


JAVA_LCG = single_word(
    name="java_lcg",
    output_bits=32,
    seed_bits=48,
    state_bits=48,
    reference="java.util.Random's LCG with the seed used as the state (no scramble)",
    seed1=_java_lcg_seed1,
    step1=_java_step1,
    back1=_java_back1,
    java48=True,
    notes="The original's java_lcg: state = seed & (2^48-1); word = next(32).",
)
JAVA_RANDOM = single_word(
    name="java_random",
    output_bits=32,
    seed_bits=48,
    state_bits=48,
    reference="java.util.Random(seed) (JDK), word = next(32) as unsigned",
    seed1=_java_random_seed1,
    step1=_java_step1,
    back1=_java_back1,
    java48=True,
    notes="Seed scrambled by ^0x5DEECE66D; seeds are reported as their 48 low bits.",
)
LCG32 = single_word(
    name="lcg32",
    output_bits=31,
    seed_bits=32,
    state_bits=31,
    reference="the original system's lcg32: (1103515245*s + 12345) mod (2^31-1)",
    seed1=u32_seed1,
    step1=_lcg32_step1,
    back1=_lcg32_back1,
)
MINSTD = single_word(
    name="minstd",
    output_bits=31,
    seed_bits=32,
    state_bits=31,
    reference="C++ std::minstd_rand (48271, 2^31-1)",
    seed1=_minstd_seed1,
    step1=_minstd_step1,
    back1=_minstd_back1,
)
MSVC_RAND = single_word(
    name="msvc_rand",
    output_bits=15,
    seed_bits=32,
    state_bits=32,
    reference="Microsoft CRT srand/rand (214013, 2531011, bits 16..30)",
    seed1=u32_seed1,
    step1=_msvc_step1,
    back1=_msvc_back1,
)

FAMILY = (JAVA_LCG, JAVA_RANDOM, LCG32, MINSTD, MSVC_RAND)
