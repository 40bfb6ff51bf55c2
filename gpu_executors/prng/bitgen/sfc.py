"""Chris Doty-Humphrey's SFC64 as numpy ships it, and the original's variant.

No inverse step is written: the step is invertible, but no state scan needs it yet.
"""

from __future__ import annotations

from gpu_executors.prng.bitgen.base import FILL1, FILL2, U64, Generator, jit, rotl64
from gpu_executors.prng.bitgen.seed_sequence import seed_sequence_words


@jit
def _sfc64_next(state):
    a = state[0]
    b = state[1]
    c = state[2]
    w = state[3]
    tmp = a + b + w
    state[3] = w + U64(1)
    state[0] = b ^ (b >> U64(11))
    state[1] = c + (c << U64(3))
    state[2] = rotl64(c, 24) + tmp
    return tmp


@jit
def _sfc64_seed(seed, state):
    words = seed_sequence_words(seed, 6)
    for i in range(3):
        state[i] = words[2 * i] | (words[2 * i + 1] << U64(32))
    state[3] = U64(1)
    for _ in range(12):
        _sfc64_next(state)


@jit
def _sfc64_original_seed(seed, state):
    state[0] = seed
    state[1] = FILL1
    state[2] = FILL2
    state[3] = U64(1)


SFC64 = Generator(
    name="sfc64",
    output_bits=64,
    seed_bits=64,
    state_size=4,
    reference="numpy.random.SFC64(seed) (SeedSequence seeding, 12 warm-up rounds)",
    seed=_sfc64_seed,
    next=_sfc64_next,
)
SFC64_ORIGINAL = Generator(
    name="sfc64_original",
    output_bits=64,
    seed_bits=64,
    state_size=4,
    reference="the original's sfc64: a = seed, b and c fixed constants, no warm-up",
    seed=_sfc64_original_seed,
    next=_sfc64_next,
)

FAMILY = (SFC64, SFC64_ORIGINAL)
