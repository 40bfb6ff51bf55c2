"""The registry's xorshift generators as linear models: the state at the first draw is the
unknown, the registry's own ``next``/``prev`` give the concrete words and the words before.

xorshift64* (the registry's ``xorshift64``) multiplies its state by an odd constant on output:
not linear, but the low ``j`` bits of a product depend only on the low ``j`` bits of the state,
so full words and low bits (``mod:M`` with ``2^j | M``) still reveal state bits linearly; top
bits do not. The original's ``xorshift64_original`` multiplies the state itself: not linear.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gpu_executors.linear import symbolic as sym
from gpu_executors.linear.model import LinearModel, NotLinear
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.bitgen.xorshift import XS64_MUL

M64 = (1 << 64) - 1
XS64_MUL_INV = pow(int(XS64_MUL), -1, 1 << 64)


class RegistryStateModel(LinearModel):
    """A registry generator whose state is ``len(state)`` words of ``state_bits`` bits."""

    state_words: int
    state_bits: int

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.name = gen.name
        self.word_bits = gen.output_bits
        self.n_unknowns = self.state_words * self.state_bits

    def step(self, s: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """One symbolic step: the new state words and the linear output word."""
        raise NotImplementedError

    def symbolic(self) -> Iterator[np.ndarray]:
        b = self.state_bits
        s = [sym.unknowns(self.n_unknowns, b * i, b) for i in range(self.state_words)]
        while True:
            s, out = self.step(s)
            yield out

    def concrete_state(self, x: np.ndarray) -> np.ndarray:
        b = self.state_bits
        value = sum(int(w) << (64 * i) for i, w in enumerate(x))
        return np.array([(value >> (b * i)) & ((1 << b) - 1) for i in range(self.state_words)],
                        np.uint64)

    def words(self, x: np.ndarray) -> Iterator[int]:
        state = self.concrete_state(x)
        while True:
            yield int(self.gen.next(state))

    def state(self, x: np.ndarray) -> dict:
        return {"state": [int(w) for w in self.concrete_state(x)],
                "note": f"the registry's {self.name} state array before the first draw"}

    def earlier_words(self, x: np.ndarray, n: int) -> list[int] | None:
        if self.gen.prev is None:
            return None
        state = self.concrete_state(x)
        return [int(self.gen.prev(state)) for _ in range(n)][::-1]


class Xorshift32Model(RegistryStateModel):
    state_words, state_bits = 1, 32

    def step(self, s):
        x = s[0]
        x = x ^ sym.shl(x, 13)
        x = x ^ sym.shr(x, 17)
        x = x ^ sym.shl(x, 5)
        return [x], x


class Xorshift128Model(RegistryStateModel):
    state_words, state_bits = 4, 32

    def step(self, s):
        x, y, z, w = s
        t = x ^ sym.shl(x, 11)
        w_new = w ^ sym.shr(w, 19) ^ t ^ sym.shr(t, 8)
        return [y, z, w, w_new], w_new


class Xorshift64StarModel(RegistryStateModel):
    state_words, state_bits = 1, 64

    def step(self, s):
        x = s[0]
        x = x ^ sym.shr(x, 12)
        x = x ^ sym.shl(x, 25)
        x = x ^ sym.shr(x, 27)
        return [x], x

    def linear_bits(self, mask: int, value: int) -> tuple[int, int]:
        low = mask + 1
        if mask == 0 or low & (low - 1) == 0:  # 0 or a run of low bits
            return mask, (value * XS64_MUL_INV) & mask
        raise NotLinear(
            f"{self.name} multiplies its words by a constant: only full words and low bits "
            "(mod:M with M even) reveal state bits linearly")
