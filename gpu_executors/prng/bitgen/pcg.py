"""PCG32 (XSH-RR 64/32, default increment), with the PCG seeding and with the original's none.

The state is a 64-bit LCG, so it steps back with the multiplier's inverse; the output permutes
the old state.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import (
    M32,
    U64,
    identity1,
    jit,
    modinv,
    rotr32,
    single_word,
)

PCG_MULT = U64(6364136223846793005)
PCG_INC = U64(1442695040888963407)
PCG_MULT_INV = U64(modinv(6364136223846793005, 1 << 64))


@jit
def _pcg32_output(old):
    xorshifted = (((old >> U64(18)) ^ old) >> U64(27)) & M32
    rot = old >> U64(59)
    return rotr32(xorshifted, rot)


@jit
def _pcg32_seed1(seed):
    # pcg32_srandom_r(seed, 721347520444481703) == pcg-cpp's pcg32(seed)
    return (PCG_INC + seed) * PCG_MULT + PCG_INC


@jit
def _pcg32_step1(old):
    return old * PCG_MULT + PCG_INC, _pcg32_output(old)


@jit
def _pcg32_back1(s):
    old = (s - PCG_INC) * PCG_MULT_INV
    return old, _pcg32_output(old)


PCG32 = single_word(
    name="pcg32",
    output_bits=32,
    seed_bits=64,
    state_bits=64,
    reference="pcg_basic pcg32_srandom_r(seed, 721347520444481703) = pcg-cpp pcg32(seed)",
    seed1=_pcg32_seed1,
    step1=_pcg32_step1,
    back1=_pcg32_back1,
)
PCG32_ORIGINAL = single_word(
    name="pcg32_original",
    output_bits=32,
    seed_bits=64,
    state_bits=64,
    reference="the original's pcg32: state = seed, no PCG seeding step",
    seed1=identity1,
    step1=_pcg32_step1,
    back1=_pcg32_back1,
)

FAMILY = (PCG32, PCG32_ORIGINAL)
