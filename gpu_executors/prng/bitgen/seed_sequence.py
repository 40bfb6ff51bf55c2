"""numpy's SeedSequence for one integer seed: numpy's bit generators seed through it.

Kept apart from any one generator because it is a seeding scheme, not a generator.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.prng.bitgen.base import M32, U64, jit

SS_INIT_A = U64(0x43B0D7E5)
SS_MULT_A = U64(0x931E8875)
SS_INIT_B = U64(0x8B51F9DD)
SS_MULT_B = U64(0x58F38DED)
SS_MIX_L = U64(0xCA01F9DD)
SS_MIX_R = U64(0x4973F715)


@jit
def _ss_hashmix(value, hc):
    value = (value ^ hc[0]) & M32
    hc[0] = (hc[0] * SS_MULT_A) & M32
    value = (value * hc[0]) & M32
    return value ^ (value >> U64(16))


@jit
def _ss_mix(x, y):
    r = (SS_MIX_L * x - SS_MIX_R * y) & M32
    return r ^ (r >> U64(16))


@jit
def seed_sequence_words(seed, n_words32):
    """numpy.random.SeedSequence(seed).generate_state(n, uint32) for a 64-bit integer seed."""
    if seed >> U64(32) == U64(0):
        entropy = np.empty(1, dtype=np.uint64)
        entropy[0] = seed
    else:
        entropy = np.empty(2, dtype=np.uint64)
        entropy[0] = seed & M32
        entropy[1] = seed >> U64(32)
    pool = np.zeros(4, dtype=np.uint64)
    hc = np.empty(1, dtype=np.uint64)
    hc[0] = SS_INIT_A
    for i in range(4):
        pool[i] = _ss_hashmix(entropy[i] if i < entropy.shape[0] else U64(0), hc)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = _ss_mix(pool[i_dst], _ss_hashmix(pool[i_src], hc))
    out = np.empty(n_words32, dtype=np.uint64)
    h = SS_INIT_B
    for i in range(n_words32):
        v = pool[i % 4] ^ h
        h = (h * SS_MULT_B) & M32
        v = (v * h) & M32
        out[i] = v ^ (v >> U64(16))
    return out
