""".NET's ``System.Random(seed)``: Knuth's subtractive generator as the reference source has it.

The state is ``SeedArray[0..55]`` (slot 0 unused) and the indices ``inext``/``inextp`` (0 and 21
after seeding); each word is ``SeedArray[inext] - SeedArray[inextp]`` mod 2^31 - 1, stored back.
The seeding follows the reference source line by line in wrapping 32-bit arithmetic, since for
seeds above 161803398 an intermediate difference overflows ``int`` and C# wraps it. Negative
seeds act as their absolute value (``int.MinValue`` as ``int.MaxValue``), so seeds are 31-bit.
Modern .NET keeps this algorithm for ``new Random(seed)`` (its compatibility implementation);
Mono runs the same reference source, which is what the tests compare with.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.prng.bitgen.base import M32, U64, Generator, jit

MBIG = 2147483647  # int.MaxValue
MSEED = 161803398
INEXT = 56  # state[INEXT], state[INEXTP]: the two indices after SeedArray[0..55]
INEXTP = 57


def scan_seed(seed: int) -> int:
    """The seed in [0, 2^31) that .NET's int ``seed`` acts as: a scan recovers this one.

    ``|seed|``, with ``int.MinValue`` as ``int.MaxValue``. (0 and 2^31 - 1 start alike, since
    the seeding reduces mod 2^31 - 1, but part differently: an intermediate overflows for one.)
    """
    if not -(2**31) <= seed < 2**31:
        raise ValueError(f"dotnet_random: seed {seed} is not an int32")
    return min(abs(seed), MBIG)


@jit
def i32(x):
    """``x`` wrapped to a signed 32-bit value, as C#'s unchecked ``int`` arithmetic does."""
    return ((np.int64(x) + np.int64(2147483648)) & np.int64(0xFFFFFFFF)) - np.int64(2147483648)


@jit
def _get(state, i):
    return i32(np.int64(state[i]))


@jit
def _put(state, i, v):
    state[i] = U64(np.int64(v) & np.int64(0xFFFFFFFF))


@jit
def _dotnet_seed(seed, state):
    s = i32(np.int64(seed & M32))
    subtraction = MBIG if s == -2147483648 else abs(s)
    mj = i32(MSEED - subtraction)
    _put(state, 0, 0)
    _put(state, 55, mj)
    mk = np.int64(1)
    for i in range(1, 55):
        ii = (21 * i) % 55
        _put(state, ii, mk)
        mk = i32(mj - mk)
        if mk < 0:
            mk = i32(mk + MBIG)
        mj = _get(state, ii)
    for _ in range(1, 5):
        for i in range(1, 56):
            v = i32(_get(state, i) - _get(state, 1 + (i + 30) % 55))
            if v < 0:
                v = i32(v + MBIG)
            _put(state, i, v)
    state[INEXT] = U64(0)
    state[INEXTP] = U64(21)


@jit
def _dotnet_next(state):
    inext = np.int64(state[INEXT]) + 1
    if inext >= 56:
        inext = 1
    inextp = np.int64(state[INEXTP]) + 1
    if inextp >= 56:
        inextp = 1
    ret = i32(_get(state, inext) - _get(state, inextp))
    if ret == MBIG:
        ret -= 1
    if ret < 0:
        ret = i32(ret + MBIG)
    _put(state, inext, ret)
    state[INEXT] = U64(inext)
    state[INEXTP] = U64(inextp)
    return U64(ret)


DOTNET_RANDOM = Generator(
    name="dotnet_random",
    output_bits=31,
    seed_bits=31,
    state_size=58,
    reference=".NET System.Random(seed) (Knuth subtractive, reference source; Mono); word = Next()",
    seed=_dotnet_seed,
    next=_dotnet_next,
    dotnet_sample=True,
    notes="int seeds: a negative seed acts as its absolute value, int.MinValue as int.MaxValue",
)

FAMILY = (DOTNET_RANDOM,)
