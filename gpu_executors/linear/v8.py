"""V8's ``Math.random`` (Node 20, V8 11.3) as a linear model.

V8 runs xorshift128+ but returns a double made from ``state0`` alone, which keeps it linear:
each step is ``s1 = s0; s0' = s1_old; s1 ^= s1 << 23; s1 ^= s1 >> 17; s1 ^= s0' ^ (s0' >> 26)``,
and a refill of the 64-value cache stores ``(state0 >> 12) | 0x3FF0000000000000`` reinterpreted
as a double, minus 1.0, for 64 steps; ``Math.random()`` then serves the cache from its end, so
each block of 64 draws comes out in reverse. The word a draw sees here is ``state0`` (64 bits)
and the double's mantissa is its top ``double_bits`` = 52 bits.

Node 24 (a newer V8) changed the conversion to ``(state0 >> 11) * 2^-53``: a model of it is
this class with ``double_bits = 53`` (and its own name), tested against that runtime; only Node
20's conversion is modelled and tested here. Where the first observed draw falls in its cache
block (``cache_left``, 1..64 values left) is unknown: the solver tries each.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gpu_executors.linear import symbolic as sym
from gpu_executors.linear.model import LinearModel

M64 = (1 << 64) - 1
CACHE = 64


def step(s0: int, s1: int) -> tuple[int, int]:
    """V8's ``XorShift128(&state0, &state1)``."""
    t, s0 = s0, s1
    t ^= (t << 23) & M64
    t ^= t >> 17
    t ^= s0 ^ (s0 >> 26)
    return s0, t


def _unshift_left(y: int, s: int) -> int:
    x = y
    for _ in range(64 // s + 1):
        x = y ^ ((x << s) & M64)
    return x


def _unshift_right(y: int, s: int) -> int:
    x = y
    for _ in range(64 // s + 1):
        x = y ^ (x >> s)
    return x


def unstep(s0: int, s1: int) -> tuple[int, int]:
    """The inverse of :func:`step`."""
    old_s1 = s0
    t = s1 ^ old_s1 ^ (old_s1 >> 26)
    return _unshift_left(_unshift_right(t, 17), 23), old_s1


def to_double(s0: int, double_bits: int = 52) -> float:
    return (s0 >> (64 - double_bits)) / float(1 << double_bits)


class V8MathRandom(LinearModel):
    """``Math.random()`` of one Node process; unknowns: ``(state0, state1)`` before the refill
    that filled the first observed draw's cache."""

    name = "v8_math_random"
    n_unknowns = 128
    word_bits = 64
    double_bits = 52
    notes = "Node 20 (V8 11.3): (state0 >> 12) | 0x3FF0000000000000 as a double, minus 1"

    def __init__(self, cache_left: int = CACHE) -> None:
        if not 1 <= cache_left <= CACHE:
            raise ValueError(f"cache_left must be in [1, {CACHE}]")
        self.cache_left = cache_left

    def _served(self, blocks: Iterator[list]) -> Iterator:
        first = True
        for block in blocks:
            top = self.cache_left if first else CACHE
            first = False
            yield from reversed(block[:top])

    def symbolic(self) -> Iterator[np.ndarray]:
        def blocks():
            s0 = sym.unknowns(self.n_unknowns, 0, 64)
            s1 = sym.unknowns(self.n_unknowns, 64, 64)
            while True:
                block = []
                for _ in range(CACHE):
                    t, s0 = s0, s1
                    t = t ^ sym.shl(t, 23)
                    t = t ^ sym.shr(t, 17)
                    s1 = t ^ s0 ^ sym.shr(s0, 26)
                    block.append(s0)
                yield block

        return self._served(blocks())

    @staticmethod
    def unpack(x: np.ndarray) -> tuple[int, int]:
        return int(x[0]), int(x[1])

    def words(self, x: np.ndarray) -> Iterator[int]:
        def blocks():
            s0, s1 = self.unpack(x)
            while True:
                block = []
                for _ in range(CACHE):
                    s0, s1 = step(s0, s1)
                    block.append(s0)
                yield block

        return self._served(blocks())

    def state(self, x: np.ndarray) -> dict:
        s0, s1 = self.unpack(x)
        return {"state0": s0, "state1": s1, "cache_left": self.cache_left,
                "note": "xorshift128+ state before the refill of the first draw's cache; "
                        "cache_left values of that cache were left at the first draw"}

    def prediction_assumes(self) -> str:
        fresh = " (where a fresh process starts)" if self.cache_left == CACHE else ""
        return (f"one node process drew every value in order, with no other Math.random call "
                f"between them or after the last; the first draw stood at cache_left "
                f"{self.cache_left} of its 64-value cache{fresh}, and each later 64-value "
                f"refill is served in reverse from there. Draws of another process, or after "
                f"other Math.random calls, are not predicted.")

    def earlier_words(self, x: np.ndarray, n: int) -> list[int]:
        """Words served before the first draw: the rest of its cache, then earlier caches."""
        s0, s1 = self.unpack(x)
        block = []
        for _ in range(CACHE):
            s0, s1 = step(s0, s1)
            block.append(s0)
        out = block[self.cache_left:][::-1]  # served before the first draw, oldest first
        s0, s1 = self.unpack(x)
        while len(out) < n:
            prev = []
            for _ in range(CACHE):
                prev.append(s0)
                s0, s1 = unstep(s0, s1)
            # prev[i] is state0 after step 64 - i of the refill before: its block reversed,
            # which is the order it was served in
            out = prev + out
        return out[-n:] if n else []
