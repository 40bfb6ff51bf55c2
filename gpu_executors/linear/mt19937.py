"""MT19937 (and numpy's RandomState, CPython's random, PHP's mt_rand) as a linear model.

The unknowns are the 624 untempered words ``x_0 .. x_623`` that the next 624 draws temper,
wherever the first draw falls in the generator's 624-word block: the output sequence obeys
``x_{k+624} = x_{k+397} ^ twist(upper(x_k) | lower(x_{k+1}))`` at every ``k``, so no block
alignment is assumed. Only the top bit of ``x_0`` reaches later words; its low 31 bits are seen
by the first draw alone. The same relation run backwards gives the words before the first draw
and, for generators seeded by ``init_genrand`` (numpy's ``RandomState(s)``, C++'s
``std::mt19937(s)``, PHP's ``mt_srand(s)``), the 32-bit seed when the seeding is within reach.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gpu_executors.linear import symbolic as sym
from gpu_executors.linear.model import LinearModel
from gpu_executors.prng.bitgen.base import U64, Generator, jit

N, M = 624, 397
MATRIX = 0x9908B0DF
UPPER, LOWER, M32 = 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF
INIT_MUL = 1812433253
INIT_MUL_INV = pow(INIT_MUL, -1, 1 << 32)
MAX_BACK = 1 << 17  # words searched back for the seeding


def temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return (y ^ (y >> 18)) & M32


TEMPER = sym.matrix_of(temper, 32)


def sym_temper(y: np.ndarray) -> np.ndarray:
    return sym.apply_matrix(TEMPER, y)


def untemper(y: int) -> int:
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    x = y
    for _ in range(5):
        x = y ^ ((x << 7) & 0x9D2C5680)
    y = x
    for _ in range(3):
        x = y ^ (x >> 11)
    return x & M32


def init_genrand(seed: int) -> list[int]:
    mt = [seed & M32]
    for i in range(1, N):
        prev = mt[-1]
        mt.append((INIT_MUL * (prev ^ (prev >> 30)) + i) & M32)
    return mt


@jit
def _walk_back(seq, base, legacy):
    """Fill ``seq[:base]`` (``seq[base + k] = x_k``) by running the relation backwards."""
    keep = U64(0x7FFFFFFE) if legacy else U64(LOWER)  # what the relation at k = j - 1 gives
    for i in range(base, -1, -1):
        if i < base:  # the relation at k = j gives x_j's top bit (and the legacy low bit)
            yp = seq[i + N] ^ seq[i + M]
            flag = yp >> U64(31)
            word = ((((yp ^ (U64(MATRIX) * flag)) << U64(1)) & U64(M32)) | flag) & U64(UPPER)
            seq[i] = word | (flag if legacy else U64(0))
        yp = seq[i - 1 + N] ^ seq[i - 1 + M]
        flag = yp >> U64(31)
        y = (((yp ^ (U64(MATRIX) * flag)) << U64(1)) & U64(M32)) | flag
        seq[i] = (seq[i] & ~keep & U64(M32)) | (y & keep)


class MT19937Model(LinearModel):
    """One of the registry's MT19937 generators (the legacy PHP twist included)."""

    n_unknowns = N * 32
    word_bits = 32

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.name = gen.name
        self.legacy = gen.mt_legacy_twist
        self.genrand = gen.mt_genrand

    def symbolic(self) -> Iterator[np.ndarray]:
        n = self.n_unknowns
        width = (n + 63) // 64
        ring = np.zeros((N, 32, width), np.uint64)  # x_k at k % N, filled when first needed
        for k in range(N):
            yield sym_temper(sym.unknowns(n, 32 * k, 32))
        for k in range(N):
            ring[k] = sym.unknowns(n, 32 * k, 32)
        k = N
        while True:
            u, v, m = ring[(k - N) % N], ring[(k - N + 1) % N], ring[(k - N + M) % N]
            y = v.copy()
            y[31] = u[31]
            low = u[0] if self.legacy else y[0]
            ring[k % N] = m ^ sym.shr(y, 1) ^ sym.times_bit(low, MATRIX, 32)
            yield sym_temper(ring[k % N])
            k += 1

    def from_full_words(self, words: list[int]) -> np.ndarray | None:
        if len(words) < N:
            return None
        raw = [untemper(w) for w in words[:N]]
        return np.array(raw, "<u4").view("<u8").astype(np.uint64)

    def constraints(self) -> np.ndarray:
        """``x_0``'s low bits from the relation at ``k = -1``: ``x_623 ^ x_396`` untwisted.

        Only the first draw sees them, yet any output word has 624 words before it, so the
        relation holds and pins them; without it 31 unknowns stay free.
        """
        n = self.n_unknowns
        yp = sym.unknowns(n, 32 * 623, 32) ^ sym.unknowns(n, 32 * 396, 32)
        x0 = sym.unknowns(n, 0, 32)
        rows = []
        if not self.legacy:
            rows.append(x0[0] ^ yp[31])  # y's low bit is the flag: x_0's bit 0
        for i in range(1, 31):  # y bit i = y' bit i-1, ^ the flag where MATRIX has bit i-1
            row = x0[i] ^ yp[i - 1]
            if (MATRIX >> (i - 1)) & 1:
                row = row ^ yp[31]
            rows.append(row)
        return np.array(rows)

    @staticmethod
    def raw_words(x: np.ndarray) -> list[int]:
        return [int(w) for w in np.ascontiguousarray(x, "<u8").view("<u4")[:N]]

    def words(self, x: np.ndarray) -> Iterator[int]:
        state = np.zeros(N + 1, np.uint64)
        state[:N] = self.raw_words(x)
        nxt = self.gen.next
        while True:
            yield int(nxt(state))

    def walk_back(self, x: np.ndarray, n: int) -> list[int]:
        """Raw words ``x_{-n} .. x_{623}`` (``x_0``'s low bits re-derived from the past)."""
        seq = np.zeros(n + N, np.uint64)
        seq[n:] = self.raw_words(x)
        _walk_back(seq, n, self.legacy)
        return [int(w) for w in seq]

    def state(self, x: np.ndarray) -> dict:
        mt = self.walk_back(x, 1)[1:]
        return {"mt": mt, "pos": 0,
                "note": "the next draw tempers mt[pos]; numpy RandomState.set_state(('MT19937', "
                        "mt, 0)), CPython random.setstate((3, tuple(mt + [0]), None))"}

    def earlier_words(self, x: np.ndarray, n: int) -> list[int]:
        seq = self.walk_back(x, n)
        return [temper(w) for w in seq[:n]]

    def seed(self, x: np.ndarray, max_back: int = MAX_BACK) -> tuple[int, int] | None:
        if not self.genrand:
            return None
        seq = self.walk_back(x, max_back + N)
        base = max_back + N
        for j in range(-1, -max_back - N, -1):
            a, b = seq[base + j], seq[base + j + 1]
            if (INIT_MUL * (a ^ (a >> 30)) + 2) & M32 != b:
                continue
            v = ((a - 1) * INIT_MUL_INV) & M32
            s = v ^ (v >> 30)
            mt = init_genrand(s)
            start = base + j - 1  # mt[0] sits at x_{j-1}
            if start < 0 or (seq[start] ^ mt[0]) & UPPER:
                continue
            if seq[start + 1: start + N] == mt[1:]:
                return s, -(j - 1) - N
        return None
