"""What every bit generator is, and the arithmetic several families share.

A generator is four compiled functions over a flat ``uint64`` state array:

- ``seed(seed, state)``: the family's canonical seeding from an integer seed;
- ``next(state) -> word``: produce the next output word and advance;
- ``prev(state) -> word``: undo the last ``next`` and return the word it had produced
  (``None`` where no practical inverse exists);
- for states that fit 64 bits, ``pack(state) -> int`` / ``unpack(word, state)`` so a state
  scan can enumerate states as integers.

Draw functions (``prng.draws``) turn words into draws; nothing here knows about them. Word widths
differ (15, 31, 32 or 64 bits) and are declared in ``output_bits``. What a consumer may exploit
(a lifting route, a lazy filter) is declared as capability fields, never as lists of names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np

from gpu_executors.prng import sequences
from gpu_executors.prng.bitgen import one_word
from gpu_executors.specialise import specialise

U64 = np.uint64
M32 = U64(0xFFFFFFFF)
M64 = U64(0xFFFFFFFFFFFFFFFF)
M31 = U64(0x7FFFFFFF)  # the Mersenne prime 2^31 - 1

# The original system's fixed state words (fractional digits of the golden ratio, sqrt 2 and
# sqrt 3), shared by its xoshiro256++ and sfc64 variants.
FILL1 = U64(0x9E3779B97F4A7C15)
FILL2 = U64(0x6A09E667F3BCC908)
FILL3 = U64(0xBB67AE8584CAA73B)

jit = numba.njit(cache=True, nogil=True)


@dataclass(frozen=True)
class Generator:
    """One PRNG family: metadata, its compiled seed/next/prev functions, and its capabilities."""

    name: str
    output_bits: int
    seed_bits: int
    state_size: int
    reference: str
    seed: Callable = field(repr=False)
    next: Callable = field(repr=False)
    prev: Callable | None = field(default=None, repr=False)
    state_bits: int | None = None  # set when the whole state packs into one integer
    pack: Callable | None = field(default=None, repr=False)
    unpack: Callable | None = field(default=None, repr=False)
    seed1: Callable | None = field(default=None, repr=False)  # single-word: seed -> state
    step1: Callable | None = field(default=None, repr=False)  # single-word: s -> (s', word)
    # Capabilities: facts a consumer may exploit, declared here so no consumer lists names.
    php_legacy_range: bool = False  # PHP < 7.1 scaled mt_rand(min, max) with a double
    java48: bool = False  # java.util.Random's 48-bit LCG: the sieve's lifting/lattice route
    mt_genrand: bool = False  # MT19937 seeded by init_genrand: early words computable lazily
    mt_legacy_twist: bool = False  # PHP 5.2.1-7.0's twist takes the low bit of mt[k]
    dotnet_sample: bool = False  # words are .NET Random's InternalSample(), in [0, 2^31 - 1)
    go_lazy: bool = False  # Go's rngSource: early words computable from the seed lazily
    notes: str = ""

    def new_state(self) -> np.ndarray:
        return np.zeros(self.state_size, dtype=np.uint64)

    def seeded(self, seed: int) -> np.ndarray:
        """A fresh state seeded with ``seed`` (checked against the seed width)."""
        if not 0 <= seed < (1 << self.seed_bits):
            raise ValueError(f"{self.name}: seed {seed} outside [0, 2^{self.seed_bits})")
        state = self.new_state()
        self.seed(U64(seed), state)
        return state

    def outputs(self, seed: int, n: int, skip: int = 0) -> np.ndarray:
        """The first ``n`` output words after discarding ``skip``."""
        kernels = specialise(sequences, self.name, nxt=self.next)
        return kernels.words(self.seeded(seed), skip, n)

    @property
    def default_seed_space(self) -> int:
        """What a scan covers when the user gives no range: capped at 2^32 beyond 32 bits."""
        return 1 << min(self.seed_bits, 32)


# --- single-word generators
# Written once as scalar functions, seed1(seed) -> s, step1(s) -> (s', word) and
# back1(s) -> (s_prev, word that s had produced), so the sieve's fast path keeps the state in a
# register; `single_word` derives the array-state seed/next/prev every executor shares.


@jit
def pack0(state):
    return state[0]


@jit
def unpack0(word, state):
    state[0] = word


def single_word(
    *, seed1: Callable, step1: Callable, back1: Callable, state_bits: int, **fields
) -> Generator:
    """A generator whose state is one integer of ``state_bits`` bits, from its scalar functions."""
    kernels = specialise(one_word, fields["name"], seed1=seed1, step1=step1, back1=back1)
    return Generator(
        state_size=1,
        state_bits=state_bits,
        seed=kernels.seed,
        next=kernels.next_word,
        prev=kernels.prev_word,
        seed1=seed1,
        step1=step1,
        pack=pack0,
        unpack=unpack0,
        **fields,
    )


# --- shared arithmetic


def modinv(a: int, m: int) -> int:
    return pow(a, -1, m)


@jit
def u32_seed1(seed):
    """The seed's low 32 bits as the state."""
    return seed & M32


@jit
def identity1(seed):
    """The seed itself as the state."""
    return seed


@jit
def mod_mersenne31(x):
    """x mod (2^31 - 1) for x < 2^62, without a division (so it vectorises)."""
    r = (x & M31) + (x >> U64(31))
    r = (r & M31) + (r >> U64(31))
    return r - M31 if r >= M31 else r


@jit
def rotl64(x, k):
    return (x << U64(k)) | (x >> U64(64 - k))


@jit
def rotr32(x, k):
    k = k & U64(31)
    return ((x >> k) | (x << ((U64(32) - k) & U64(31)))) & M32


@jit
def unxorshift_right(y, shift, bits):
    """Invert ``y = x ^ (x >> shift)`` on a ``bits``-wide word."""
    x = y
    s = shift
    while s < bits:
        x = y ^ (x >> U64(shift))
        s += shift
    return x


@jit
def unxorshift_left(y, shift, mask):
    """Invert ``y = (x ^ (x << shift)) & mask``."""
    x = y
    s = shift
    while s < 64:
        x = (y ^ (x << U64(shift))) & mask
        s += shift
    return x
