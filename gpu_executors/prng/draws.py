"""Draw functions: how an application turns generator words into one draw.

Each is written once, as a factory that closes over a generator's compiled ``next`` and returns
a compiled ``draw(state) -> int``. A draw may consume several words (rejection sampling), which is
why the sieve calls draws, not words. The exact probability of each draw value lives in
``null_model.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numba
import numpy as np

from gpu_executors.prng.generators import Generator

U64 = np.uint64
M32 = U64(0xFFFFFFFF)

DRAW_KINDS: dict[str, str] = {
    "mod": "mod:M - word % M",
    "nextint": "nextint:BOUND - Java Random.nextInt(bound) (power-of-two case, rejection)",
    "randint": "randint:M - numpy legacy RandomState.randint(0, M) (masked rejection)",
    "randrange": "randrange:M - CPython random.randrange(M) (getrandbits + rejection)",
    "mt_rand": "mt_rand:MIN:MAX - PHP mt_rand(min, max)",
}
_ARITY = {"mod": 1, "nextint": 1, "randint": 1, "randrange": 1, "mt_rand": 2}


@dataclass(frozen=True)
class DrawSpec:
    """A parsed ``NAME:PARAM...``: which draw function, with which parameters."""

    kind: str
    params: tuple[int, ...]

    @property
    def text(self) -> str:
        return ":".join([self.kind, *map(str, self.params)])

    @property
    def low(self) -> int:
        """Smallest draw value."""
        return self.params[0] if self.kind == "mt_rand" else 0

    @property
    def n_values(self) -> int:
        """How many distinct draw values there are."""
        if self.kind == "mt_rand":
            return self.params[1] - self.params[0] + 1
        return self.params[0]

    def __str__(self) -> str:
        return self.text


def parse_draw(text: str) -> DrawSpec:
    """Parse the CLI's ``--draw NAME[:PARAM...]`` with a message naming what is valid."""
    name, *raw = text.strip().split(":")
    if name not in DRAW_KINDS:
        valid = "; ".join(DRAW_KINDS.values())
        raise ValueError(f"unknown draw function {name!r}; valid: {valid}")
    if len(raw) != _ARITY[name]:
        raise ValueError(f"draw {text!r}: expected {DRAW_KINDS[name]}")
    try:
        params = tuple(int(p) for p in raw)
    except ValueError:
        raise ValueError(f"draw {text!r}: parameters must be integers") from None
    spec = DrawSpec(name, params)
    if name == "mt_rand":
        lo, hi = params
        if not 0 <= lo <= hi < 2**31:
            raise ValueError(f"draw {text!r}: need 0 <= MIN <= MAX < 2^31")
    elif name == "nextint":
        if not 1 <= params[0] < 2**31:
            raise ValueError(f"draw {text!r}: BOUND must be in [1, 2^31)")
    elif not 1 <= params[0] <= 2**32:
        raise ValueError(f"draw {text!r}: M must be in [1, 2^32]")
    return spec


def check_compatible(gen: Generator, spec: DrawSpec) -> None:
    """Refuse pairs that have no meaning (e.g. nextint needs at least 31-bit words)."""
    need = {"mod": 1, "nextint": 31, "randint": 32, "randrange": 32, "mt_rand": 32}[spec.kind]
    if gen.output_bits < need:
        raise ValueError(
            f"draw {spec.text} needs words of at least {need} bits; "
            f"{gen.name} produces {gen.output_bits}-bit words"
        )
    if spec.kind == "mod" and spec.params[0] > (1 << gen.output_bits):
        raise ValueError(f"mod:{spec.params[0]} exceeds {gen.name}'s {gen.output_bits}-bit words")


def _mask_for(max_value: int) -> int:
    mask = max_value
    for shift in (1, 2, 4, 8, 16):
        mask |= mask >> shift
    return mask


@cache
def make_drawer(gen: Generator, spec: DrawSpec) -> Callable:
    """Compiled ``draw(state) -> int64`` for this generator and draw function."""
    check_compatible(gen, spec)
    nxt = gen.next
    bits = gen.output_bits
    if spec.kind == "mod":
        m = U64(spec.params[0])

        @numba.njit(nogil=True)
        def draw_mod(state):
            return np.int64(nxt(state) % m)

        return draw_mod

    if spec.kind == "nextint":
        bound = np.int64(spec.params[0])
        shift31 = U64(bits - 31)
        pow2 = (spec.params[0] & (spec.params[0] - 1)) == 0

        @numba.njit(nogil=True)
        def draw_nextint(state):
            r = np.int64(nxt(state) >> shift31) & np.int64(0x7FFFFFFF)
            if pow2:
                return (bound * r) >> np.int64(31)
            val = r % bound
            # Java: while (bits - val + (bound-1) < 0) in 32-bit signed arithmetic.
            while r - val + (bound - 1) >= np.int64(2**31):
                r = np.int64(nxt(state) >> shift31) & np.int64(0x7FFFFFFF)
                val = r % bound
            return val

        return draw_nextint

    if spec.kind == "randint":
        rng = U64(spec.params[0] - 1)
        mask = U64(_mask_for(spec.params[0] - 1))
        full = spec.params[0] - 1 == 0xFFFFFFFF

        @numba.njit(nogil=True)
        def draw_randint(state):
            if rng == U64(0):
                return np.int64(0)
            if full:
                return np.int64(nxt(state) & M32)
            v = nxt(state) & mask
            while v > rng:
                v = nxt(state) & mask
            return np.int64(v)

        return draw_randint

    if spec.kind == "randrange":
        n = U64(spec.params[0])
        k = spec.params[0].bit_length()
        if k <= 32:
            shift = U64(32 - k)

            @numba.njit(nogil=True)
            def draw_randrange(state):
                r = (nxt(state) & M32) >> shift
                while r >= n:
                    r = (nxt(state) & M32) >> shift
                return np.int64(r)

            return draw_randrange

        # M = 2^32: getrandbits(33) takes two words, the low 32 bits first, then 1 bit.
        @numba.njit(nogil=True)
        def draw_randrange33(state):
            r = (nxt(state) & M32) | (((nxt(state) & M32) >> U64(31)) << U64(32))
            while r >= n:
                r = (nxt(state) & M32) | (((nxt(state) & M32) >> U64(31)) << U64(32))
            return np.int64(r)

        return draw_randrange33

    lo, hi = spec.params
    umax = U64(hi - lo)
    base = np.int64(lo)
    if gen.php_legacy_range:
        span = float(hi - lo + 1)

        @numba.njit(nogil=True)
        def draw_mt_rand_legacy(state):
            n = np.int64((nxt(state) & M32) >> U64(1))
            return base + np.int64(span * (n / 2147483648.0))

        return draw_mt_rand_legacy

    umod = U64(hi - lo + 1)
    limit = U64(0xFFFFFFFF - (0xFFFFFFFF % (hi - lo + 1)) - 1)
    pow2 = ((hi - lo + 1) & (hi - lo)) == 0

    @numba.njit(nogil=True)
    def draw_mt_rand(state):
        r = nxt(state) & M32
        if umax == M32:
            return base + np.int64(r)
        if not pow2:
            while r > limit:
                r = nxt(state) & M32
        return base + np.int64(r % umod)

    return draw_mt_rand


@cache
def make_word_value(gen: Generator, spec: DrawSpec) -> Callable:
    """Compiled ``value(word) -> (draw, certain)``: the draw if ``word`` is its first word.

    ``certain`` is False when the draw would have rejected the word and gone on to another
    (or needs two words): a filter must then stop judging the candidate, since this and every
    later draw sit at other words, so that it never drops a true candidate. Used by the sieve's
    fast paths.
    """
    check_compatible(gen, spec)
    bits = gen.output_bits
    kind = spec.kind
    if kind == "mod":
        m = U64(spec.params[0])
        # Known-narrow words let LLVM use 32-bit vector division-by-constant.
        narrow = M32 if bits <= 32 else U64(0xFFFFFFFFFFFFFFFF)

        @numba.njit(nogil=True, inline="always")
        def value_mod(w):
            return np.int64((w & narrow) % m), True

        return value_mod
    if kind == "nextint":
        bound = np.int64(spec.params[0])
        shift31 = U64(bits - 31)
        pow2 = (spec.params[0] & (spec.params[0] - 1)) == 0

        @numba.njit(nogil=True, inline="always")
        def value_nextint(w):
            r = np.int64(w >> shift31) & np.int64(0x7FFFFFFF)
            if pow2:
                return (bound * r) >> np.int64(31), True
            val = r % bound
            return val, r - val + (bound - 1) < np.int64(2**31)

        return value_nextint
    if kind == "randint":
        rng = U64(spec.params[0] - 1)
        mask = U64(_mask_for(spec.params[0] - 1))

        @numba.njit(nogil=True, inline="always")
        def value_randint(w):
            v = w & M32 & mask
            return np.int64(v), v <= rng

        return value_randint
    if kind == "randrange":
        n = U64(spec.params[0])
        k = spec.params[0].bit_length()
        shift = U64(32 - k) if k <= 32 else U64(0)
        one_word = k <= 32

        @numba.njit(nogil=True, inline="always")
        def value_randrange(w):
            r = (w & M32) >> shift
            return np.int64(r), one_word and r < n

        return value_randrange
    lo, hi = spec.params
    base = np.int64(lo)
    if gen.php_legacy_range:
        span = float(hi - lo + 1)

        @numba.njit(nogil=True, inline="always")
        def value_mt_rand_legacy(w):
            n = np.int64((w & M32) >> U64(1))
            return base + np.int64(span * (n / 2147483648.0)), True

        return value_mt_rand_legacy
    umod = U64(hi - lo + 1)
    full = hi - lo == 0xFFFFFFFF
    limit = U64(0xFFFFFFFF - (0xFFFFFFFF % (hi - lo + 1)) - 1)
    pow2 = ((hi - lo + 1) & (hi - lo)) == 0

    @numba.njit(nogil=True, inline="always")
    def value_mt_rand(w):
        r = w & M32
        if full:
            return base + np.int64(r), True
        return base + np.int64(r % umod), pow2 or r <= limit

    return value_mt_rand


@numba.njit(nogil=True)
def _generate(nxt, draw, state, offset, gaps, n):  # pragma: no cover - compiled
    for _ in range(offset):
        nxt(state)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        if i > 0:
            for _ in range(gaps[i - 1]):
                nxt(state)
        out[i] = draw(state)
    return out


def generate_draws(
    gen: Generator,
    spec: DrawSpec,
    seed: int,
    n: int,
    offset: int = 0,
    gaps: int | np.ndarray = 0,
    state: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` draws: skip ``offset`` words, then a draw, ``gaps[i]`` discarded words, a draw, ...

    ``gaps`` is one constant or ``n - 1`` per-draw gaps. Pass ``state`` to start from a state
    (state scans) instead of seeding.
    """
    gap_arr = np.full(max(n - 1, 0), gaps, np.int64) if np.isscalar(gaps) else np.asarray(gaps)
    if gap_arr.shape != (max(n - 1, 0),):
        raise ValueError(f"need {max(n - 1, 0)} gaps, got {gap_arr.shape}")
    st = gen.seeded(seed) if state is None else state.copy()
    return _generate(gen.next, make_drawer(gen, spec), st, offset, gap_arr.astype(np.int64), n)
