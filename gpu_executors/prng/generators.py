"""The generator registry: each PRNG family once, bit for bit with its reference implementation.

A generator is four compiled functions over a flat ``uint64`` state array:

- ``seed(seed, state)``: the family's canonical seeding from an integer seed;
- ``next(state) -> word``: produce the next output word and advance;
- ``prev(state) -> word``: undo the last ``next`` and return the word it had produced
  (``None`` where no practical inverse exists);
- for states that fit 64 bits, ``pack(state) -> int`` / ``unpack(word, state)`` so a state
  scan can enumerate states as integers.

Draw functions (``draws.py``) turn words into draws; nothing here knows about them. Word widths
differ (15, 31, 32 or 64 bits) and are declared in ``output_bits``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np

U64 = np.uint64
M32 = U64(0xFFFFFFFF)
M48 = U64((1 << 48) - 1)
MASK31 = U64(0x7FFFFFFF)

jit = numba.njit(cache=True, nogil=True)


@dataclass(frozen=True)
class Generator:
    """One PRNG family: metadata plus its compiled seed/next/prev functions."""

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
    php_legacy_range: bool = False  # PHP < 7.1 scaled mt_rand(min, max) with a double
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
        """The first ``n`` output words after discarding ``skip`` (plain Python speed: tests)."""
        state = self.seeded(seed)
        return _run(self.next, state, skip, n)

    @property
    def default_seed_space(self) -> int:
        """What a scan covers when the user gives no range: capped at 2^32 beyond 32 bits."""
        return 1 << min(self.seed_bits, 32)


@numba.njit(cache=False)
def _run(next_fn, state, skip, n):  # pragma: no cover - compiled
    for _ in range(skip):
        next_fn(state)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = next_fn(state)
    return out


# --- helpers


@jit
def _rotl64(x, k):
    return (x << U64(k)) | (x >> U64(64 - k))


@jit
def _rotr32(x, k):
    k = k & U64(31)
    return ((x >> k) | (x << ((U64(32) - k) & U64(31)))) & M32


@jit
def _unxorshift_right(y, shift, bits):
    """Invert ``y = x ^ (x >> shift)`` on a ``bits``-wide word."""
    x = y
    s = shift
    while s < bits:
        x = y ^ (x >> U64(shift))
        s += shift
    return x


@jit
def _unxorshift_left(y, shift, mask):
    """Invert ``y = (x ^ (x << shift)) & mask``."""
    x = y
    s = shift
    while s < 64:
        x = (y ^ (x << U64(shift))) & mask
        s += shift
    return x


def _modinv(a: int, m: int) -> int:
    return pow(a, -1, m)


@jit
def _pack0(state):
    return state[0]


@jit
def _unpack0(word, state):
    state[0] = word


# --- single-word generators
# Written once as scalar functions, seed1(seed) -> s, step1(s) -> (s', word) and
# back1(s) -> (s_prev, word that s had produced), so the sieve's fast path keeps the state in a
# register; `_word_state` derives the array-state seed/next/prev every executor shares.


def _word_state(seed1: Callable, step1: Callable, back1: Callable):
    @numba.njit(nogil=True)
    def seed(seed, state):
        state[0] = seed1(seed)

    @numba.njit(nogil=True)
    def nxt(state):
        s, w = step1(state[0])
        state[0] = s
        return w

    @numba.njit(nogil=True)
    def prev(state):
        s, w = back1(state[0])
        state[0] = s
        return w

    return {"seed": seed, "next": nxt, "prev": prev, "seed1": seed1, "step1": step1}


# java.util.Random's 48-bit LCG; word = next(32) = state >> 16 after the step.
JAVA_A = U64(0x5DEECE66D)
JAVA_C = U64(0xB)
JAVA_A_INV = U64(_modinv(0x5DEECE66D, 1 << 48))


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
LCG32_A_INV = U64(_modinv(1103515245, 0x7FFFFFFF))


@jit
def _u32_seed1(seed):
    return seed & M32


@jit
def _mod_mersenne31(x):
    """x mod (2^31 - 1) for x < 2^62, without a division (so it vectorises)."""
    r = (x & LCG32_M) + (x >> U64(31))
    r = (r & LCG32_M) + (r >> U64(31))
    return r - LCG32_M if r >= LCG32_M else r


@jit
def _lcg32_step1(s):
    s = _mod_mersenne31(LCG32_A * (s & M32) + LCG32_C)
    return s, s


@jit
def _lcg32_back1(s):
    return ((s + LCG32_M - LCG32_C) % LCG32_M) * LCG32_A_INV % LCG32_M, s


# C++ std::minstd_rand: 48271 s mod (2^31 - 1); a zero seed becomes 1.
MINSTD_A = U64(48271)
MINSTD_M = U64(2147483647)
MINSTD_A_INV = U64(_modinv(48271, 2147483647))


@jit
def _minstd_seed1(seed):
    s = seed % MINSTD_M
    return U64(1) if s == U64(0) else s


@jit
def _minstd_step1(s):
    s = _mod_mersenne31(MINSTD_A * (s & MINSTD_M))
    return s, s


@jit
def _minstd_back1(s):
    return (s * MINSTD_A_INV) % MINSTD_M, s


# MSVC rand(): 214013 s + 2531011 mod 2^32, word = bits 16..30.
MSVC_A = U64(214013)
MSVC_C = U64(2531011)
MSVC_A_INV = U64(_modinv(214013, 1 << 32))


@jit
def _msvc_step1(s):
    s = (s * MSVC_A + MSVC_C) & M32
    return s, (s >> U64(16)) & U64(0x7FFF)


@jit
def _msvc_back1(s):
    return ((s - MSVC_C) * MSVC_A_INV) & M32, (s >> U64(16)) & U64(0x7FFF)


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
    x = _unxorshift_left(x, 5, M32)
    x = _unxorshift_right(x, 17, 32)
    x = _unxorshift_left(x, 13, M32)
    return x, out


# Vigna xorshift64* (state xorshifted; word = state * M), and the original's variant that
# multiplies the state itself.
XS64_MUL = U64(0x2545F4914F6CDD1D)
XS64_MUL_INV = U64(_modinv(0x2545F4914F6CDD1D, 1 << 64))
M64 = U64(0xFFFFFFFFFFFFFFFF)


@jit
def _identity1(seed):
    return seed


@jit
def _xorshift64_shifts(x):
    x ^= x >> U64(12)
    x ^= x << U64(25)
    x ^= x >> U64(27)
    return x


@jit
def _xorshift64_unshifts(x):
    x = _unxorshift_right(x, 27, 64)
    x = _unxorshift_left(x, 25, M64)
    x = _unxorshift_right(x, 12, 64)
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


# PCG32 XSH-RR 64/32 with the default increment.
PCG_MULT = U64(6364136223846793005)
PCG_INC = U64(1442695040888963407)
PCG_MULT_INV = U64(_modinv(6364136223846793005, 1 << 64))


@jit
def _pcg32_output(old):
    xorshifted = (((old >> U64(18)) ^ old) >> U64(27)) & M32
    rot = old >> U64(59)
    return _rotr32(xorshifted, rot)


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


# --- xorshift128 (Marsaglia)


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
    t = _unxorshift_right(u, 8, 32)
    x_old = _unxorshift_left(t, 11, M32)
    state[3] = w_old
    state[2] = state[1]
    state[1] = state[0]
    state[0] = x_old
    return out


# --- MT19937 family

MT_N = 624
MT_M = 397
MT_MATRIX = U64(0x9908B0DF)
MT_UPPER = U64(0x80000000)
MT_LOWER = U64(0x7FFFFFFF)


@jit
def _mt_init_genrand(seed, state):
    state[0] = seed & M32
    for i in range(1, MT_N):
        prev = state[i - 1]
        state[i] = (U64(1812433253) * (prev ^ (prev >> U64(30))) + U64(i)) & M32
    state[MT_N] = U64(MT_N)


@jit
def _mt_init_by_array(key, state):
    _mt_init_genrand(U64(19650218), state)
    i = 1
    j = 0
    klen = key.shape[0]
    k = MT_N if klen < MT_N else klen
    for _ in range(k):
        prev = state[i - 1]
        state[i] = (
            (state[i] ^ ((prev ^ (prev >> U64(30))) * U64(1664525))) + key[j] + U64(j)
        ) & M32
        i += 1
        j += 1
        if i >= MT_N:
            state[0] = state[MT_N - 1]
            i = 1
        if j >= klen:
            j = 0
    for _ in range(MT_N - 1):
        prev = state[i - 1]
        state[i] = ((state[i] ^ ((prev ^ (prev >> U64(30))) * U64(1566083941))) - U64(i)) & M32
        i += 1
        if i >= MT_N:
            state[0] = state[MT_N - 1]
            i = 1
    state[0] = U64(0x80000000)
    state[MT_N] = U64(MT_N)


@jit
def _python_random_seed(seed, state):
    lo = seed & M32
    hi = seed >> U64(32)
    if hi == U64(0):
        key = np.empty(1, dtype=np.uint64)
        key[0] = lo
    else:
        key = np.empty(2, dtype=np.uint64)
        key[0] = lo
        key[1] = hi
    _mt_init_by_array(key, state)


@jit
def _mt_twist(state, legacy):
    for kk in range(MT_N):
        u = state[kk]
        v = state[(kk + 1) % MT_N]
        y = (u & MT_UPPER) | (v & MT_LOWER)
        lo = (u if legacy else v) & U64(1)
        state[kk] = state[(kk + MT_M) % MT_N] ^ (y >> U64(1)) ^ (MT_MATRIX if lo else U64(0))


@jit
def _mt_temper(y):
    y ^= y >> U64(11)
    y ^= (y << U64(7)) & U64(0x9D2C5680)
    y ^= (y << U64(15)) & U64(0xEFC60000)
    y ^= y >> U64(18)
    return y


@jit
def _mt_next(state):
    idx = state[MT_N]
    if idx >= U64(MT_N):
        _mt_twist(state, False)
        idx = U64(0)
    y = state[idx]
    state[MT_N] = idx + U64(1)
    return _mt_temper(y)


@jit
def _mt_legacy_next(state):
    idx = state[MT_N]
    if idx >= U64(MT_N):
        _mt_twist(state, True)
        idx = U64(0)
    y = state[idx]
    state[MT_N] = idx + U64(1)
    return _mt_temper(y)


# --- glibc random() TYPE_3

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
    return _mod_mersenne31(U64(16807 * word + 33614 * 2147483647))


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


# --- xoshiro256++

XO_S1 = U64(0x9E3779B97F4A7C15)
XO_S2 = U64(0x6A09E667F3BCC908)
XO_S3 = U64(0xBB67AE8584CAA73B)


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
    state[1] = XO_S1
    state[2] = XO_S2
    state[3] = XO_S3


@jit
def _xoshiro_next(state):
    s0 = state[0]
    s1 = state[1]
    s2 = state[2]
    s3 = state[3]
    result = _rotl64(s0 + s3, 23) + s0
    t = s1 << U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl64(s3, 45)
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return result


@jit
def _xoshiro_prev(state):
    e = _rotl64(state[3], 19)  # s3 ^ s1 before the step
    s0 = state[0] ^ e
    s1 = _unxorshift_left(state[1] ^ state[2], 17, M64)
    s3 = e ^ s1
    s2 = state[2] ^ s0 ^ (s1 << U64(17))
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return _rotl64(s0 + s3, 23) + s0


# --- SFC64


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
    state[2] = _rotl64(c, 24) + tmp
    return tmp


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
def _seed_sequence_words(seed, n_words32):
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


@jit
def _sfc64_seed(seed, state):
    words = _seed_sequence_words(seed, 6)
    for i in range(3):
        state[i] = words[2 * i] | (words[2 * i + 1] << U64(32))
    state[3] = U64(1)
    for _ in range(12):
        _sfc64_next(state)


@jit
def _sfc64_original_seed(seed, state):
    state[0] = seed
    state[1] = XO_S1
    state[2] = XO_S2
    state[3] = U64(1)


# --- Philox4x32-10

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


# state: [k0, k1, counter, index-within-block (0..4), b0, b1, b2, b3]


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


# --- the registry


def _g(**kw) -> Generator:
    if kw.get("state_bits") is not None:
        kw.setdefault("pack", _pack0)
        kw.setdefault("unpack", _unpack0)
    return Generator(**kw)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in [
        _g(
            name="java_lcg",
            output_bits=32,
            seed_bits=48,
            state_size=1,
            state_bits=48,
            reference="java.util.Random's LCG with the seed used as the state (no scramble)",
            **_word_state(_java_lcg_seed1, _java_step1, _java_back1),
            notes="The original's java_lcg: state = seed & (2^48-1); word = next(32).",
        ),
        _g(
            name="java_random",
            output_bits=32,
            seed_bits=48,
            state_size=1,
            state_bits=48,
            reference="java.util.Random(seed) (JDK), word = next(32) as unsigned",
            **_word_state(_java_random_seed1, _java_step1, _java_back1),
            notes="Seed scrambled by ^0x5DEECE66D; seeds are reported as their 48 low bits.",
        ),
        _g(
            name="lcg32",
            output_bits=31,
            seed_bits=32,
            state_size=1,
            state_bits=31,
            reference="the original system's lcg32: (1103515245*s + 12345) mod (2^31-1)",
            **_word_state(_u32_seed1, _lcg32_step1, _lcg32_back1),
        ),
        _g(
            name="minstd",
            output_bits=31,
            seed_bits=32,
            state_size=1,
            state_bits=31,
            reference="C++ std::minstd_rand (48271, 2^31-1)",
            **_word_state(_minstd_seed1, _minstd_step1, _minstd_back1),
        ),
        _g(
            name="msvc_rand",
            output_bits=15,
            seed_bits=32,
            state_size=1,
            state_bits=32,
            reference="Microsoft CRT srand/rand (214013, 2531011, bits 16..30)",
            **_word_state(_u32_seed1, _msvc_step1, _msvc_back1),
        ),
        _g(
            name="xorshift32",
            output_bits=32,
            seed_bits=32,
            state_size=1,
            state_bits=32,
            reference="Marsaglia xorshift32 (13, 17, 5)",
            **_word_state(_u32_seed1, _xorshift32_step1, _xorshift32_back1),
        ),
        _g(
            name="xorshift64",
            output_bits=64,
            seed_bits=64,
            state_size=1,
            state_bits=64,
            reference="Vigna xorshift64* (12, 25, 27; output x * 0x2545F4914F6CDD1D)",
            **_word_state(_identity1, _xorshift64_step1, _xorshift64_back1),
        ),
        _g(
            name="xorshift64_original",
            output_bits=64,
            seed_bits=64,
            state_size=1,
            state_bits=64,
            reference="the original's GPU xorshift64: the multiply is applied to the state",
            **_word_state(_identity1, _xorshift64_original_step1, _xorshift64_original_back1),
            notes="The original's CPU reference kept only the low 32 bits; its GPU kernel, "
            "which produced the survivors, used all 64. This follows the GPU kernel.",
        ),
        _g(
            name="xorshift128",
            output_bits=32,
            seed_bits=32,
            state_size=4,
            reference="Marsaglia xorshift128 with x = seed and his default y, z, w",
            seed=_xorshift128_seed,
            next=_xorshift128_next,
            prev=_xorshift128_prev,
        ),
        _g(
            name="pcg32",
            output_bits=32,
            seed_bits=64,
            state_size=1,
            state_bits=64,
            reference="pcg_basic pcg32_srandom_r(seed, 721347520444481703) = pcg-cpp pcg32(seed)",
            **_word_state(_pcg32_seed1, _pcg32_step1, _pcg32_back1),
        ),
        _g(
            name="pcg32_original",
            output_bits=32,
            seed_bits=64,
            state_size=1,
            state_bits=64,
            reference="the original's pcg32: state = seed, no PCG seeding step",
            **_word_state(_identity1, _pcg32_step1, _pcg32_back1),
        ),
        _g(
            name="mt19937",
            output_bits=32,
            seed_bits=32,
            state_size=MT_N + 1,
            reference="MT19937 init_genrand: numpy RandomState(int), C++ std::mt19937(seed)",
            seed=_mt_init_genrand,
            next=_mt_next,
        ),
        _g(
            name="python_random",
            output_bits=32,
            seed_bits=64,
            state_size=MT_N + 1,
            reference="CPython random.seed(int): MT19937 init_by_array of the seed's 32-bit words",
            seed=_python_random_seed,
            next=_mt_next,
        ),
        _g(
            name="php_mt_rand",
            output_bits=32,
            seed_bits=32,
            state_size=MT_N + 1,
            reference="PHP 7.1+ mt_srand/mt_rand (MT19937; mt_rand() returns word >> 1)",
            seed=_mt_init_genrand,
            next=_mt_next,
        ),
        _g(
            name="php_mt_rand_legacy",
            output_bits=32,
            seed_bits=32,
            state_size=MT_N + 1,
            reference="PHP 5.2.1-7.0 mt_rand (twist uses loBit(u)); PHP 7.1+ MT_RAND_PHP mode",
            seed=_mt_init_genrand,
            next=_mt_legacy_next,
            php_legacy_range=True,
        ),
        _g(
            name="glibc_rand",
            output_bits=31,
            seed_bits=32,
            state_size=GLIBC_DEG + 2,
            reference="glibc srand/rand (random_r TYPE_3, degree 31, separation 3)",
            seed=_glibc_seed,
            next=_glibc_next,
            prev=_glibc_prev,
        ),
        _g(
            name="xoshiro256pp",
            output_bits=64,
            seed_bits=64,
            state_size=4,
            reference="Vigna xoshiro256++ seeded by splitmix64 (the authors' recommendation)",
            seed=_xoshiro_seed,
            next=_xoshiro_next,
            prev=_xoshiro_prev,
        ),
        _g(
            name="xoshiro256pp_original",
            output_bits=64,
            seed_bits=64,
            state_size=4,
            reference="the original's xoshiro256++: s0 = seed, s1..s3 fixed constants",
            seed=_xoshiro_original_seed,
            next=_xoshiro_next,
            prev=_xoshiro_prev,
        ),
        _g(
            name="sfc64",
            output_bits=64,
            seed_bits=64,
            state_size=4,
            reference="numpy.random.SFC64(seed) (SeedSequence seeding, 12 warm-up rounds)",
            seed=_sfc64_seed,
            next=_sfc64_next,
        ),
        _g(
            name="sfc64_original",
            output_bits=64,
            seed_bits=64,
            state_size=4,
            reference="the original's sfc64: a = seed, b and c fixed constants, no warm-up",
            seed=_sfc64_original_seed,
            next=_sfc64_next,
        ),
        _g(
            name="philox4x32",
            output_bits=32,
            seed_bits=64,
            state_size=8,
            reference="Random123 philox4x32-10, key = seed, counter 0,1,2,..., all 4 words",
            seed=_philox_seed,
            next=_philox_next,
            prev=_philox_prev,
        ),
        _g(
            name="philox4x32_original",
            output_bits=32,
            seed_bits=64,
            state_size=8,
            reference="the original's philox: word i = ctr[0] of philox4x32-10([i,0,0,0], seed)",
            seed=_philox_seed,
            next=_philox_original_next,
            prev=_philox_original_prev,
        ),
    ]
}


def get_generator(name: str) -> Generator:
    """The named generator, or a KeyError that lists the valid names."""
    try:
        return GENERATORS[name]
    except KeyError:
        valid = ", ".join(sorted(GENERATORS))
        raise KeyError(f"unknown generator {name!r}; valid: {valid}") from None
