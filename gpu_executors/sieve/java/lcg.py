"""``java.util.Random``'s LCG modulo 2^48: constants, n-step jumps, states back to seeds.

Shared by the smart routes, with their budget and the exception that gives up on one early.
"""

from __future__ import annotations

import numpy as np

STATE_BITS = 48
MODULUS = 1 << STATE_BITS
MASK48 = MODULUS - 1
MULT = 0x5DEECE66D
INC = 0xB
LOW = 17  # state bits below next(31)
WORD31 = 1 << 31
MAX_SMART_CHECKS = 1 << 35  # ~30 s on 2 cores; beyond that ask for a range

U64 = np.uint64
M48 = U64(MASK48)


class TooCostly(Exception):
    """The smart route turned out costlier than allowed (raised before the expensive part)."""


def lcg_jump(n: int) -> tuple[int, int]:
    """``(A_n, C_n)`` with ``state_{t+n} = A_n*state_t + C_n mod 2^48``.

    ``C_n = c*(a^n - 1)/(a - 1)``: ``a^n`` is taken modulo ``(a-1)*2^48`` (square-and-multiply)
    so the division by the even ``a - 1`` is exact and the quotient is right modulo 2^48.
    """
    if n < 0:
        raise ValueError(f"jump length {n} must be >= 0")
    geo = (pow(MULT, n, (MULT - 1) * MODULUS) - 1) // (MULT - 1)
    return pow(MULT, n, MODULUS), (INC * geo) & MASK48


def states_to_seeds(first: np.ndarray, offset: int, generator: str) -> np.ndarray:
    """Map states after draw 0's step back to the seeds the user passed (uint64 wraps mod 2^64,
    a multiple of 2^48, so the modular arithmetic stays exact)."""
    a_n, c_n = lcg_jump(offset + 1)
    a_inv = U64(pow(a_n, -1, MODULUS))
    s0 = (((first + U64((MODULUS - c_n) & MASK48)) & M48) * a_inv) & M48
    if generator == "java_random":
        s0 = s0 ^ U64(MULT)
    return s0



def split_pow2(bound: int) -> tuple[int, int]:
    """``(k, odd)`` with ``bound = 2^k * odd``."""
    k = (bound & -bound).bit_length() - 1
    return k, bound >> k
