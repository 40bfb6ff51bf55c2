"""Go's math/rand source: ``rand.NewSource(seed)``, the additive lagged Fibonacci generator.

``rngSource`` keeps 607 64-bit words; each step adds the word 273 places back
(``vec[feed] += vec[tap]``, both indices walking down) and ``Int63`` is the sum's low 63 bits.
Seeding reduces the int64 seed mod 2^31 - 1 (a negative remainder plus 2^31 - 1, 0 replaced by
89482311), runs the Park-Miller generator ``x = 48271 x mod (2^31 - 1)`` 20 times, then packs three
of its values per word and XORs Go's ``rngCooked`` table in. So every int64 seed behaves as one of
[1, 2^31 - 1): a scan of [0, 2^31) covers them all (0 and 2^31 - 1 both act as 89482311).
Word k < 273 is ``vec[333 - k] + vec[606 - k]`` of the seeded ring, untouched by earlier steps,
and each ring word is three Park-Miller values, each the start times a power of 48271: a seed
scan computes only the words it reads (``GO_LAZY_WORDS``, the sieve's go-lazy pre-filter).
No inverse step: a state scan does not apply.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.prng.bitgen.base import M31, U64, Generator, jit, mod_mersenne31
from gpu_executors.prng.bitgen.go_cooked import RNG_COOKED

GO_LEN = 607
GO_TAP = 273
GO_ZERO_SEED = U64(89482311)  # what seedrand starts from when the reduced seed is 0
GO_A = U64(48271)
MASK63 = U64((1 << 63) - 1)
COOKED = np.array(RNG_COOKED, dtype=np.uint64)
TAP = GO_LEN  # state[TAP], state[FEED]: the two indices after the 607 words
FEED = GO_LEN + 1
GO_LAZY_WORDS = GO_TAP  # words 0..272 read only seeded ring words


def _ring_powers() -> np.ndarray:
    """48271^t mod 2^31 - 1 for the three Park-Miller steps t of each ring word (shape 607x3)."""
    p = int(M31)
    return np.array(
        [[pow(int(GO_A), 21 + 3 * i + j, p) for j in range(3)] for i in range(GO_LEN)],
        dtype=np.uint64,
    )


RING_POWERS = _ring_powers()


def lazy_ring_indices(k: int) -> tuple[int, int]:
    """The two seeded ring words that word ``k`` < ``GO_LAZY_WORDS`` adds (feed, tap)."""
    if not 0 <= k < GO_LAZY_WORDS:
        raise ValueError(f"go_rand: word {k} is not computable from the seeded ring alone")
    return GO_LEN - GO_TAP - 1 - k, GO_LEN - 1 - k


@jit
def ring_word(x0, i, powers):
    """Seeded ring word ``i`` for the Park-Miller start ``x0`` (``go_seed_start``)."""
    a = mod_mersenne31(x0 * powers[i, 0])
    b = mod_mersenne31(x0 * powers[i, 1])
    c = mod_mersenne31(x0 * powers[i, 2])
    return (a << U64(40)) ^ (b << U64(20)) ^ c ^ COOKED[i]


def scan_seed(seed: int) -> int:
    """The seed in [1, 2^31 - 1) that Go's int64 ``seed`` acts as: a scan recovers this one."""
    if not -(2**63) <= seed < 2**63:
        raise ValueError(f"go_rand: seed {seed} is not an int64")
    x = seed % int(M31)  # Python's remainder is Go's plus 2^31 - 1 when negative
    return int(GO_ZERO_SEED) if x == 0 else x


@jit
def go_seed_start(seed):
    """The Park-Miller start of ``rngSource.Seed(seed)`` for a non-negative seed."""
    x = seed % M31
    return GO_ZERO_SEED if x == U64(0) else x


@jit
def _go_seed(seed, state):
    x = go_seed_start(seed)
    for _ in range(20):
        x = mod_mersenne31(GO_A * x)
    for i in range(GO_LEN):
        x = mod_mersenne31(GO_A * x)
        u = x << U64(40)
        x = mod_mersenne31(GO_A * x)
        u ^= x << U64(20)
        x = mod_mersenne31(GO_A * x)
        u ^= x
        state[i] = u ^ COOKED[i]
    state[TAP] = U64(0)
    state[FEED] = U64(GO_LEN - GO_TAP)


@jit
def _go_next(state):
    tap = np.int64(state[TAP]) - 1
    if tap < 0:
        tap += GO_LEN
    feed = np.int64(state[FEED]) - 1
    if feed < 0:
        feed += GO_LEN
    x = state[feed] + state[tap]
    state[feed] = x
    state[TAP] = U64(tap)
    state[FEED] = U64(feed)
    return x & MASK63


GO_RAND = Generator(
    name="go_rand",
    output_bits=63,
    seed_bits=31,
    state_size=GO_LEN + 2,
    reference="Go math/rand: rand.New(rand.NewSource(seed)); word = Int63()",
    seed=_go_seed,
    next=_go_next,
    go_lazy=True,
    notes="int64 seeds reduce mod 2^31 - 1 (negative: plus 2^31 - 1; 0 acts as 89482311)",
)

FAMILY = (GO_RAND,)
